import { writeArpFrame, garpRequestFields, garpReplyFields, directedRequestFields, ARP_FRAME_LENGTH, ARP_SENDER_IP_OFFSET, ARP_TARGET_IP_OFFSET } from '../frames/arp-frame.js';
import type { FrameContext } from '../frames/frame-context.js';
import { writeNeighborAdvert, NA_FRAME_LENGTH } from '../frames/neighbor-advert.js';
import { SLOT_SIZE, type FrameBatch } from './packet-socket.js';
import type { FrameKind, RoundFrame } from '../schedule/schedule.js';

const ZERO_IP = new Uint8Array(4);

export type ArpTemplates = Partial<Record<Exclude<FrameKind, 'na'>, Uint8Array>>;

/** One 42-byte template per ARP form: frames of a form differ only in their IP fields. */
export function arpTemplates(ctx: FrameContext): ArpTemplates {
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

/**
 * Writes frames [from, from + count) into slots 0.. of the batch: a template copy plus
 * two 4-byte writes per ARP frame, so a 10,000-address burst is built in a few milliseconds.
 */
export function writeFrames(
  batch: FrameBatch,
  frames: readonly RoundFrame[],
  from: number,
  count: number,
  bytesOf: ReadonlyMap<string, Uint8Array>,
  ctx: FrameContext,
  templates: ArpTemplates,
): void {
  const slots = batch.slots;
  for (let i = 0; i < count; i++) {
    const p = frames[from + i]!;
    const ip = bytesOf.get(p.address);
    if (ip === undefined) throw new Error(`no bytes for address ${p.address}`);
    const at = i * SLOT_SIZE;
    if (p.kind === 'na') {
      writeNeighborAdvert(slots, at, ctx.mac, ip, ctx.router);
      batch.setFrame(i, NA_FRAME_LENGTH, true);
      continue;
    }
    const template = templates[p.kind];
    if (template === undefined) throw new Error(`cannot build ${p.kind} frame (no upstream address)`);
    slots.set(template, at);
    slots.set(ip, at + ARP_SENDER_IP_OFFSET);
    if (p.kind !== 'directed-request') slots.set(ip, at + ARP_TARGET_IP_OFFSET); // target IP = sender IP: gratuitous
    batch.setFrame(i, ARP_FRAME_LENGTH, false);
  }
}
