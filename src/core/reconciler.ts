import type { ScheduleOptions } from '../schedule/schedule.js';
import { parseIp, type ParsedIp } from '../net/ip-address.js';
import { unboundReasonIn } from '../targets/link-check.js';
import { routingSourceInterface } from '../targets/routing-source.js';
import type { Inventory, Target, TargetKind } from '../targets/target.js';
import { DesiredTargets, type DesiredChange, type DesiredTarget } from '../inventory/desired-targets.js';
import { InterfaceSchedule, type BatchReport } from './interface-schedule.js';
import type { Clock, FrameSink, ObservedLinks } from './ports.js';
import { FORCED_TRIGGERS, type Trigger } from './trigger.js';

/** Target objects live as long as their inventory: each address is parsed once, not per trigger. */
const parsed = new WeakMap<Target, ParsedIp>();
function parsedAddress(t: Target): ParsedIp {
  let ip = parsed.get(t);
  if (ip === undefined) {
    ip = parseIp(t.address)!;
    parsed.set(t, ip);
  }
  return ip;
}

/** Targets a forced trigger's sweep takes at a time: about one slice of a batch's first pass. */
export const SWEEP_CHUNK = 256;

/** A forced trigger over every target, taken a chunk at a time by the schedules (see force()). */
interface Sweep {
  /** Starts the next `n` targets; false once every target was taken (the sweep is then over). */
  pull(n: number): boolean;
  /** Ends the sweep where it is (stop, reconfigure). */
  end(): void;
}

/** Refusal reason for an address that is not in the desired state. */
export const NOT_A_TARGET = 'not a target of this host';

export interface ReconcilerOptions {
  schedule: ScheduleOptions;
  /** A forced trigger does not restart a schedule whose round 1 left less than this ago. */
  coalesceMs: number;
  /** How long after an AMQP association its bind still counts as the association's doing. */
  associateWindowMs: number;
  publicInterface: () => string;
}

export interface ReconcilerEvents {
  onBatch(report: BatchReport): void;
  /** The desired state changed (persist it). */
  onDesired(): void;
  /** An address appeared on the public interface and is not a target: maybe the inventory is behind. */
  onStranger(ifname: string, address: string): void;
}

export interface Selection {
  addresses: readonly string[] | null;
  kinds: readonly TargetKind[] | null;
}

export interface ForceResult {
  /** Bound targets it applies to, including those folded into a schedule that just started. */
  accepted: Target[];
  refused: Array<{ address: string; reason: string }>;
  coalesced: number;
  /** Reports of the batches that carry the accepted targets' round 1. */
  done: Promise<BatchReport[]>;
}

/**
 * The core. It holds the desired state (targets) and reads the observed state (what is bound
 * where), and every trigger only changes one of them or forces a re-announcement. A target gets
 * round 1 on its rising edge: the moment it is both known and bound, whichever came last. The
 * per-interface schedules then keep the safety rule on every slice. Nothing here does I/O.
 */
export class Reconciler {
  readonly desired = new DesiredTargets();
  private readonly schedules = new Map<string, InterfaceSchedule>();
  private readonly hints = new Map<string, { target: Target; until: number }>();
  private readonly sweeps = new Set<Sweep>();

  constructor(
    private readonly view: ObservedLinks,
    private readonly sink: FrameSink,
    private readonly clock: Clock,
    private opts: ReconcilerOptions,
    private readonly events: ReconcilerEvents,
  ) {}

  /** New schedule options apply to schedules started from now on (SIGHUP). */
  reconfigure(opts: ReconcilerOptions): void {
    this.opts = opts;
    for (const w of [...this.sweeps]) w.end();
    for (const s of this.schedules.values()) s.stop();
    this.schedules.clear();
  }

  /** Where a target is announced: its interface, or wherever the routing source IP is bound. */
  place(t: Target): string {
    return t.kind === 'routing_source' ? routingSourceInterface(t.interface, this.view.interfacesHolding(t.address)) : t.interface;
  }

