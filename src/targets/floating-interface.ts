/**
 * Where nova binds a floating IP: `CONF.public_interface or floating_ip.interface` (Folsom's
 * init_host_floating_ips, Newton's _associate_floating_ip and its init_host alike). The row's or
 * the message's own interface only counts when public_interface is configured empty. Used by the
 * database path and the RabbitMQ path, so both wait for the address where nova really puts it.
 */
export function floatingInterface(publicInterface: string, named: string | null | undefined): string | null {
  const pub = publicInterface.trim();
  if (pub !== '') return pub;
  const own = (named ?? '').trim();
  return own === '' ? null : own;
}
