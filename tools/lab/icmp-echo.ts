import { internetChecksum } from '../../src/frames/internet-checksum.js';

/**
 * ICMP echo messages as the prober's raw sockets send and receive them. Pure.
 *
 * IPv4 raw sockets deliver the IP header in front of the ICMP message; IPv6 raw sockets deliver
 * the ICMPv6 message alone and the kernel fills in the ICMPv6 checksum (it covers a pseudo
 * header only the kernel knows the source of).
 */

export const ICMP_ECHO_REQUEST = 8;
export const ICMP_ECHO_REPLY = 0;
export const ICMP6_ECHO_REQUEST = 128;
export const ICMP6_ECHO_REPLY = 129;
export const ECHO_PAYLOAD = 16;

export function echoRequest(family: 4 | 6, id: number, seq: number): Uint8Array {
  const m = new Uint8Array(8 + ECHO_PAYLOAD);
  m[0] = family === 4 ? ICMP_ECHO_REQUEST : ICMP6_ECHO_REQUEST;
  m[4] = (id >> 8) & 0xff;
  m[5] = id & 0xff;
  m[6] = (seq >> 8) & 0xff;
  m[7] = seq & 0xff;
  m.set(new TextEncoder().encode('nova-garp lab   ').subarray(0, ECHO_PAYLOAD), 8);
  if (family === 4) {
    const sum = internetChecksum(m);
    m[2] = sum >> 8;
    m[3] = sum & 0xff;
  }
  return m;
}

/**
 * The echo identifier of a reply, or -1 if `buf` is not an echo reply. `buf` is what recvmsg
 * returned on a raw socket of that family.
 */
export function echoReplyId(family: 4 | 6, buf: Uint8Array, length: number): number {
  let at = 0;
  if (family === 4) {
    if (length < 20 || buf[0]! >> 4 !== 4) return -1;
    at = (buf[0]! & 0x0f) * 4;
    if (buf[9] !== 1) return -1;
  }
  if (length < at + 8) return -1;
  if (buf[at] !== (family === 4 ? ICMP_ECHO_REPLY : ICMP6_ECHO_REPLY) || buf[at + 1] !== 0) return -1;
  return (buf[at + 4]! << 8) | buf[at + 5]!;
}
