import type { LinkAddress, LinkInfo } from '../link/interfaces.js';

const ETHERNET_MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/** Whether frames can be built for this link at all: ARP and NA need an Ethernet header. */
export function hasEthernetAddress(link: LinkInfo): boolean {
  // Asked for every target of a burst with the same MAC: the last answer is kept.
  if (link.mac === lastMac) return lastMacOk;
  lastMac = link.mac;
  lastMacOk = ETHERNET_MAC.test(link.mac) && link.mac !== '00:00:00:00:00:00';
  return lastMacOk;
}
let lastMac = '';
let lastMacOk = false;

/**
 * The one definition of "bound" used before any frame leaves: the link exists, is up, has an
 * Ethernet address (lo, tun, wireguard have none: `announce -i lo` would send from all zeros), and
 * holds the address outside duplicate address detection. Returns why not, or null when it may go.
 */
export function unboundReason(link: LinkInfo | undefined, ifname: string, address: string, index?: ReadonlyMap<string, LinkAddress>): string | null {
  if (link === undefined) return `interface ${ifname} does not exist`;
  if (!link.up) return `interface ${ifname} is down`;
  if (!hasEthernetAddress(link)) return `interface ${ifname} has no Ethernet address ('${link.mac}')`;
  const a = index !== undefined ? index.get(address) : link.addresses.find((x) => x.address === address);
  if (a === undefined) return `not bound on ${ifname}`;
  if (a.tentative) return `tentative on ${ifname} (IPv6 duplicate address detection has not finished)`;
  return null;
}

/** What the check needs to see of the host's links: the watcher in `serve`, a fake in the simulation. */
export interface LinkLookup {
  link(ifname: string): LinkInfo | undefined;
  /** The address as bound on that interface, or undefined. O(1): checked for every frame. */
  addressOn(ifname: string, address: string): LinkAddress | undefined;
}

/** unboundReason over a LinkLookup, without building a per-link index. */
export function unboundReasonIn(view: LinkLookup, ifname: string, address: string): string | null {
  return unusableLinkReason(view.link(ifname), ifname) ?? addressReason(view.addressOn(ifname, address), ifname);
}

/** The link half of unboundReason: null when frames may leave on this link. */
export function unusableLinkReason(link: LinkInfo | undefined, ifname: string): string | null {
  if (link === undefined) return `interface ${ifname} does not exist`;
  if (!link.up) return `interface ${ifname} is down`;
  if (!hasEthernetAddress(link)) return `interface ${ifname} has no Ethernet address ('${link.mac}')`;
  return null;
}

/** The address half of unboundReason, given the address as the link holds it (or undefined). */
export function addressReason(a: LinkAddress | undefined, ifname: string): string | null {
  if (a === undefined) return `not bound on ${ifname}`;
  if (a.tentative) return `tentative on ${ifname} (IPv6 duplicate address detection has not finished)`;
  return null;
}
