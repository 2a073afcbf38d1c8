import type { BatchReport } from '../core/interface-schedule.js';
import type { ForceResult } from '../core/reconciler.js';
import { FORCED_TRIGGERS, type Trigger } from '../core/trigger.js';

/** One line of the sidecar's account: what a trigger put on the wire in round 1. */
export interface BurstSummary {
  trigger: Trigger;
  at: string;
  interfaces: string[];
  targets: number;
  announced: number;
  coalesced: number;
  notBound: number;
  frames: number;
  triggerToFirstFrameMs: number | null;
  triggerToLastFrameMs: number | null;
  firstRoundMs: number | null;
  errors: string[];
  /** Batches a storm's rising edges came in (rising-edge bursts only). */
  batches?: number;
}

const round1 = (n: number | null): number | null => (n === null ? null : Math.round(n * 1000) / 1000);

function min(a: number | null, b: number | null): number | null {
  return a === null ? b : b === null ? a : Math.min(a, b);
}
function max(a: number | null, b: number | null): number | null {
  return a === null ? b : b === null ? a : Math.max(a, b);
}

/** Pure: the first-round groups of `trigger` in these batches, as one summary. */
export function summarize(trigger: Trigger, reports: readonly BatchReport[], extra: { targets?: number; coalesced?: number; refused?: number } = {}): BurstSummary {
  const s: BurstSummary = {
    trigger,
    at: new Date().toISOString(),
    interfaces: [],
    targets: 0,
    announced: 0,
    coalesced: extra.coalesced ?? 0,
    notBound: extra.refused ?? 0,
    frames: 0,
    triggerToFirstFrameMs: null,
    triggerToLastFrameMs: null,
    firstRoundMs: null,
    errors: [],
  };
  for (const r of reports) {
    const groups = r.firstRound.filter((g) => g.trigger === trigger);
    if (groups.length === 0) continue;
    s.interfaces.push(r.interface);
    s.frames += r.frames;
    s.firstRoundMs = max(s.firstRoundMs, r.durationMs);
    s.errors.push(...r.errors);
    for (const g of groups) {
      s.targets += g.targets.length;
      s.announced += g.announced;
      s.notBound += g.dropped;
      s.triggerToFirstFrameMs = min(s.triggerToFirstFrameMs, g.triggerToFirstFrameMs);
      s.triggerToLastFrameMs = max(s.triggerToLastFrameMs, g.triggerToLastFrameMs);
    }
  }
  if (extra.targets !== undefined) s.targets = extra.targets;
  s.triggerToFirstFrameMs = round1(s.triggerToFirstFrameMs);
  s.triggerToLastFrameMs = round1(s.triggerToLastFrameMs);
  s.firstRoundMs = round1(s.firstRoundMs);
  return s;
}

/** The rising-edge summaries of one batch (forced triggers are summarised when their force ends). */
export function batchSummaries(report: BatchReport): BurstSummary[] {
  const triggers = new Set(report.firstRound.map((g) => g.trigger).filter((t) => !FORCED_TRIGGERS.has(t)));
  return [...triggers].map((t) => summarize(t, [report]));
}

export async function forcedSummary(trigger: Trigger, targets: number, result: ForceResult): Promise<BurstSummary> {
  const reports = await result.done;
  return summarize(trigger, reports, { targets, coalesced: result.coalesced, refused: result.refused.length });
}

/** The last `size` summaries, for /v1/status. */
export class BurstHistory {
  private readonly items: BurstSummary[] = [];

  constructor(private readonly size = 50) {}

  push(s: BurstSummary): void {
    this.items.push(s);
    if (this.items.length > this.size) this.items.shift();
  }

  last(n: number): BurstSummary[] {
    return this.items.slice(-n);
  }
}
