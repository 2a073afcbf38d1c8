import { parseMac } from '../frames/mac.js';
import { passKinds, type FrameKind, type RoundFrame, type ScheduleOptions } from '../schedule/schedule.js';
import { TokenBucket } from '../schedule/token-bucket.js';
import { parseIp, type ParsedIp } from '../net/ip-address.js';
import { unboundReasonIn } from '../targets/link-check.js';
import type { Target } from '../targets/target.js';
import { SLICE_FRAMES, type Clock, type FrameSink, type ObservedLinks } from './ports.js';
import type { Trigger } from './trigger.js';

/**
 * Later rounds due within this long are sent with the batch at hand: a storm's addresses were
 * bound over tens of milliseconds, and their repeats should not become hundreds of tiny bursts.
 * Round 2 then still lands well past the 1 s neighbour locktime (1100 − 30 ms).
 */
export const EARLY_MS = 30;

interface Entry {
  target: Target;
  ip: ParsedIp;
  /** Index of the next round to send. */
  round: number;
  dueAt: number;
  /** When its round-1 frame left; rounds are timed from it. */
  firstAt: number | null;
  /** Bumped when the schedule restarts, so a batch in flight does not advance the new one. */
  gen: number;
  trigger: Trigger;
  triggeredAt: number;
}

interface InFlight {
  e: Entry;
  gen: number;
  round: number;
  dead: boolean;
  firstFrameAt: number | null;
  lastFrameAt: number | null;
}

/** What one batch of one interface did; round-1 entries are grouped by the trigger that started them. */
export interface BatchReport {
  interface: string;
  /** Per trigger, the entries of this batch that were in their first round. */
  firstRound: Array<{
    trigger: Trigger;
    targets: Target[];
    announced: number;
    dropped: number;
    triggerToFirstFrameMs: number | null;
    triggerToLastFrameMs: number | null;
  }>;
  /** Entries sending a later round. */
  repeats: number;
  frames: number;
  framesByKind: Record<FrameKind, number>;
  /** First frame to last frame of the batch. */
  durationMs: number | null;
  dropped: Array<{ address: string; reason: string }>;
  errors: string[];
}

export type StartOutcome = 'started' | 'pending' | 'coalesced';

export interface ScheduleHooks {
  onBatch(report: BatchReport): void;
}

/**
 * Every announcement of one interface: one set of entries (an address and the round it is at),
 * sent in batches by one loop. Targets of a storm merge into the next batch instead of becoming
 * bursts of their own; a batch is breadth-first (every address's first frame before any second)
 * and goes out in slices, and before each slice the observed state is brought up to date and
 * every frame's address checked against it: nothing leaves for an address the kernel has reported
 * gone. Later rounds use the same observed state: no re-read on the hot path.
 */
export class InterfaceSchedule {
  private readonly entries = new Map<string, Entry>();
  /** Entries waiting for round 1, in arrival order: a storm's batches cost O(new), not O(all). */
  private fresh: Entry[] = [];
  /** Earliest due time of a later round (lower bound): below it, later rounds need no scan. */
  private nextLater = Infinity;
  /** When each address's last schedule sent its round 1 (for forced triggers' rate limit). */
  private readonly lastFirst = new Map<string, number>();
  private running = false;
  private queued = false;
  private cancelTimer: (() => void) | null = null;
  private readonly bucket: TokenBucket | null;
  private readonly upstream: Uint8Array | null;
  private batchWaiters: Array<(r: BatchReport | null) => void> = [];
  private stopped = false;

  constructor(
    readonly ifname: string,
    private readonly opts: ScheduleOptions,
    private readonly view: ObservedLinks,
    private readonly sink: FrameSink,
    private readonly clock: Clock,
    private readonly hooks: ScheduleHooks,
  ) {
    const upstream = opts.upstream === null ? null : parseIp(opts.upstream);
    if (opts.upstream !== null && upstream?.family !== 4) throw new Error(`upstream ${opts.upstream} is not an IPv4 address`);
    this.upstream = upstream?.bytes ?? null;
    this.bucket = opts.maxPps === null ? null : new TokenBucket(opts.maxPps, 1, clock.now());
  }

  get size(): number {
    return this.entries.size;
  }

  has(address: string): boolean {
    return this.entries.has(address);
  }

