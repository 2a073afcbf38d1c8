import { afterAll, describe, expect, it } from 'vitest';
import { arpTemplates, writeFrames } from '../../src/sender/frame-factory.js';
import type { FrameContext } from '../../src/frames/frame-context.js';
import type { FrameKind, RoundFrame } from '../../src/schedule/schedule.js';
import { FrameBatch, SLOT_SIZE } from '../../src/sender/packet-socket.js';
import { ARP_FRAME_LENGTH, buildDirectedRequest, buildGarpReply, buildGarpRequest, parseArpFrame } from '../../src/frames/arp-frame.js';
import { NA_FRAME_LENGTH, buildNeighborAdvert, parseNeighborAdvert } from '../../src/frames/neighbor-advert.js';
import { parseMac } from '../../src/frames/mac.js';
import { parseIp } from '../../src/net/ip-address.js';

/**
 * The production frame writer (templates plus two 4-byte writes per ARP frame, straight into the
 * native slots sendmmsg reads) against the pure builders, byte for byte, for every form; and what
 * it leaves in the native iovec and mmsghdr of each slot: the length and the sockaddr_ll (ARP or
 * IPv6) the frame goes out with. No socket is opened: FrameBatch is plain native memory.
 */

const MAC = parseMac('02:11:22:33:44:55');
const UPSTREAM = parseIp('10.0.0.254')!.bytes;
const V4 = ['10.0.0.1', '192.0.2.17', '198.51.100.254'];
const V6 = ['2001:db8::1', '2001:db8:0:1::ff'];
const bytesOf = new Map([...V4, ...V6].map((a) => [a, parseIp(a)!.bytes]));
const ETH_P_ARP = 0x0806;
const ETH_P_IPV6 = 0x86dd;

