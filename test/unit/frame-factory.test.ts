import { afterAll, describe, expect, it } from 'vitest';
import { FrameBatch, SLOT_SIZE } from '../../src/link/packet-socket.js';
import { arpTemplates, writeFrames, type FrameContext } from '../../src/engine/frame-factory.js';
import { buildDirectedRequest, buildGarpReply, buildGarpRequest, ARP_FRAME_LENGTH } from '../../src/frames/arp-frame.js';
import { buildNeighborAdvert, NA_FRAME_LENGTH } from '../../src/frames/neighbor-advert.js';
import { parseMac } from '../../src/frames/mac.js';
import { parseIp } from '../../src/net/ip-address.js';
import type { FrameKind, PlannedFrame } from '../../src/engine/schedule.js';

const A = parseMac('02:00:00:00:00:0a');
const B = parseMac('02:00:00:00:00:0b');
const UP = parseIp('10.0.0.254')!.bytes;
const addrs = ['10.0.0.1', '10.0.0.2', '10.0.0.3', '2001:db8::1'];
const bytesOf = new Map(addrs.map((a) => [parseIp(a)!.text, parseIp(a)!.bytes]));
const batch = new FrameBatch(4, 1);
afterAll(() => batch.free());

function expected(kind: FrameKind, address: string, ctx: FrameContext): Uint8Array {
  const ip = bytesOf.get(address)!;
  if (kind === 'garp-request') return buildGarpRequest(ctx.mac, ip);
  if (kind === 'garp-reply') return buildGarpReply(ctx.mac, ip);
  if (kind === 'directed-request') return buildDirectedRequest(ctx.mac, ip, ctx.upstream!);
  return buildNeighborAdvert(ctx.mac, ip, ctx.router);
}

function check(frames: PlannedFrame[], ctx: FrameContext): void {
  writeFrames(batch, frames, 0, frames.length, bytesOf, ctx, arpTemplates(ctx));
  frames.forEach((p, i) => {
    const len = p.kind === 'na' ? NA_FRAME_LENGTH : ARP_FRAME_LENGTH;
    expect(batch.slots.subarray(i * SLOT_SIZE, i * SLOT_SIZE + len), `slot ${i}: ${p.kind} ${p.address}`).toEqual(expected(p.kind, p.address, ctx));
  });
}

describe('writeFrames into reused slots', () => {
  it('gives every slot the exact frame as slices of other forms, other addresses and other MACs follow each other', () => {
    const ctxA: FrameContext = { mac: A, upstream: UP, router: true };
    const ctxB: FrameContext = { mac: B, upstream: null, router: false };
    const f = (kind: FrameKind, address: string): PlannedFrame => ({ kind, address });
    check([f('garp-request', '10.0.0.1'), f('garp-request', '10.0.0.2'), f('garp-request', '10.0.0.3'), f('na', '2001:db8::1')], ctxA);
    // Same forms, other addresses: only the IP fields change.
    check([f('garp-request', '10.0.0.3'), f('garp-request', '10.0.0.1'), f('garp-reply', '10.0.0.2'), f('garp-reply', '10.0.0.1')], ctxA);
    // An NA slot turned back into ARP, an ARP slot into an NA, a directed request.
    check([f('na', '2001:db8::1'), f('directed-request', '10.0.0.1'), f('garp-reply', '10.0.0.3'), f('garp-request', '10.0.0.2')], ctxA);
    // Another interface's MAC in the same slots.
    check([f('garp-request', '10.0.0.1'), f('garp-reply', '10.0.0.2'), f('garp-reply', '10.0.0.3'), f('na', '2001:db8::1')], ctxB);
    check([f('garp-request', '10.0.0.2'), f('garp-reply', '10.0.0.3')], ctxA);
  });

  it('hands out the same template objects for the same MAC and upstream', () => {
    expect(arpTemplates({ mac: parseMac('02:00:00:00:00:0a'), upstream: null, router: true })).toBe(arpTemplates({ mac: A, upstream: null, router: false }));
    expect(arpTemplates({ mac: A, upstream: UP, router: true })).not.toBe(arpTemplates({ mac: A, upstream: null, router: true }));
  });
});