  /**
   * Puts an address at round 1. A rising edge (`coalesceMs` 0) always starts unless round 1 is
   * already pending; a forced trigger (hook, reannounce, refresh) is folded into a schedule whose
   * round 1 left less than `coalesceMs` ago.
   */
  start(target: Target, ip: ParsedIp, trigger: Trigger, triggeredAt: number, coalesceMs: number): StartOutcome {
    const now = this.clock.now();
    const e = this.entries.get(ip.text);
    if (e !== undefined && e.round === 0) return 'pending';
    const last = e?.firstAt ?? this.lastFirst.get(ip.text);
    if (coalesceMs > 0 && last !== undefined && now - last < coalesceMs) return 'coalesced';
    if (e !== undefined) {
      Object.assign(e, { target, ip, round: 0, dueAt: now, firstAt: null, gen: e.gen + 1, trigger, triggeredAt });
      this.fresh.push(e);
    } else {
      const entry: Entry = { target, ip, round: 0, dueAt: now, firstAt: null, gen: 0, trigger, triggeredAt };
      this.entries.set(ip.text, entry);
      this.fresh.push(entry);
    }
    this.wake();
    return 'started';
  }

  /** The address is no longer bound here or no longer a target: no further frame for it. */
  remove(address: string): boolean {
    this.lastFirst.delete(address);
    return this.entries.delete(address);
  }

  /** Resolves with the report of the next batch that starts after this call (null if none runs). */
  nextBatch(): Promise<BatchReport | null> {
    return new Promise((resolve) => this.batchWaiters.push(resolve));
  }

  stop(): void {
    this.stopped = true;
    this.cancelTimer?.();
    this.cancelTimer = null;
    this.entries.clear();
    this.fresh = [];
    for (const w of this.batchWaiters.splice(0)) w(null);
  }

  private wake(): void {
    if (this.running || this.queued || this.stopped) return;
    this.queued = true;
    this.cancelTimer?.();
    this.cancelTimer = null;
    // A microtask, not a timer: a storm's bound events arrive in one synchronous drain and all of
    // them must be in the batch, yet the first frame must not wait for a timer tick.
    queueMicrotask(() => {
      this.queued = false;
      void this.pump();
    });
  }

  private async pump(): Promise<void> {
    if (this.running || this.stopped) return;
    this.running = true;
    try {
      for (;;) {
        const batch = this.takeDue(this.clock.now());
        if (batch.length === 0) break;
        const waiters = this.batchWaiters.splice(0);
        const report = await this.send(batch);
        this.hooks.onBatch(report);
        for (const w of waiters) w(report);
        if (this.stopped) return;
      }
    } finally {
      this.running = false;
    }
    for (const w of this.batchWaiters.splice(0)) w(null);
    this.arm();
  }

  private arm(): void {
    if (this.stopped) return;
    const next = this.fresh.length > 0 ? this.clock.now() : this.nextLater;
    if (next === Infinity) return;
    this.cancelTimer?.();
    this.cancelTimer = this.clock.after(Math.max(0, next - this.clock.now()), () => {
      this.cancelTimer = null;
      void this.pump();
    });
  }

  /** Due entries, first rounds first: a new address outranks a repeat. */
  private takeDue(now: number): InFlight[] {
    const out: InFlight[] = [];
    const seen = new Set<Entry>();
    for (const e of this.fresh.splice(0)) {
      // Removed, restarted twice, or already taken: the map and the round say what is current.
      if (seen.has(e) || e.round !== 0 || this.entries.get(e.ip.text) !== e) continue;
      seen.add(e);
      out.push({ e, gen: e.gen, round: 0, dead: false, firstFrameAt: null, lastFrameAt: null });
    }
    if (now + EARLY_MS >= this.nextLater) {
      let next = Infinity;
      for (const e of this.entries.values()) {
        if (e.round === 0) continue;
        if (e.dueAt <= now + EARLY_MS) out.push({ e, gen: e.gen, round: e.round, dead: false, firstFrameAt: null, lastFrameAt: null });
        else if (e.dueAt < next) next = e.dueAt;
      }
      this.nextLater = next;
    }
    return out;
  }

  private alive(f: InFlight): boolean {
    return !f.dead && this.entries.get(f.e.ip.text) === f.e && f.e.gen === f.gen;
  }

