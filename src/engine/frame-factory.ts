import { parseIp } from '../net/ip-address.js';
import { writeArpFrame, garpRequestFields, garpReplyFields, directedRequestFields, ARP_FRAME_LENGTH } from '../frames/arp-frame.js';
import { writeNeighborAdvert, NA_FRAME_LENGTH } from '../frames/neighbor-advert.js';
import type { PlannedFrame } from './schedule.js';

export interface FrameContext {
  mac: Uint8Array;
  upstream: Uint8Array | null;
  router: boolean;
}

/** Turns planned frames into wire bytes; one contiguous buffer, sliced per frame. */
export function buildFrames(planned: readonly PlannedFrame[], ctx: FrameContext): Uint8Array[] {
  const size = planned.reduce((n, p) => n + (p.kind === 'na' ? NA_FRAME_LENGTH : ARP_FRAME_LENGTH), 0);
  const out = new Uint8Array(size);
  const bytesOf = new Map<string, Uint8Array>();
  const frames: Uint8Array[] = [];
  let at = 0;
  for (const p of planned) {
    let ip = bytesOf.get(p.address);
    if (ip === undefined) {
      const parsed = parseIp(p.address);
      if (parsed === null) throw new Error(`not an IP address: ${p.address}`);
      ip = parsed.bytes;
      bytesOf.set(p.address, ip);
    }
    if (p.kind === 'na') {
      writeNeighborAdvert(out, at, ctx.mac, ip, ctx.router);
      frames.push(out.subarray(at, at + NA_FRAME_LENGTH));
      at += NA_FRAME_LENGTH;
      continue;
    }
    if (p.kind === 'directed-request' && ctx.upstream === null) throw new Error('directed request planned without an upstream address');
    const fields =
      p.kind === 'garp-request' ? garpRequestFields(ctx.mac, ip) : p.kind === 'garp-reply' ? garpReplyFields(ctx.mac, ip) : directedRequestFields(ctx.mac, ip, ctx.upstream!);
    writeArpFrame(out, at, fields);
    frames.push(out.subarray(at, at + ARP_FRAME_LENGTH));
    at += ARP_FRAME_LENGTH;
  }
  return frames;
}
