import type { IpFamily } from '../net/ip-address.js';

/**
 * Pure rtnetlink decoding: bytes in, events out, no I/O. The watcher calls it on every drain right
 * before a send slice, and a dump holds one message per address (10,000 on a busy host), so it
 * reads through one DataView and allocates only the event objects and their strings.
 */

export const NLMSG_HDRLEN = 16;
export const NLMSG_NOOP = 1;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const NLMSG_OVERRUN = 4;

export const RTM_NEWLINK = 16;
export const RTM_DELLINK = 17;
export const RTM_GETLINK = 18;
export const RTM_NEWADDR = 20;
export const RTM_DELADDR = 21;
export const RTM_GETADDR = 22;

export const NLM_F_REQUEST = 0x1;
export const NLM_F_MULTI = 0x2;
/** Set by the kernel on dump messages when the table changed while it was dumped. */
export const NLM_F_DUMP_INTR = 0x10;
export const NLM_F_DUMP = 0x300;

export const AF_UNSPEC = 0;
export const AF_INET = 2;
export const AF_INET6 = 10;

const IFA_ADDRESS = 1;
const IFA_LOCAL = 2;
const IFA_FLAGS = 8;
const IFA_F_DADFAILED = 0x08;
const IFA_F_TENTATIVE = 0x40;

const IFLA_ADDRESS = 1;
const IFLA_IFNAME = 3;
const IFF_UP = 0x1;
const IFF_LOWER_UP = 0x10000;

const IFADDRMSG_LEN = 8;
const IFINFOMSG_LEN = 16;
const RTA_HDRLEN = 4;

/** Same fields as MonitorEvent's address variant, minus the name: rtnetlink only gives the ifindex. */
export interface RtAddressEvent {
  type: 'address';
  deleted: boolean;
  ifindex: number;
  family: IpFamily;
  address: string;
  prefixlen: number;
  /** DAD still running or failed: the kernel does not own the address yet. */
  tentative: boolean;
}

export interface RtLinkEvent {
  type: 'link';
  deleted: boolean;
  /**
   * AF_UNSPEC (0) for the link itself. Bridge port notifications come with AF_BRIDGE (7) on the
   * same group, and their RTM_DELLINK means "left the bridge", not "deleted": consumers skip them.
   */
  family: number;
  ifindex: number;
  ifname: string;
  up: boolean;
  carrier: boolean;
  /** "aa:bb:cc:dd:ee:ff"; other lengths in the same hex form (so an Ethernet check refuses them); null when absent. */
  mac: string | null;
}

/** End of a dump; `error` is the kernel's negative errno when the dump failed half-way, else 0. */
export interface RtDone {
  type: 'done';
  seq: number;
  error: number;
}

/** NLMSG_ERROR: `errno` is positive (0 = acknowledgement). */
export interface RtError {
  type: 'error';
  seq: number;
  errno: number;
}

export interface RtOverrun {
  type: 'overrun';
}

/**
 * Bytes that could not be decoded. Never silently skipped: a lost RTM_DELADDR would leave an
 * address we no longer own marked bound, so the watcher treats this like an overflow (re-dump).
 */
export interface RtMalformed {
  type: 'malformed';
  offset: number;
  reason: string;
}

export type RtMessage = RtAddressEvent | RtLinkEvent | RtDone | RtError | RtOverrun | RtMalformed;

export interface ParsedNetlink {
  /** In buffer order; message types we do not use (routes, neighbours, NOOP) are left out. */
  messages: RtMessage[];
  /** A message carried NLM_F_DUMP_INTR: the dump is inconsistent and must be taken again. */
  dumpInterrupted: boolean;
}

const align4 = (n: number): number => (n + 3) & ~3;

