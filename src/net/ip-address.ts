import { isIPv6 } from 'node:net';

export type IpFamily = 4 | 6;

export interface ParsedIp {
  family: IpFamily;
  bytes: Uint8Array;
  /** Canonical text: dotted quad, or RFC 5952 compressed lower-case IPv6. */
  text: string;
}

export function parseIp(input: string): ParsedIp | null {
  const text = input.trim();
  const v4 = parseIPv4(text);
  // The parser is strict (no leading zeros), so an accepted text is already canonical.
  if (v4 !== null) return { family: 4, bytes: v4, text };
  // Zone indices (fe80::1%eth0) name a link, not an address nova could own.
  if (isIPv6(text) && !text.includes('%')) {
    const bytes = ipv6Bytes(text);
    return { family: 6, bytes, text: formatIPv6(bytes) };
  }
  return null;
}

export function canonicalIp(input: string): string | null {
  return parseIp(input)?.text ?? null;
}

/**
 * Strict dotted-quad parser (no leading zeros, no shorthand), hand-rolled because inventories of
 * tens of thousands of addresses are parsed on the failover path and a regex costs 10x more.
 */
function parseIPv4(text: string): Uint8Array | null {
  const bytes = new Uint8Array(4);
  let part = 0;
  let value = -1;
  let digits = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 46; // a virtual '.' closes the last part
    if (c >= 48 && c <= 57) {
      if (digits > 0 && value === 0) return null;
      value = (value < 0 ? 0 : value * 10) + (c - 48);
      if (++digits > 3 || value > 255) return null;
    } else if (c === 46) {
      if (digits === 0 || part > 3) return null;
      bytes[part++] = value;
      value = -1;
      digits = 0;
    } else {
      return null;
    }
  }
  return part === 4 ? bytes : null;
}

function ipv6Bytes(text: string): Uint8Array {
  let head = text;
  const tailWords: number[] = [];
  // Embedded IPv4 (::ffff:192.0.2.1) occupies the last two words.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4?.[1] !== undefined) {
    const b = v4[1].split('.').map(Number) as [number, number, number, number];
    tailWords.push((b[0] << 8) | b[1], (b[2] << 8) | b[3]);
    head = text.slice(0, text.length - v4[1].length);
    if (head.endsWith(':') && !head.endsWith('::')) head = head.slice(0, -1);
  }
  const [left, right] = head.includes('::') ? head.split('::') : [head, undefined];
  const words = (s: string | undefined): number[] => (s ? s.split(':').filter((w) => w !== '').map((w) => parseInt(w, 16)) : []);
  const l = words(left);
  const r = [...words(right), ...tailWords];
  const all = right === undefined && !head.includes('::') ? [...l, ...tailWords] : [...l, ...new Array<number>(8 - l.length - r.length).fill(0), ...r];
  const bytes = new Uint8Array(16);
  all.forEach((w, i) => {
    bytes[i * 2] = (w >> 8) & 0xff;
    bytes[i * 2 + 1] = w & 0xff;
  });
  return bytes;
}

export function formatIPv4(bytes: Uint8Array): string {
  return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
}

export function formatIPv6(bytes: Uint8Array): string {
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  // RFC 5952: compress the longest run (>= 2) of zero words, the first one on a tie.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}
