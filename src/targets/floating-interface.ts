/**
 * How a release picks the interface of a floating IP:
 * - `public_interface`: no interface column (Cactus, Diablo): always public_interface;
 * - `row`: Essex binds on the row's own interface (public_interface when the row has none);
 * - `public_interface-or-row`: Folsom on, `CONF.public_interface or floating_ip.interface`
 *   (Folsom's init_host_floating_ips, Newton's _associate_floating_ip and init_host alike).
 */
export type FloatingInterfaceRule = 'public_interface' | 'row' | 'public_interface-or-row';

/**
 * Where nova binds a floating IP, for the database path and the RabbitMQ path alike, so both wait
 * for the address where nova really puts it. Null when neither names an interface.
 */
export function floatingInterface(publicInterface: string, named: string | null | undefined, rule: FloatingInterfaceRule = 'public_interface-or-row'): string | null {
  const pub = publicInterface.trim();
  const own = (named ?? '').trim();
  const pick = rule === 'public_interface' ? pub : rule === 'row' ? own || pub : pub || own;
  return pick === '' ? null : pick;
}