/** Parses one or more netlink messages (one datagram, or several concatenated). Never throws. */
export function parseNetlink(buf: Uint8Array, out: RtMessage[] = []): ParsedNetlink {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const end = buf.byteLength;
  let dumpInterrupted = false;
  let off = 0;
  while (off + NLMSG_HDRLEN <= end) {
    const len = view.getUint32(off, true);
    if (len < NLMSG_HDRLEN || off + len > end) {
      // The length is the only way to find the next message: nothing after this can be trusted.
      out.push({ type: 'malformed', offset: off, reason: `message length ${len} at offset ${off} of ${end}` });
      return { messages: out, dumpInterrupted };
    }
    const type = view.getUint16(off + 4, true);
    const flags = view.getUint16(off + 6, true);
    if ((flags & NLM_F_DUMP_INTR) !== 0) dumpInterrupted = true;
    const body = off + NLMSG_HDRLEN;
    const bodyEnd = off + len;
    switch (type) {
      case RTM_NEWADDR:
      case RTM_DELADDR: {
        const ev = parseAddress(buf, view, body, bodyEnd, type === RTM_DELADDR);
        if (ev !== null) out.push(ev);
        break;
      }
      case RTM_NEWLINK:
      case RTM_DELLINK:
        out.push(parseLink(buf, view, body, bodyEnd, type === RTM_DELLINK));
        break;
      case NLMSG_DONE:
        out.push({ type: 'done', seq: view.getUint32(off + 8, true), error: bodyEnd - body >= 4 ? view.getInt32(body, true) : 0 });
        break;
      case NLMSG_ERROR:
        if (bodyEnd - body < 4) out.push({ type: 'malformed', offset: off, reason: 'short NLMSG_ERROR' });
        else out.push({ type: 'error', seq: view.getUint32(off + 8, true), errno: -view.getInt32(body, true) });
        break;
      case NLMSG_OVERRUN:
        out.push({ type: 'overrun' });
        break;
      default:
        break;
    }
    off += align4(len);
  }
  if (off < end) out.push({ type: 'malformed', offset: off, reason: `${end - off} trailing bytes` });
  return { messages: out, dumpInterrupted };
}

function parseAddress(buf: Uint8Array, view: DataView, body: number, end: number, deleted: boolean): RtAddressEvent | RtMalformed | null {
  if (end - body < IFADDRMSG_LEN) return { type: 'malformed', offset: body, reason: 'short ifaddrmsg' };
  const af = view.getUint8(body);
  // Other families (AF_DECnet, MPLS...) share the group but are not addresses we announce.
  if (af !== AF_INET && af !== AF_INET6) return null;
  const size = af === AF_INET ? 4 : 16;
  const prefixlen = view.getUint8(body + 1);
  let flags = view.getUint8(body + 2);
  const ifindex = view.getUint32(body + 4, true);
  let local = -1;
  let address = -1;
  let off = body + IFADDRMSG_LEN;
  while (off + RTA_HDRLEN <= end) {
    const alen = view.getUint16(off, true);
    if (alen < RTA_HDRLEN || off + alen > end) return { type: 'malformed', offset: off, reason: `attribute length ${alen}` };
    const atype = view.getUint16(off + 2, true) & 0x3fff; // strip NLA_F_NESTED / NLA_F_NET_BYTEORDER
    const data = off + RTA_HDRLEN;
    if (atype === IFA_LOCAL && alen - RTA_HDRLEN >= size) local = data;
    else if (atype === IFA_ADDRESS && alen - RTA_HDRLEN >= size) address = data;
    else if (atype === IFA_FLAGS && alen - RTA_HDRLEN >= 4) flags = view.getUint32(data, true);
    off += align4(alen);
  }
  // IFA_LOCAL is the address itself on point-to-point setups (IFA_ADDRESS is then the peer); `ip`
  // shows it the same way, for both families.
  const at = local >= 0 ? local : address;
  if (at < 0) return { type: 'malformed', offset: body, reason: 'address message without an address' };
  return {
    type: 'address',
    deleted,
    ifindex,
    family: af === AF_INET ? 4 : 6,
    // Dotted quad as formatIPv4 writes it (inline: no subarray per address).
    address: af === AF_INET ? `${buf[at]}.${buf[at + 1]}.${buf[at + 2]}.${buf[at + 3]}` : ipv6Text(view, at),
    prefixlen,
    tentative: (flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED)) !== 0,
  };
}

