import { parseIp, type IpFamily, type ParsedIp } from '../net/ip-address.js';
import { validInterfaceName } from '../net/interface-name.js';
import type { Target, TargetKind } from './target.js';

/**
 * The one judgement of whether a (kind, address, interface) may become a target, applied to every
 * source alike: nova's rows, nova.conf, the static file, the snapshot and RabbitMQ messages.
 * Announcing an address nobody may own (loopback, multicast, broadcast) would at best be ignored
 * and at worst poison neighbour caches, so it is refused wherever it enters.
 */

/** Why an address may not be announced by anybody, or null when it may. */
export function unannounceable(ip: ParsedIp): string | null {
  const b = ip.bytes;
  if (ip.family === 4) {
    const [a = 0, b1 = 0, c = 0, d = 0] = b;
    if (a === 0) return 'is in 0.0.0.0/8';
    if (a === 127) return 'is a loopback address';
    if (a >= 224 && a <= 239) return 'is a multicast address';
    if (a === 255 && b1 === 255 && c === 255 && d === 255) return 'is the broadcast address';
    return null;
  }
  if (b.every((x) => x === 0)) return 'is the unspecified address';
  if (b.slice(0, 15).every((x) => x === 0) && b[15] === 1) return 'is the loopback address';
  if (b[0] === 0xff) return 'is a multicast address';
  return null;
}

export type TargetCheck = { ok: true; target: Target; ip: ParsedIp } | { ok: false; reason: string };

function clip(text: string): string {
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

/** `family` is what the source promises (a gateway_v6 column holds IPv6), or null for either. */
export function checkTarget(kind: TargetKind, raw: string | null | undefined, iface: string | null | undefined, family: IpFamily | null = null): TargetCheck {
  if (raw === null || raw === undefined || raw.trim() === '') return { ok: false, reason: 'no address' };
  const ip = parseIp(raw);
  if (ip === null) return { ok: false, reason: `'${clip(raw)}' is not an IP address` };
  if (family !== null && ip.family !== family) return { ok: false, reason: `${ip.text} is IPv${ip.family}, the column holds IPv${family} addresses` };
  const bad = unannounceable(ip);
  if (bad !== null) return { ok: false, reason: `${ip.text} ${bad}` };
  const name = (iface ?? '').trim();
  if (!validInterfaceName(name)) return { ok: false, reason: `interface '${clip(iface ?? '')}' is not a valid Linux interface name` };
  return { ok: true, target: { kind, address: ip.text, interface: name }, ip };
}