  /** Null when the target may be announced now, else why not. */
  whyNot(t: Target): string | null {
    return unboundReasonIn(this.view, this.place(t), t.address);
  }

  activeSchedules(): number {
    let n = 0;
    for (const s of this.schedules.values()) n += s.size;
    return n;
  }

  // ── desired state ─────────────────────────────────────────────────────────────

  /**
   * `announceBound` false: targets already bound are taken as they are, not announced (a sidecar
   * started with --announce-on-start no learns what was bound before it ran).
   */
  setInventory(inventory: Inventory, readStartedAt: number, announceBound = true): DesiredChange {
    return this.apply(this.desired.setBase(inventory, readStartedAt), 'inventory', announceBound);
  }

  /** A floating IP associated (RabbitMQ, on this host's topic). */
  associate(target: Target): DesiredChange {
    this.hints.delete(target.address);
    return this.apply(this.desired.learn(target, this.clock.now()), 'amqp-associate');
  }

  disassociate(address: string): DesiredChange {
    this.hints.delete(address);
    return this.apply(this.desired.unlearn(address, this.clock.now()), 'inventory');
  }

  /**
   * Essex–Folsom send the public associate call to the shared topic, where any network host may
   * take it: the address becomes a target here only if it gets bound here within `windowMs`.
   * True when it is bound here already (a target now).
   */
  hint(target: Target, windowMs: number): boolean {
    if (this.whyNot(target) === null) {
      this.associate(target);
      return true;
    }
    this.hints.set(target.address, { target, until: this.clock.now() + windowMs });
    return false;
  }

  private apply(change: DesiredChange, trigger: Trigger, announceBound = true): DesiredChange {
    for (const t of change.removed) for (const s of this.schedules.values()) s.remove(t.address);
    if (announceBound) for (const d of change.added) if (this.whyNot(d.target) === null) this.begin(d, trigger, this.clock.now(), 0);
    if (change.added.length > 0 || change.removed.length > 0) this.events.onDesired();
    return change;
  }

  // ── observed state ────────────────────────────────────────────────────────────

  /** The watcher saw `address` become usable on `ifname` (added, DAD done, link up). */
  bound(ifname: string, address: string): void {
    const d = this.desired.get(address);
    if (d === undefined) {
      const h = this.hints.get(address);
      if (h !== undefined && h.until >= this.clock.now() && h.target.interface === ifname) {
        this.associate(h.target);
        return;
      }
      if (h !== undefined && h.until < this.clock.now()) this.hints.delete(address);
      if (ifname === this.opts.publicInterface()) this.events.onStranger(ifname, address);
      return;
    }
    if (this.place(d.target) !== ifname) return;
    const recentAssociate = d.origin === 'amqp' && this.clock.now() - d.at <= this.opts.associateWindowMs;
    this.begin(d, recentAssociate ? 'amqp-associate' : 'address', this.clock.now(), 0);
  }

  /** The watcher saw `address` go from `ifname` (deleted, link down or gone). */
  unbound(ifname: string, address: string): void {
    this.schedules.get(ifname)?.remove(address);
    const d = this.desired.get(address);
    // The routing source IP may still be held elsewhere (moved to a SNAT VLAN): announce it there.
    if (d !== undefined && d.target.kind === 'routing_source' && this.place(d.target) !== ifname && this.whyNot(d.target) === null) {
      this.begin(d, 'address', this.clock.now(), 0);
    }
  }

  // ── forced ────────────────────────────────────────────────────────────────────