  private async send(batch: InFlight[]): Promise<BatchReport> {
    const report: BatchReport = {
      interface: this.ifname,
      firstRound: [],
      repeats: 0,
      frames: 0,
      framesByKind: { 'garp-request': 0, 'garp-reply': 0, 'directed-request': 0, na: 0 },
      durationMs: null,
      dropped: [],
      errors: [],
    };
    // Frames are produced a slice at a time, pass by pass (breadth-first: every address's first
    // frame before any second), so the first slice leaves before the rest is even built.
    const passes = passKinds(this.opts);
    let pass = 0;
    let j = 0;
    const next = (): { f: InFlight; kind: FrameKind } | null => {
      for (;;) {
        if (j >= batch.length) {
          pass++;
          j = 0;
        }
        if (pass >= passes.length) return null;
        const f = batch[j++]!;
        // IPv6 gets one NA per round, in the first pass.
        if (f.e.ip.family === 6) {
          if (pass === 0) return { f, kind: 'na' };
          continue;
        }
        return { f, kind: passes[pass]! };
      }
    };
    let firstAt: number | null = null;
    let lastAt: number | null = null;
    let pending = next();
    while (pending !== null && !this.stopped) {
      let want = SLICE_FRAMES;
      if (this.bucket !== null) {
        const wait = this.bucket.waitMs(this.clock.now());
        if (wait > 0) await new Promise<void>((resolve) => this.clock.after(wait, resolve));
        want = this.bucket.take(this.clock.now(), want);
        if (want === 0) continue;
      }
      // Safety: the kernel's reported state, applied now, judges every frame of this slice.
      this.view.drain();
      const link = this.view.link(this.ifname);
      const slice: RoundFrame[] = [];
      const owners: InFlight[] = [];
      const bytesOf = new Map<string, Uint8Array>();
      while (slice.length < want && pending !== null) {
        const { f, kind } = pending;
        pending = next();
        const address = f.e.ip.text;
        if (!this.alive(f)) {
          f.dead = true;
          continue;
        }
        const why = unboundReasonIn(this.view, this.ifname, address);
        if (why !== null) {
          f.dead = true;
          this.entries.delete(address);
          report.dropped.push({ address, reason: why });
          continue;
        }
        slice.push({ address, kind });
        owners.push(f);
        bytesOf.set(address, f.e.ip.bytes);
      }
      if (slice.length === 0 || link === undefined) continue;
      const ctx = { mac: parseMac(link.mac), upstream: this.upstream, router: this.opts.router };
      const r = await this.sink.send(link, slice, bytesOf, ctx);
      const t = this.clock.now();
      for (let k = 0; k < r.sent; k++) {
        const f = owners[k]!;
        f.firstFrameAt ??= t;
        f.lastFrameAt = t;
        report.framesByKind[slice[k]!.kind]++;
      }
      if (r.sent > 0) {
        firstAt ??= t;
        lastAt = t;
        report.frames += r.sent;
      }
      if (r.error !== null) {
        report.errors.push(r.error);
        break;
      }
      if (pending !== null) await this.clock.turn();
    }
    report.durationMs = firstAt === null || lastAt === null ? null : lastAt - firstAt;
    this.advance(batch, report);
    return report;
  }

  private advance(batch: InFlight[], report: BatchReport): void {
    const groups = new Map<Trigger, BatchReport['firstRound'][number]>();
    for (const f of batch) {
      const e = f.e;
      if (f.round === 0) {
        let g = groups.get(e.trigger);
        if (g === undefined) {
          g = { trigger: e.trigger, targets: [], announced: 0, dropped: 0, triggerToFirstFrameMs: null, triggerToLastFrameMs: null };
          groups.set(e.trigger, g);
        }
        g.targets.push(e.target);
        if (f.firstFrameAt === null) g.dropped++;
        else {
          g.announced++;
          const first = f.firstFrameAt - e.triggeredAt;
          const last = f.lastFrameAt! - e.triggeredAt;
          g.triggerToFirstFrameMs = g.triggerToFirstFrameMs === null ? first : Math.min(g.triggerToFirstFrameMs, first);
          g.triggerToLastFrameMs = g.triggerToLastFrameMs === null ? last : Math.max(g.triggerToLastFrameMs, last);
        }
      } else {
        report.repeats++;
      }
      if (!this.alive(f)) continue;
      if (f.firstFrameAt === null) {
        // Nothing left for it (a send error cut the batch short): it is not retried blindly; the
        // next trigger or rising edge starts it again.
        this.entries.delete(e.ip.text);
        report.dropped.push({ address: e.ip.text, reason: report.errors[0] ?? 'not sent' });
        continue;
      }
      if (f.round === 0) {
        e.firstAt = f.firstFrameAt;
        this.lastFirst.set(e.ip.text, f.firstFrameAt);
      }
      e.round = f.round + 1;
      if (e.round >= this.opts.roundOffsetsMs.length) this.entries.delete(e.ip.text);
      else {
        e.dueAt = e.firstAt! + this.opts.roundOffsetsMs[e.round]!;
        if (e.dueAt < this.nextLater) this.nextLater = e.dueAt;
      }
    }
    report.firstRound = [...groups.values()];
  }
}
