/**
 * From what the prober saw to one disconnection figure per address. Pure.
 *
 * Disconnection = last reply before t0 to first reply after t0. The prober records every gap
 * between consecutive replies longer than its threshold (a little over the probe interval), so
 * the outage is the recorded gap that spans t0.
 */

export interface ProbeRecord {
  address: string;
  /** Role of the namespace that probed it (`laptop`, `inst0`, ...). */
  from: string;
  sent: number;
  received: number;
  /** Monotonic ms (CLOCK_MONOTONIC, shared by every process on the machine), or null. */
  firstReply: number | null;
  lastReply: number | null;
  /** [previous reply, next reply] for every gap longer than the prober's threshold. */
  gaps: Array<[number, number]>;
}

export interface Outage {
  address: string;
  from: string;
  /** ms; for a capped address, a lower bound (last reply before t0 to the end of the run). */
  disconnectionMs: number;
  /** Never answered again before the run ended (`--max-wait` reached). */
  capped: boolean;
  lastBefore: number | null;
  firstAfter: number | null;
}

export function outageOf(r: ProbeRecord, t0: number, endedAt: number, gapThresholdMs: number): Outage {
  const base = { address: r.address, from: r.from };
  // The gap that spans t0; after a graceful stop the outage begins later, when the primary
  // releases its addresses: then the first gap after t0.
  const gap = r.gaps.find(([a, b]) => a < t0 && b >= t0) ?? r.gaps.find(([a]) => a >= t0);
  if (gap !== undefined) return { ...base, disconnectionMs: gap[1] - gap[0], capped: false, lastBefore: gap[0], firstAfter: gap[1] };
  if (r.lastReply === null) {
    // Never answered at all: the warm-up refuses to start a failover like that, so this is defensive.
    return { ...base, disconnectionMs: endedAt - t0, capped: true, lastBefore: null, firstAfter: null };
  }
  // Dark since some time after t0 (a graceful stop) and never back: capped too.
  if (r.lastReply < t0 || endedAt - r.lastReply > 5 * gapThresholdMs) {
    return { ...base, disconnectionMs: endedAt - r.lastReply, capped: true, lastBefore: r.lastReply, firstAfter: null };
  }
  // Replies kept coming across t0 with no gap over the threshold: the outage was shorter than that.
  return { ...base, disconnectionMs: gapThresholdMs, capped: false, lastBefore: null, firstAfter: null };
}

/** The gap the prober records: long enough that scheduling jitter does not flood the record. */
export function gapThresholdMs(intervalMs: number): number {
  return Math.max(1.5 * intervalMs, intervalMs + 10);
}