  /**
   * Hook, reannounce, refresh: the selected targets that are bound now start again.
   *
   * Over every target (no address list) this is a sweep, taken a chunk at a time: the first
   * chunk here (more if it started nothing), the rest by the schedules as each batch's first pass
   * runs dry (ScheduleHooks.more). Round 1's first slice thus leaves after SWEEP_CHUNK targets,
   * not after a pass over all of them; `accepted`, `refused` and `coalesced` are complete when
   * `done` settles. A target is judged when the sweep reaches it, against the desired state of
   * that moment: one removed meanwhile is skipped, one added meanwhile had its own rising edge.
   */
  force(sel: Selection, trigger: Trigger, triggeredAt: number): ForceResult {
    const touched = new Set<InterfaceSchedule>();
    const result: ForceResult = { accepted: [], refused: [], coalesced: 0, done: Promise.resolve([]) };
    const carried = (): Promise<BatchReport[]> => Promise.all([...touched].map((s) => s.carrier())).then((rs) => rs.filter((r): r is BatchReport => r !== null));
    const pick = (d: DesiredTarget): void => {
      if (sel.kinds !== null && !sel.kinds.includes(d.target.kind)) return;
      const why = this.whyNot(d.target);
      if (why !== null) {
        result.refused.push({ address: d.target.address, reason: why });
        return;
      }
      // Found bound at this version of the observed state: the first slice need not look again.
      const outcome = this.begin(d, trigger, triggeredAt, FORCED_TRIGGERS.has(trigger) ? this.opts.coalesceMs : 0, this.view.version?.());
      // Folded into a schedule whose round 1 just left: accepted, it is being announced.
      result.accepted.push(d.target);
      if (outcome === 'coalesced') result.coalesced++;
      else touched.add(this.begun!);
    };
    if (sel.addresses !== null) {
      for (const a of new Set(sel.addresses)) {
        const d = this.desired.get(a);
        if (d === undefined) result.refused.push({ address: a, reason: this.desired.inventory === null && this.desired.size === 0 ? 'no inventory loaded' : NOT_A_TARGET });
        else pick(d);
      }
      result.done = carried();
      return result;
    }
    const it = this.desired.values();
    const version = this.desired.version;
    let finish!: (reports: Promise<BatchReport[]>) => void;
    result.done = new Promise<BatchReport[]>((resolve) => (finish = resolve));
    const sweep: Sweep = {
      pull: (n) => {
        for (let i = 0; i < n; i++) {
          const x = it.next();
          if (x.done === true) {
            sweep.end();
            return false;
          }
          // The iterator may be over a desired state replaced since: judge the current one.
          const d = this.desired.version === version ? x.value : this.desired.get(x.value.target.address);
          if (d !== undefined) pick(d);
        }
        return true;
      },
      end: () => {
        if (!this.sweeps.delete(sweep)) return;
        finish(carried());
      },
    };
    this.sweeps.add(sweep);
    while (touched.size === 0 && sweep.pull(SWEEP_CHUNK));
    return result;
  }

  /** ScheduleHooks.more: the next chunk of the oldest sweep still running; false when none is. */
  private more(): boolean {
    for (const s of this.sweeps) {
      s.pull(SWEEP_CHUNK);
      return true;
    }
    return false;
  }

  /** Targets not bound where they belong (the hook uses this to decide on a kernel re-read). */
  unboundTargets(): Target[] {
    const out: Target[] = [];
    for (const d of this.desired.values()) if (this.whyNot(d.target) !== null) out.push(d.target);
    return out;
  }

  stop(): void {
    for (const w of [...this.sweeps]) w.end();
    for (const s of this.schedules.values()) s.stop();
    this.schedules.clear();
  }

  /** The schedule of the last begin() (no result object per target of a sweep). */
  private begun: InterfaceSchedule | null = null;

  private begin(d: DesiredTarget, trigger: Trigger, triggeredAt: number, coalesceMs: number, boundAt?: number): 'started' | 'pending' | 'coalesced' {
    const ifname = this.place(d.target);
    let s = this.schedules.get(ifname);
    if (s === undefined) {
      s = new InterfaceSchedule(ifname, this.opts.schedule, this.view, this.sink, this.clock, { onBatch: (r) => this.events.onBatch(r), more: () => this.more() });
      this.schedules.set(ifname, s);
    }
    const ip = (d.ip ??= parsedAddress(d.target));
    const target = ifname === d.target.interface ? d.target : { ...d.target, interface: ifname };
    this.begun = s;
    return s.start(target, ip, trigger, triggeredAt, coalesceMs, boundAt);
  }
}
