import type { IpFamily } from '../net/ip-address.js';

export type Form = 'request' | 'reply' | 'both';
export const FORMS: readonly Form[] = ['request', 'reply', 'both'];

export type FrameKind = 'garp-request' | 'garp-reply' | 'directed-request' | 'na';

/**
 * Immediately, then past the 1 s neighbour locktime of pre-4.12 Linux (MetalLB uses 1.1 s), then
 * once more for receivers that were busy or lost a frame.
 */
export const DEFAULT_ROUND_OFFSETS_MS: readonly number[] = [0, 1100, 3000];
/** Backed-off rounds are at most this far apart (and timers stay far below Node's 2^31 ms limit). */
export const MAX_BACKOFF_GAP_MS = 60_000;
/** Linux (pre-4.12) ignores updates within this long of the previous one; RFC 4861 wants NAs ≥ 1 s apart. */
export const LOCKTIME_MS = 1000;

export interface ScheduleOptions {
  roundOffsetsMs: readonly number[];
  form: Form;
  /** IPv4 of the upstream router for an extra directed request per address, or null. */
  upstream: string | null;
  /** Per-interface pacing (frames per second), or null for line rate. */
  maxPps: number | null;
  /** Set the Router flag in NAs (the host forwards for its instances). */
  router: boolean;
}

export const DEFAULT_SCHEDULE: ScheduleOptions = {
  roundOffsetsMs: DEFAULT_ROUND_OFFSETS_MS,
  form: 'both',
  upstream: null,
  maxPps: null,
  router: true,
};

/**
 * Offsets of each round from the first. With an interval they are evenly spaced; otherwise the
 * defaults, continued by doubling the last gap so long schedules back off.
 */
export function roundOffsets(rounds: number, intervalMs?: number): number[] {
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`rounds must be a positive integer, got ${rounds}`);
  if (intervalMs !== undefined) return Array.from({ length: rounds }, (_, i) => i * intervalMs);
  const out = DEFAULT_ROUND_OFFSETS_MS.slice(0, rounds);
  while (out.length < rounds) {
    const last = out[out.length - 1]!;
    const gap = last - out[out.length - 2]!;
    out.push(last + Math.min(gap * 2, MAX_BACKOFF_GAP_MS));
  }
  return out;
}

/** Warnings a network engineer should see before trusting a schedule. */
export function scheduleWarnings(opts: ScheduleOptions): string[] {
  const offsets = opts.roundOffsetsMs;
  const warnings: string[] = [];
  if (!offsets.some((o) => o - offsets[0]! > LOCKTIME_MS)) {
    warnings.push(`no round lands more than ${LOCKTIME_MS} ms after the first: receivers inside the neighbour locktime may ignore every frame`);
  }
  for (let i = 1; i < offsets.length; i++) {
    if (offsets[i]! - offsets[i - 1]! < LOCKTIME_MS) {
      warnings.push('rounds closer than 1 s apart: RFC 4861 wants unsolicited NAs at least 1 s apart');
      break;
    }
  }
  return warnings;
}

export interface RoundAddress {
  address: string;
  family: IpFamily;
}

export interface RoundFrame {
  address: string;
  kind: FrameKind;
}

/** The IPv4 frame kind of each pass of a round, in order (IPv6 sends one NA in the first pass). */
export function passKinds(opts: Pick<ScheduleOptions, 'form' | 'upstream'>): FrameKind[] {
  const kinds: FrameKind[] = opts.form === 'both' ? ['garp-request', 'garp-reply'] : opts.form === 'request' ? ['garp-request'] : ['garp-reply'];
  if (opts.upstream !== null) kinds.push('directed-request');
  return kinds;
}

/**
 * The frames of one round, breadth-first: every address gets its first frame before any address
 * gets its second, so a burst cut short (pacing, a dying link) still reached everyone once.
 */
export function roundFrames(addresses: readonly RoundAddress[], opts: Pick<ScheduleOptions, 'form' | 'upstream'>): RoundFrame[] {
  const v4Passes = passKinds(opts);
  const frames: RoundFrame[] = [];
  v4Passes.forEach((kind, pass) => {
    for (const a of addresses) {
      if (a.family === 4) frames.push({ address: a.address, kind });
      else if (pass === 0) frames.push({ address: a.address, kind: 'na' });
    }
  });
  return frames;
}

export function framesPerRound(v4: number, v6: number, opts: Pick<ScheduleOptions, 'form' | 'upstream'>): number {
  const perV4 = (opts.form === 'both' ? 2 : 1) + (opts.upstream !== null ? 1 : 0);
  return v4 * perV4 + v6;
}
