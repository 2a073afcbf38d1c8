import { writeArpFrame, garpRequestFields, garpReplyFields, directedRequestFields, ARP_FRAME_LENGTH, ARP_SENDER_IP_OFFSET, ARP_TARGET_IP_OFFSET } from '../frames/arp-frame.js';
import type { FrameContext } from '../frames/frame-context.js';
import { writeNeighborAdvert, NA_FRAME_LENGTH } from '../frames/neighbor-advert.js';
import { SLOT_SIZE, type FrameBatch } from './packet-socket.js';
import type { FrameKind, RoundFrame } from '../schedule/schedule.js';

const ZERO_IP = new Uint8Array(4);

export type ArpTemplates = Partial<Record<Exclude<FrameKind, 'na'>, Uint8Array>>;

/** Templates by MAC and upstream: the same objects for every round and slice of one interface (see FrameBatch.held). */
const templateCache = new Map<string, ArpTemplates>();
const TEMPLATE_CACHE_MAX = 256;
const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

/**
 * One 42-byte template per ARP form: frames of a form differ only in their IP fields. The same
 * context gives the same (never written) template objects, so a slot that already holds one is
 * recognised by identity.
 */
export function arpTemplates(ctx: FrameContext): ArpTemplates {
  const key = `${hex(ctx.mac)}/${ctx.upstream === null ? '' : hex(ctx.upstream)}`;
  let t = templateCache.get(key);
  if (t === undefined) {
    if (templateCache.size >= TEMPLATE_CACHE_MAX) templateCache.clear();
    t = buildArpTemplates(ctx);
    templateCache.set(key, t);
  }
  return t;
}

function buildArpTemplates(ctx: FrameContext): ArpTemplates {
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

const templateMaps = new WeakMap<ArpTemplates, Map<FrameKind, Uint8Array>>();
function templateMap(templates: ArpTemplates): Map<FrameKind, Uint8Array> {
  let m = templateMaps.get(templates);
  if (m === undefined) {
    m = new Map(Object.entries(templates) as [FrameKind, Uint8Array][]);
    templateMaps.set(templates, m);
  }
  return m;
}

/**
 * Writes frames [from, from + count) into slots 0.. of the batch. An ARP frame is its
 * form's template plus the address in its IP fields; a slot that already holds that template (the
 * previous slice put the same form there, as breadth-first rounds mostly do) only gets the eight
 * address bytes, and its iovec and header are left as they are.
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
  const held = batch.held;
  // Not templates[kind], nor a chain of kind === '...' tests: optimised while round 1's first pass
  // sends only requests, either deoptimises when the replies start ("wrong name", "insufficient type
  // feedback") and the writer runs unoptimised again. A Map lookup is the same code for every kind.
  const templateOf = templateMap(templates);
  for (let i = 0; i < count; i++) {
    const p = frames[from + i]!;
    const ip = bytesOf.get(p.address);
    if (ip === undefined) throw new Error(`no bytes for address ${p.address}`);
    const at = i * SLOT_SIZE;
    const kind = p.kind;
    if (kind === 'na') {
      writeNeighborAdvert(slots, at, ctx.mac, ip, ctx.router);
      batch.setFrame(i, NA_FRAME_LENGTH, true);
      held[i] = null;
      continue;
    }
    const template = templateOf.get(kind);
    if (template === undefined) throw new Error(`cannot build ${kind} frame (no upstream address)`);
    if (held[i] !== template) {
      slots.set(template, at);
      batch.setFrame(i, ARP_FRAME_LENGTH, false);
      held[i] = template;
    }
    const a = ip[0]!;
    const b = ip[1]!;
    const c = ip[2]!;
    const d = ip[3]!;
    const s = at + ARP_SENDER_IP_OFFSET;
    slots[s] = a; // sender IP
    slots[s + 1] = b;
    slots[s + 2] = c;
    slots[s + 3] = d;
    if (kind !== 'directed-request') {
      const tg = at + ARP_TARGET_IP_OFFSET;
      slots[tg] = a; // target IP = sender IP: gratuitous
      slots[tg + 1] = b;
      slots[tg + 2] = c;
      slots[tg + 3] = d;
    }
  }
}
