import { canonicalIp, type IpFamily } from '../net/ip-address.js';

export type MonitorEvent =
  | { type: 'address'; deleted: boolean; ifindex: number; ifname: string; family: IpFamily; address: string; prefixlen: number; tentative: boolean }
  | { type: 'link'; deleted: boolean; ifindex: number; ifname: string; up: boolean; carrier: boolean; mac: string | null };

const ADDR = /^(Deleted )?(\d+): (\S+)\s+(inet6?) ([0-9a-fA-F.:]+)(?:\/(\d+))?(.*)$/;
const LINK = /^(Deleted )?(\d+): ([^:@\s]+)(?:@\S+)?: <([^>]*)>(.*)$/;

/** Pure: one line of `ip -o monitor link address` output, or null for lines we do not use. */
export function parseMonitorLine(line: string): MonitorEvent | null {
  const a = ADDR.exec(line);
  if (a !== null) {
    const address = canonicalIp(a[5]!);
    if (address === null) return null;
    const family: IpFamily = a[4] === 'inet6' ? 6 : 4;
    const rest = a[7] ?? '';
    return {
      type: 'address',
      deleted: a[1] !== undefined,
      ifindex: Number(a[2]),
      ifname: a[3]!,
      family,
      address,
      prefixlen: a[6] === undefined ? (family === 4 ? 32 : 128) : Number(a[6]),
      tentative: /\b(tentative|dadfailed)\b/.test(rest),
    };
  }
  const l = LINK.exec(line);
  if (l !== null) {
    const flags = l[4]!.split(',');
    const mac = /link\/ether ([0-9a-f:]{17})/.exec(l[5] ?? '');
    return {
      type: 'link',
      deleted: l[1] !== undefined,
      ifindex: Number(l[2]),
      ifname: l[3]!,
      up: flags.includes('UP'),
      carrier: flags.includes('LOWER_UP'),
      mac: mac?.[1] ?? null,
    };
  }
  return null;
}
