import { parseIp } from '../../src/net/ip-address.js';

/**
 * rtnetlink messages built by hand for the parser's tests, laid out as the kernel does
 * (little-endian host, 4-byte alignment).
 */

export const pad4 = (n: number): number => (n + 3) & ~3;

export function attr(type: number, data: Uint8Array): Uint8Array {
  const b = new Uint8Array(pad4(4 + data.length));
  const v = new DataView(b.buffer);
  v.setUint16(0, 4 + data.length, true);
  v.setUint16(2, type, true);
  b.set(data, 4);
  return b;
}

export function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
}

export const cstr = (s: string): Uint8Array => new TextEncoder().encode(`${s}\0`);
export const ip = (s: string): Uint8Array => parseIp(s)!.bytes;
export const mac = (s: string): Uint8Array => Uint8Array.from(s.split(':').map((h) => parseInt(h, 16)));

export function message(type: number, body: Uint8Array, attrs: Uint8Array[] = [], flags = 0, seq = 0): Uint8Array {
  const len = 16 + body.length + attrs.reduce((n, a) => n + a.length, 0);
  const b = new Uint8Array(pad4(len));
  const v = new DataView(b.buffer);
  v.setUint32(0, len, true);
  v.setUint16(4, type, true);
  v.setUint16(6, flags, true);
  v.setUint32(8, seq, true);
  v.setUint32(12, 4242, true);
  b.set(body, 16);
  let off = 16 + body.length;
  for (const a of attrs) {
    b.set(a, off);
    off += a.length;
  }
  return b;
}

export function ifaddrmsg(family: number, prefixlen: number, flags: number, index: number): Uint8Array {
  const b = new Uint8Array(8);
  const v = new DataView(b.buffer);
  v.setUint8(0, family);
  v.setUint8(1, prefixlen);
  v.setUint8(2, flags);
  v.setUint8(3, 0);
  v.setUint32(4, index, true);
  return b;
}

export function ifinfomsg(index: number, flags: number, family = 0): Uint8Array {
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  v.setUint8(0, family);
  v.setUint16(2, 1, true); // ARPHRD_ETHER
  v.setInt32(4, index, true);
  v.setUint32(8, flags, true);
  v.setUint32(12, 0xffffffff, true);
  return b;
}

export const concat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
};
