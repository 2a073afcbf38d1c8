// Linux IFNAMSIZ is 16 with the NUL; '/' and whitespace are refused by the kernel, ':' marks an
// old-style alias label that `ip addr add dev` does not take.
const IFNAME = /^[^\s/:]{1,15}$/;

/** Whether `name` can be a Linux network interface, wherever an interface name enters nova-garp. */
export function validInterfaceName(name: string): boolean {
  return IFNAME.test(name) && name !== '.' && name !== '..';
}
