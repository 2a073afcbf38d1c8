import { writeArpFrame, garpRequestFields, garpReplyFields, directedRequestFields, ARP_FRAME_LENGTH } from '../frames/arp-frame.js';
import { writeNeighborAdvert, NA_FRAME_LENGTH } from '../frames/neighbor-advert.js';
import type { FrameKind, PlannedFrame } from './schedule.js';

export interface FrameContext {
  mac: Uint8Array;
  upstream: Uint8Array | null;
  router: boolean;
}

/** Frames laid end to end: what the sender copies into native memory in one go. */
export interface FrameRun {
  bytes: Uint8Array;
  lengths: Uint16Array;
}

const ZERO_IP = new Uint8Array(4);

/**
 * Turns planned frames into wire bytes. ARP frames of one kind differ only in their IP fields,
 * so each is a template copy plus two 4-byte writes: a 10,000-address burst is built in a few ms.
 */
export function buildFrames(planned: readonly PlannedFrame[], bytesOf: ReadonlyMap<string, Uint8Array>, ctx: FrameContext): FrameRun {
  let size = 0;
  for (const p of planned) size += p.kind === 'na' ? NA_FRAME_LENGTH : ARP_FRAME_LENGTH;
  const bytes = new Uint8Array(size);
  const lengths = new Uint16Array(planned.length);
  const templates = arpTemplates(ctx);
  let at = 0;
  for (let i = 0; i < planned.length; i++) {
    const p = planned[i]!;
    const ip = bytesOf.get(p.address);
    if (ip === undefined) throw new Error(`no bytes for planned address ${p.address}`);
    if (p.kind === 'na') {
      writeNeighborAdvert(bytes, at, ctx.mac, ip, ctx.router);
      lengths[i] = NA_FRAME_LENGTH;
      at += NA_FRAME_LENGTH;
      continue;
    }
    const template = templates[p.kind];
    if (template === undefined) throw new Error(`cannot build ${p.kind} frame (no upstream address)`);
    bytes.set(template, at);
    bytes.set(ip, at + 28); // sender IP
    if (p.kind !== 'directed-request') bytes.set(ip, at + 38); // target IP = sender IP: gratuitous
    lengths[i] = ARP_FRAME_LENGTH;
    at += ARP_FRAME_LENGTH;
  }
  return { bytes, lengths };
}

function arpTemplates(ctx: FrameContext): Partial<Record<Exclude<FrameKind, 'na'>, Uint8Array>> {
  const make = (fields: Parameters<typeof writeArpFrame>[2]): Uint8Array => {
    const t = new Uint8Array(ARP_FRAME_LENGTH);
    writeArpFrame(t, 0, fields);
    return t;
  };
  return {
    'garp-request': make(garpRequestFields(ctx.mac, ZERO_IP)),
    'garp-reply': make(garpReplyFields(ctx.mac, ZERO_IP)),
    ...(ctx.upstream === null ? {} : { 'directed-request': make(directedRequestFields(ctx.mac, ZERO_IP, ctx.upstream)) }),
  };
}
