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

  /** Hook, reannounce, refresh: the selected targets that are bound now start again. */
  force(sel: Selection, trigger: Trigger, triggeredAt: number): ForceResult {
    const refused: ForceResult['refused'] = [];
    const accepted: Target[] = [];
    let coalesced = 0;
    const touched = new Set<InterfaceSchedule>();
    const wanted = sel.addresses === null ? null : new Set(sel.addresses);
    const pick = (d: DesiredTarget): void => {
      if (sel.kinds !== null && !sel.kinds.includes(d.target.kind)) return;
      const why = this.whyNot(d.target);
      if (why !== null) {
        refused.push({ address: d.target.address, reason: why });
        return;
      }
      const outcome = this.begin(d, trigger, triggeredAt, FORCED_TRIGGERS.has(trigger) ? this.opts.coalesceMs : 0);
      // Folded into a schedule whose round 1 just left: accepted, it is being announced.
      accepted.push(d.target);
      if (outcome.outcome === 'coalesced') coalesced++;
      else touched.add(outcome.schedule);
    };
    if (wanted === null) for (const d of this.desired.values()) pick(d);
    else {
      for (const a of wanted) {
        const d = this.desired.get(a);
        if (d === undefined) refused.push({ address: a, reason: this.desired.inventory === null && this.desired.size === 0 ? 'no inventory loaded' : NOT_A_TARGET });
        else pick(d);
      }
    }
    const done = Promise.all([...touched].map((s) => s.nextBatch())).then((rs) => rs.filter((r): r is BatchReport => r !== null));
    return { accepted, refused, coalesced, done };
  }

  /** Targets not bound where they belong (the hook uses this to decide on a kernel re-read). */
  unboundTargets(): Target[] {
    const out: Target[] = [];
    for (const d of this.desired.values()) if (this.whyNot(d.target) !== null) out.push(d.target);
    return out;
  }

  stop(): void {
    for (const s of this.schedules.values()) s.stop();
    this.schedules.clear();
  }

  private begin(d: DesiredTarget, trigger: Trigger, triggeredAt: number, coalesceMs: number): { outcome: 'started' | 'pending' | 'coalesced'; schedule: InterfaceSchedule } {
    const ifname = this.place(d.target);
    let s = this.schedules.get(ifname);
    if (s === undefined) {
      s = new InterfaceSchedule(ifname, this.opts.schedule, this.view, this.sink, this.clock, { onBatch: (r) => this.events.onBatch(r) });
      this.schedules.set(ifname, s);
    }
    const ip = parsedAddress(d.target);
    const target = ifname === d.target.interface ? d.target : { ...d.target, interface: ifname };
    return { outcome: s.start(target, ip, trigger, triggeredAt, coalesceMs), schedule: s };
  }
}