/**
 * RFC 5952 text of the 16 bytes at `at`, exactly as canonicalIp writes it (formatIPv6: the longest
 * run of two or more zero words, the first on a tie, becomes "::"). Written out here because
 * formatIPv6 builds arrays per address, which made it most of the cost of parsing a dump; the unit
 * tests hold the two to the same output.
 */
function ipv6Text(view: DataView, at: number): string {
  let bestStart = -1;
  let bestLen = 0;
  let runStart = -1;
  for (let i = 0; i < 8; i++) {
    if (view.getUint16(at + 2 * i, false) === 0) {
      if (runStart < 0) runStart = i;
      const len = i - runStart + 1;
      if (len > bestLen && len >= 2) {
        bestStart = runStart;
        bestLen = len;
      }
    } else {
      runStart = -1;
    }
  }
  let s = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      s += '::';
      i += bestLen - 1;
      continue;
    }
    if (s !== '' && !s.endsWith(':')) s += ':';
    s += view.getUint16(at + 2 * i, false).toString(16);
  }
  return s;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function macText(buf: Uint8Array, from: number, to: number): string {
  let s = '';
  for (let i = from; i < to; i++) s += (i === from ? '' : ':') + HEX[buf[i]!]!;
  return s;
}

function parseLink(buf: Uint8Array, view: DataView, body: number, end: number, deleted: boolean): RtLinkEvent | RtMalformed {
  if (end - body < IFINFOMSG_LEN) return { type: 'malformed', offset: body, reason: 'short ifinfomsg' };
  const family = view.getUint8(body);
  const ifindex = view.getInt32(body + 4, true);
  const flags = view.getUint32(body + 8, true);
  let ifname: string | null = null;
  let mac: string | null = null;
  let off = body + IFINFOMSG_LEN;
  while (off + RTA_HDRLEN <= end) {
    const alen = view.getUint16(off, true);
    if (alen < RTA_HDRLEN || off + alen > end) return { type: 'malformed', offset: off, reason: `attribute length ${alen}` };
    const atype = view.getUint16(off + 2, true) & 0x3fff;
    const data = off + RTA_HDRLEN;
    if (atype === IFLA_IFNAME) {
      let z = data;
      while (z < off + alen && buf[z] !== 0) z++;
      ifname = ifnameText(buf, data, z);
    } else if (atype === IFLA_ADDRESS) {
      mac = macText(buf, data, off + alen);
    }
    off += align4(alen);
  }
  if (ifname === null) return { type: 'malformed', offset: body, reason: `link ${ifindex} without IFLA_IFNAME` };
  return { type: 'link', deleted, family, ifindex, ifname, up: (flags & IFF_UP) !== 0, carrier: (flags & IFF_LOWER_UP) !== 0, mac };
}

const utf8 = new TextDecoder();

/** Interface names are at most 15 bytes, nearly always ASCII: building the string by hand beats a TextDecoder call. */
function ifnameText(buf: Uint8Array, from: number, to: number): string {
  let s = '';
  for (let i = from; i < to; i++) {
    const c = buf[i]!;
    if (c >= 0x80) return utf8.decode(buf.subarray(from, to));
    s += String.fromCharCode(c);
  }
  return s;
}

/** A dump request (RTM_GETLINK or RTM_GETADDR) for every family. */
export function dumpRequest(type: typeof RTM_GETLINK | typeof RTM_GETADDR, seq: number): Uint8Array {
  const payload = type === RTM_GETLINK ? IFINFOMSG_LEN : IFADDRMSG_LEN;
  const b = new Uint8Array(NLMSG_HDRLEN + payload);
  const v = new DataView(b.buffer);
  v.setUint32(0, b.length, true);
  v.setUint16(4, type, true);
  v.setUint16(6, NLM_F_REQUEST | NLM_F_DUMP, true);
  v.setUint32(8, seq, true);
  // pid 0 and family AF_UNSPEC: the kernel addresses us by socket, and we want every family.
  return b;
}
