import { formatMac } from './mac.js';
import { formatIPv6, parseIp } from '../net/ip-address.js';
import { internetChecksum } from './internet-checksum.js';

export const ETH_P_IPV6 = 0x86dd;
export const NA_FRAME_LENGTH = 14 + 40 + 24 + 8;
const ICMPV6 = 58;
const NA_TYPE = 136;
const ALL_NODES = parseIp('ff02::1')!.bytes;
const ALL_NODES_MAC = new Uint8Array([0x33, 0x33, 0x00, 0x00, 0x00, 0x01]);

export const NA_FLAG_ROUTER = 0x80;
export const NA_FLAG_SOLICITED = 0x40;
export const NA_FLAG_OVERRIDE = 0x20;

/**
 * Unsolicited Neighbour Advertisement (RFC 4861 §7.2.6): to ff02::1, hop limit 255, Override set,
 * Solicited clear, with the Target Link-Layer Address option. The source is the target address
 * itself, which the host owns (no dependency on a link-local address being configured).
 */
export function writeNeighborAdvert(out: Uint8Array, offset: number, mac: Uint8Array, target: Uint8Array, router: boolean): void {
  const f = out.subarray(offset, offset + NA_FRAME_LENGTH);
  f.fill(0);
  f.set(ALL_NODES_MAC, 0);
  f.set(mac.subarray(0, 6), 6);
  f[12] = ETH_P_IPV6 >> 8;
  f[13] = ETH_P_IPV6 & 0xff;
  const ip = f.subarray(14, 54);
  ip[0] = 0x60;
  const payloadLength = 32;
  ip[4] = payloadLength >> 8;
  ip[5] = payloadLength & 0xff;
  ip[6] = ICMPV6;
  ip[7] = 255;
  ip.set(target.subarray(0, 16), 8);
  ip.set(ALL_NODES, 24);
  const icmp = f.subarray(54, 54 + payloadLength);
  icmp[0] = NA_TYPE;
  icmp[4] = NA_FLAG_OVERRIDE | (router ? NA_FLAG_ROUTER : 0);
  icmp.set(target.subarray(0, 16), 8);
  icmp[24] = 2; // Target Link-Layer Address option
  icmp[25] = 1; // length in units of 8 octets
  icmp.set(mac.subarray(0, 6), 26);
  const checksum = icmpv6Checksum(ip.subarray(8, 24), ip.subarray(24, 40), icmp);
  icmp[2] = checksum >> 8;
  icmp[3] = checksum & 0xff;
}

/** ICMPv6 checksum over the IPv6 pseudo-header (RFC 8200 §8.1); `icmp` has its checksum field zero. */
export function icmpv6Checksum(src: Uint8Array, dst: Uint8Array, icmp: Uint8Array): number {
  const pseudo = new Uint8Array(40);
  pseudo.set(src, 0);
  pseudo.set(dst, 16);
  new DataView(pseudo.buffer).setUint32(32, icmp.length);
  pseudo[39] = ICMPV6;
  return internetChecksum(pseudo, icmp);
}

export function buildNeighborAdvert(mac: Uint8Array, target: Uint8Array, router = false): Uint8Array {
  const out = new Uint8Array(NA_FRAME_LENGTH);
  writeNeighborAdvert(out, 0, mac, target, router);
  return out;
}

export interface ParsedNeighborAdvert {
  ethDst: string;
  ethSrc: string;
  src: string;
  dst: string;
  hopLimit: number;
  router: boolean;
  solicited: boolean;
  override: boolean;
  target: string;
  targetLinkLayer: string | null;
  checksumValid: boolean;
}

export function parseNeighborAdvert(buf: Uint8Array): ParsedNeighborAdvert | null {
  if (buf.length < 14 + 40 + 24) return null;
  if (((buf[12]! << 8) | buf[13]!) !== ETH_P_IPV6) return null;
  const ip = buf.subarray(14, 54);
  if (ip[6] !== ICMPV6) return null;
  const payloadLength = (ip[4]! << 8) | ip[5]!;
  const icmp = buf.subarray(54, 54 + payloadLength);
  if (icmp[0] !== NA_TYPE || icmp.length < 24) return null;
  let tlla: string | null = null;
  for (let o = 24; o + 8 <= icmp.length; ) {
    const len = icmp[o + 1]! * 8;
    if (len === 0) break;
    if (icmp[o] === 2 && len >= 8) tlla = formatMac(icmp.subarray(o + 2, o + 8));
    o += len;
  }
  const zeroed = Uint8Array.from(icmp);
  zeroed[2] = 0;
  zeroed[3] = 0;
  const expected = icmpv6Checksum(ip.subarray(8, 24), ip.subarray(24, 40), zeroed);
  return {
    ethDst: formatMac(buf.subarray(0, 6)),
    ethSrc: formatMac(buf.subarray(6, 12)),
    src: formatIPv6(ip.subarray(8, 24)),
    dst: formatIPv6(ip.subarray(24, 40)),
    hopLimit: ip[7]!,
    router: (icmp[4]! & NA_FLAG_ROUTER) !== 0,
    solicited: (icmp[4]! & NA_FLAG_SOLICITED) !== 0,
    override: (icmp[4]! & NA_FLAG_OVERRIDE) !== 0,
    target: formatIPv6(icmp.subarray(8, 24)),
    targetLinkLayer: tlla,
    checksumValid: expected === ((icmp[2]! << 8) | icmp[3]!),
  };
}
