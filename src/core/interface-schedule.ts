import { parseMac } from '../frames/mac.js';
import { passKinds, type FrameKind, type RoundFrame, type ScheduleOptions } from '../schedule/schedule.js';
import { TokenBucket } from '../schedule/token-bucket.js';
import { parseIp, type ParsedIp } from '../net/ip-address.js';
import { addressReason, unusableLinkReason } from '../targets/link-check.js';
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
  /** Set when the entry leaves `entries`: frames of a batch in flight check it instead of the map. */
  removed: boolean;
  /** The batch that took it for round 1 (a restart pushes it to `fresh` twice: taken once). */
  mark: number;
  /** ObservedLinks.version() when it was last found bound here (NaN: not known). */
  boundAt: number;
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
  /**
   * Pulls more round-1 work from a forced trigger's sweep over the targets (Reconciler.force): it
   * starts the next few targets, here or on other interfaces. False when no sweep is left. A
   * batch asks for more whenever its first pass runs dry, so a hook's round 1 starts with its
   * first slice instead of after a pass over every target.
   */
  more?(): boolean;
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
  /** Waiters for the batch in flight, while its first pass still takes new round-1 entries. */
  private joinWaiters: Array<(r: BatchReport | null) => void> | null = null;
  private batchId = 0;
  private stopped = false;
  /** Reused for every slice: a sink must not keep `frames` after its promise settles. bytesOf
   * may hold addresses of earlier slices too (the sink looks up those of its frames). */
  private readonly slice: RoundFrame[] = [];
  private readonly owners: InFlight[] = [];
  private readonly bytesOf = new Map<string, Uint8Array>();
  private macText = '';
  private mac: Uint8Array = new Uint8Array(6);

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
  start(target: Target, ip: ParsedIp, trigger: Trigger, triggeredAt: number, coalesceMs: number, boundAt = Number.NaN): StartOutcome {
    const now = this.clock.now();
    const e = this.entries.get(ip.text);
    if (e !== undefined && e.round === 0) return 'pending';
    if (coalesceMs > 0) {
      const last = e?.firstAt ?? this.lastFirst.get(ip.text);
      if (last !== undefined && now - last < coalesceMs) return 'coalesced';
    }
    if (e !== undefined) {
      e.target = target;
      e.ip = ip;
      e.round = 0;
      e.dueAt = now;
      e.firstAt = null;
      e.gen++;
      e.trigger = trigger;
      e.triggeredAt = triggeredAt;
      e.boundAt = boundAt;
      this.fresh.push(e);
    } else {
      const entry: Entry = { target, ip, round: 0, dueAt: now, firstAt: null, gen: 0, trigger, triggeredAt, removed: false, mark: 0, boundAt };
      this.entries.set(ip.text, entry);
      this.fresh.push(entry);
    }
    this.wake();
    return 'started';
  }

  /** The address is no longer bound here or no longer a target: no further frame for it. */
  remove(address: string): boolean {
    this.lastFirst.delete(address);
    const e = this.entries.get(address);
    if (e === undefined) return false;
    this.drop(e);
    return true;
  }

  private drop(e: Entry): void {
    e.removed = true;
    this.entries.delete(e.ip.text);
  }

  /**
   * Resolves with the report of the batch that carries the round-1 entries started so far: the
   * batch in flight while its first pass still takes them, else the next one (null if none runs).
   */
  carrier(): Promise<BatchReport | null> {
    if (this.stopped) return Promise.resolve(null);
    return new Promise((resolve) => (this.joinWaiters ?? this.batchWaiters).push(resolve));
  }

  stop(): void {
    this.stopped = true;
    this.cancelTimer?.();
    this.cancelTimer = null;
    for (const e of this.entries.values()) e.removed = true;
    this.entries.clear();
    this.fresh = [];
    for (const w of this.batchWaiters.splice(0)) w(null);
    for (const w of this.joinWaiters?.splice(0) ?? []) w(null);
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
        this.batchId++;
        const batch: InFlight[] = [];
        const later = this.takeLater(this.clock.now());
        if (!this.refill(batch, later)) break;
        const waiters = this.batchWaiters.splice(0);
        this.joinWaiters = waiters;
        const report = await this.send(batch, later);
        this.joinWaiters = null;
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

  /** Later rounds due now (or within EARLY_MS); they follow the batch's round-1 entries. */
  private takeLater(now: number): InFlight[] {
    const out: InFlight[] = [];
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

  /**
   * Adds round-1 work to a batch in its first pass: entries started since (a storm's rising edges,
   * a sweep's targets), pulling a sweep's next targets when there are none; the later rounds once
   * round 1 has run dry. False when nothing was added (the first pass is over).
   */
  private refill(batch: InFlight[], later: InFlight[]): boolean {
    const before = batch.length;
    for (;;) {
      const fresh = this.fresh;
      if (fresh.length > 0) {
        this.fresh = [];
        for (const e of fresh) {
          // Removed, restarted twice, or already taken: the flag and the round say what is current.
          if (e.removed || e.round !== 0 || e.mark === this.batchId) continue;
          e.mark = this.batchId;
          batch.push({ e, gen: e.gen, round: 0, dead: false, firstFrameAt: null, lastFrameAt: null });
        }
        if (batch.length > before) return true;
        continue;
      }
      if (this.hooks.more?.() !== true) break;
    }
    if (later.length > 0) {
      for (const f of later) batch.push(f);
      later.length = 0;
      return true;
    }
    return false;
  }

  private alive(f: InFlight): boolean {
    return !f.dead && !f.e.removed && f.e.gen === f.gen;
  }

  private async send(batch: InFlight[], later: InFlight[]): Promise<BatchReport> {
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
    // frame before any second), so the first slice leaves before the rest is even built; the
    // first pass takes new round-1 work as it goes (refill), the later passes the same entries.
    const passes = passKinds(this.opts);
    let pass = 0;
    let j = 0;
    let nextF: InFlight | null = null;
    let nextKind: FrameKind = 'na';
    const next = (): boolean => {
      for (;;) {
        if (j >= batch.length) {
          if (pass === 0 && this.refill(batch, later)) continue;
          // Round-1 entries started from now on wait for the next batch, and so do their waiters.
          if (pass === 0) this.joinWaiters = null;
          pass++;
          j = 0;
        }
        if (pass >= passes.length) return false;
        const f = batch[j++]!;
        // IPv6 gets one NA per round, in the first pass.
        if (f.e.ip.family === 6) {
          if (pass !== 0) continue;
          nextF = f;
          nextKind = 'na';
          return true;
        }
        nextF = f;
        nextKind = passes[pass]!;
        return true;
      }
    };
    let firstAt: number | null = null;
    let lastAt: number | null = null;
    let pending = next();
    const { slice, owners, bytesOf } = this;
    while (pending && !this.stopped) {
      let want = SLICE_FRAMES;
      if (this.bucket !== null) {
        const wait = this.bucket.waitMs(this.clock.now());
        if (wait > 0) await new Promise<void>((resolve) => this.clock.after(wait, resolve));
        want = this.bucket.take(this.clock.now(), want);
        if (want === 0) continue;
      }
      // Safety: the kernel's reported state, applied now, judges every frame of this slice: the
      // link once (it cannot change before the slice is handed over), each address on it.
      this.view.drain();
      const link = this.view.link(this.ifname);
      const linkWhy = unusableLinkReason(link, this.ifname);
      // Found bound at this version: still bound (nothing was applied since); else look it up.
      const version = this.view.version?.() ?? Number.NaN;
      let n = 0;
      owners.length = 0;
      // Kept across slices (an address's bytes do not change): clearing it for every slice
      // allocated a new table each time, a megabyte per 10,000-target round.
      if (bytesOf.size > 4 * SLICE_FRAMES) bytesOf.clear();
      while (n < want && pending) {
        const f = nextF!;
        const kind = nextKind;
        pending = next();
        if (!this.alive(f)) {
          f.dead = true;
          continue;
        }
        const address = f.e.ip.text;
        const why = linkWhy ?? (f.e.boundAt === version ? null : addressReason(this.view.addressOn(this.ifname, address), this.ifname));
        if (why !== null) {
          f.dead = true;
          this.drop(f.e);
          report.dropped.push({ address, reason: why });
          continue;
        }
        f.e.boundAt = version;
        const p = slice[n];
        if (p === undefined) slice.push({ address, kind });
        else {
          p.address = address;
          p.kind = kind;
        }
        n++;
        owners.push(f);
        bytesOf.set(address, f.e.ip.bytes);
      }
      slice.length = n;
      if (n === 0 || link === undefined) continue;
      if (link.mac !== this.macText) {
        this.macText = link.mac;
        this.mac = parseMac(link.mac);
      }
      const r = await this.sink.send(link, slice, bytesOf, { mac: this.mac, upstream: this.upstream, router: this.opts.router });
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
      if (pending) await this.clock.turn();
    }
    // Cut short (error, stop): round-1 work still queued waits for the next batch.
    this.joinWaiters = null;
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
        this.drop(e);
        report.dropped.push({ address: e.ip.text, reason: report.errors[0] ?? 'not sent' });
        continue;
      }
      if (f.round === 0) {
        e.firstAt = f.firstFrameAt;
        this.lastFirst.set(e.ip.text, f.firstFrameAt);
      }
      e.round = f.round + 1;
      if (e.round >= this.opts.roundOffsetsMs.length) this.drop(e);
      else {
        e.dueAt = e.firstAt! + this.opts.roundOffsetsMs[e.round]!;
        if (e.dueAt < this.nextLater) this.nextLater = e.dueAt;
      }
    }
    report.firstRound = [...groups.values()];
  }
}
