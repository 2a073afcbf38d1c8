/** The one identity of a target on the wire: an address on an interface. */
export const targetKey = (t: { interface: string; address: string }): string => `${t.interface}|${t.address}`;