/** What the pure builders make of one frame of a round. */
function expected(p: RoundFrame, ctx: FrameContext): Uint8Array {
  const ip = bytesOf.get(p.address)!;
  switch (p.kind) {
    case 'garp-request':
      return buildGarpRequest(ctx.mac, ip);
    case 'garp-reply':
      return buildGarpReply(ctx.mac, ip);
    case 'directed-request':
      return buildDirectedRequest(ctx.mac, ip, ctx.upstream!);
    case 'na':
      return buildNeighborAdvert(ctx.mac, ip, ctx.router);
  }
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Slot i of the batch as sendmmsg would send it: the bytes its iovec covers, and the sockaddr's protocol. */
function sent(batch: FrameBatch, i: number): { bytes: string; protocol: number } {
  const { length, protocol } = batch.slotInfo(i);
  return { bytes: hex(batch.slots.subarray(i * SLOT_SIZE, i * SLOT_SIZE + length)), protocol };
}

function check(batch: FrameBatch, frames: readonly RoundFrame[], from: number, count: number, ctx: FrameContext): void {
  writeFrames(batch, frames, from, count, bytesOf, ctx, arpTemplates(ctx));
  for (let i = 0; i < count; i++) {
    const p = frames[from + i]!;
    const want = expected(p, ctx);
    const label = `slot ${i}: ${p.kind} ${p.address}`;
    expect(want.length, label).toBe(p.kind === 'na' ? NA_FRAME_LENGTH : ARP_FRAME_LENGTH);
    expect(sent(batch, i), label).toEqual({ bytes: hex(want), protocol: p.kind === 'na' ? ETH_P_IPV6 : ETH_P_ARP });
  }
}

const round = (kinds: readonly FrameKind[], addresses: readonly string[]): RoundFrame[] => kinds.flatMap((kind) => addresses.map((address) => ({ address, kind })));

describe('writeFrames (the production frame writer) against the pure builders', () => {
  const batches: FrameBatch[] = [];
  const batch = (capacity: number): FrameBatch => {
    const b = new FrameBatch(capacity, 7);
    batches.push(b);
    return b;
  };
  afterAll(() => {
    for (const b of batches) b.free();
  });

  const ctx: FrameContext = { mac: MAC, upstream: UPSTREAM, router: false };

  for (const kind of ['garp-request', 'garp-reply', 'directed-request'] as const) {
    it(`writes the ${kind} form as the builder does, into ARP slots`, () => {
      const frames = round([kind], V4);
      check(batch(frames.length), frames, 0, frames.length, ctx);
    });
  }

  for (const router of [false, true]) {
    it(`writes the IPv6 NA (Router flag ${router ? 'set' : 'clear'}) as the builder does, into IPv6 slots`, () => {
      const frames = round(['na'], V6);
      const c = { ...ctx, router };
      const b = batch(frames.length);
      check(b, frames, 0, frames.length, c);
      // And as an independent parser reads it: the flag and a valid checksum.
      for (let i = 0; i < frames.length; i++) {
        const na = parseNeighborAdvert(b.slots.subarray(i * SLOT_SIZE, i * SLOT_SIZE + b.slotInfo(i).length));
        expect(na).toMatchObject({ target: frames[i]!.address, router, override: true, solicited: false, checksumValid: true });
      }
    });
  }

  it('writes a mixed round (both layouts side by side) from an offset into slots 0..', () => {
    const frames: RoundFrame[] = [
      ...round(['garp-request'], [...V4, ...V6]).map((p) => (p.address.includes(':') ? { ...p, kind: 'na' as const } : p)),
      ...round(['garp-reply', 'directed-request'], V4),
    ];
    const b = batch(frames.length);
    check(b, frames, 0, frames.length, ctx);
    // A later slice of the same round: frames[from..] lands in slots 0.. again.
    check(b, frames, 4, frames.length - 4, ctx);
  });

  it('leaves nothing of a slot’s previous layout behind when a slot changes from NA to ARP and back', () => {
    const b = batch(4);
    const nas = round(['na'], [...V6, ...V6]);
    const arps = round(['garp-reply', 'directed-request'], V4.slice(0, 2));
    check(b, nas, 0, 4, ctx); // every slot an IPv6 slot, 86 bytes
    check(b, arps, 0, 4, ctx); // the same slots as ARP slots, 42 bytes, ARP sockaddr
    check(b, nas, 0, 4, { ...ctx, router: true }); // and back
    // The ARP frames read back as what they are.
    check(b, arps, 0, 4, ctx);
    expect(parseArpFrame(b.slots.subarray(0, ARP_FRAME_LENGTH))).toMatchObject({ op: 2, senderIp: V4[0], targetIp: V4[0], ethSrc: '02:11:22:33:44:55' });
    expect(parseArpFrame(b.slots.subarray(SLOT_SIZE * 3, SLOT_SIZE * 3 + ARP_FRAME_LENGTH))).toMatchObject({ op: 1, senderIp: V4[1], targetIp: '10.0.0.254' });
  });

  it('refuses a directed request without an upstream, and an address it has no bytes for', () => {
    const b = batch(1);
    expect(() => writeFrames(b, round(['directed-request'], V4.slice(0, 1)), 0, 1, bytesOf, { ...ctx, upstream: null }, arpTemplates({ ...ctx, upstream: null }))).toThrow(/upstream/);
    expect(() => writeFrames(b, round(['garp-request'], ['10.9.9.9']), 0, 1, bytesOf, ctx, arpTemplates(ctx))).toThrow(/no bytes/);
  });
});

describe('writeFrames into reused slots (a slot that holds its form’s template only gets the address)', () => {
  const A = parseMac('02:00:00:00:00:0a');
  const B = parseMac('02:00:00:00:00:0b');
  const slotsBatch = new FrameBatch(4, 1);
  afterAll(() => slotsBatch.free());
  const f = (kind: FrameKind, address: string): RoundFrame => ({ kind, address });
  const checkSlots = (frames: RoundFrame[], ctx: FrameContext): void => {
    writeFrames(slotsBatch, frames, 0, frames.length, bytesOf, ctx, arpTemplates(ctx));
    frames.forEach((p, i) => {
      const len = p.kind === 'na' ? NA_FRAME_LENGTH : ARP_FRAME_LENGTH;
      expect(hex(slotsBatch.slots.subarray(i * SLOT_SIZE, i * SLOT_SIZE + len)), `slot ${i}: ${p.kind} ${p.address}`).toBe(hex(expected(p, ctx)));
    });
  };

  it('gives every slot the exact frame as slices of other forms, other addresses and other MACs follow each other', () => {
    const ctxA: FrameContext = { mac: A, upstream: UPSTREAM, router: true };
    const ctxB: FrameContext = { mac: B, upstream: null, router: false };
    checkSlots([f('garp-request', V4[0]!), f('garp-request', V4[1]!), f('garp-request', V4[2]!), f('na', V6[0]!)], ctxA);
    // Same forms, other addresses: only the IP fields change.
    checkSlots([f('garp-request', V4[2]!), f('garp-request', V4[0]!), f('garp-reply', V4[1]!), f('garp-reply', V4[0]!)], ctxA);
    // An NA slot turned back into ARP, an ARP slot into an NA, a directed request.
    checkSlots([f('na', V6[0]!), f('directed-request', V4[0]!), f('garp-reply', V4[2]!), f('garp-request', V4[1]!)], ctxA);
    // Another interface's MAC in the same slots.
    checkSlots([f('garp-request', V4[0]!), f('garp-reply', V4[1]!), f('garp-reply', V4[2]!), f('na', V6[0]!)], ctxB);
    checkSlots([f('garp-request', V4[1]!), f('garp-reply', V4[2]!)], ctxA);
  });

  it('hands out the same template objects for the same MAC and upstream', () => {
    expect(arpTemplates({ mac: parseMac('02:00:00:00:00:0a'), upstream: null, router: true })).toBe(arpTemplates({ mac: A, upstream: null, router: false }));
    expect(arpTemplates({ mac: A, upstream: UPSTREAM, router: true })).not.toBe(arpTemplates({ mac: A, upstream: null, router: true }));
  });
});
