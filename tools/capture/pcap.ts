export interface CapturedFrame {
  /** Capture time in milliseconds since the epoch, microsecond resolution. */
  timeMs: number;
  data: Uint8Array;
}

/** Parses a classic libpcap file (tcpdump -w) with Ethernet link type; both byte orders. */
export function parsePcap(buf: Uint8Array): CapturedFrame[] {
  if (buf.length < 24) return [];
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const magic = view.getUint32(0, true);
  let little: boolean;
  let nano = false;
  if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d) {
    little = true;
    nano = magic === 0xa1b23c4d;
  } else if (magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1) {
    little = false;
    nano = magic === 0x4d3cb2a1;
  } else {
    throw new Error(`not a pcap file (magic 0x${magic.toString(16)})`);
  }
  const frames: CapturedFrame[] = [];
  // A capture stopped mid-write may end in a partial record; it is ignored.
  for (let at = 24; at + 16 <= buf.length; ) {
    const sec = view.getUint32(at, little);
    const frac = view.getUint32(at + 4, little);
    const incl = view.getUint32(at + 8, little);
    if (at + 16 + incl > buf.length) break;
    frames.push({ timeMs: sec * 1000 + (nano ? frac / 1e6 : frac / 1e3), data: buf.slice(at + 16, at + 16 + incl) });
    at += 16 + incl;
  }
  return frames;
}
