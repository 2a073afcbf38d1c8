import type { LinkAddress, LinkInfo } from './interfaces.js';
import { dumpRoute, type DumpOptions } from './netlink-socket.js';
import { AF_UNSPEC, type RtMessage } from './rtnetlink.js';

/**
 * Pure: a link-then-address dump as LinkInfo records keyed by name, the shape readInterfaces
 * gives. Addresses are matched to links by ifindex (IFA_LABEL is an IPv4 label such as eth0:1,
 * not an interface name).
 */
export function linksFromDump(messages: readonly RtMessage[], device?: string): Map<string, LinkInfo> {
  const byIndex = new Map<number, LinkInfo>();
  for (const m of messages) {
    if (m.type !== 'link' || m.deleted || m.family !== AF_UNSPEC) continue;
    if (device !== undefined && m.ifname !== device) continue;
    byIndex.set(m.ifindex, { name: m.ifname, ifindex: m.ifindex, mac: m.mac ?? '', up: m.up, carrier: m.carrier, addresses: [] });
  }
  for (const m of messages) {
    if (m.type !== 'address' || m.deleted) continue;
    const address: LinkAddress = { family: m.family, address: m.address, prefixlen: m.prefixlen, tentative: m.tentative };
    byIndex.get(m.ifindex)?.addresses.push(address);
  }
  const out = new Map<string, LinkInfo>();
  for (const l of byIndex.values()) out.set(l.name, l);
  return out;
}

/**
 * Links and addresses of the current network namespace from one rtnetlink dump: no fork, no
 * JSON, a few ms at 10,000 addresses. Blocks the event loop for that long (the kernel answers a
 * dump synchronously); a missing `device` gives an empty map, as readInterfaces does.
 */
export function readLinksSync(device?: string, options?: DumpOptions): Map<string, LinkInfo> {
  return linksFromDump(dumpRoute(options), device);
}

export async function readLinks(device?: string, options?: DumpOptions): Promise<Map<string, LinkInfo>> {
  return readLinksSync(device, options);
}
