import type { Logger } from 'pino';
import type { ScheduleOptions } from '../schedule/schedule.js';
import { NOT_A_TARGET, Reconciler, type ReconcilerOptions, type Selection } from '../core/reconciler.js';
import { InventoryRefresh } from '../core/inventory-refresh.js';
import type { BatchReport } from '../core/interface-schedule.js';
import type { Clock, FrameSink, ObservedLinks } from '../core/ports.js';
import type { Trigger } from '../core/trigger.js';
import type { Inventory } from '../targets/target.js';
import type { FloatingInterfaceRule } from '../targets/floating-interface.js';
import { withCurrentConfig } from '../inventory/current-config.js';
import type { DbInventory } from '../inventory/load-inventory.js';
import type { NovaSettings } from '../nova/settings.js';
import { redactUrl } from '../nova/database-url.js';
import type { Metrics } from './metrics.js';
import type { AnnounceRequest, StartedEvent } from './announce-request.js';
import { BurstHistory, batchSummaries, forcedSummary, summarize, type BurstSummary } from './burst-history.js';
import { BusEvents } from './bus-events.js';

/** Marks the inventory made of nova.conf alone, before any database read or snapshot. */
export const NOVA_CONF_ONLY = 'nova.conf only';

/** /v1/status lists every target up to this many, else only the unbound ones (see status()). */
const STATUS_TARGETS_MAX = 1000;

/** A storm's batches are one burst until none came for this long... */
const STORM_QUIET_MS = 50;
/** ...or for at most this long. */
const STORM_MAX_MS = 1000;

export interface CoreConfig {
  settings: NovaSettings;
  schedule: ScheduleOptions;
  coalesceMs: number;
  /** How long an associated floating IP's bind still counts as the association's doing (and a shared-topic hint lives). */
  bindWaitMs: number;
  /** Announce what the first inventories find already bound (see Sidecar's announceOnStart). */
  announceOnStart: boolean;
}

/** What the sidecar's logic needs from the machine; `serve` gives real ones, the simulation fakes. */
export interface CorePorts {
  view: ObservedLinks;
  /** A full re-read of the observed state; differences arrive as bound/unbound. */
  resync(why: string): Promise<void>;
  observedStats(): unknown;
  sink: FrameSink;
  clock: Clock;
  /** One bounded database read, or null when there is no database (static inventory, no URL). */
  readDatabase: (() => Promise<DbInventory>) | null;
  /** The desired state changed: write the snapshot (coalesced by the caller). */
  persist(): void;
  rejected(source: 'amqp' | 'control', reason: string, message: string): void;
  /** Round 1 of a takeover (the hook) is out: work that must not delay it (probes, verification). */
  afterTakeover?(summary: BurstSummary, triggeredAt: number): void;
  /** Extra fields for the burst log line (conflicts, verification). */
  burstExtras?(): Record<string, unknown>;
}

/**
 * The sidecar's logic without its sockets: triggers (hook, reannounce, refresh, database reads,
 * RabbitMQ messages, kernel events) turned into changes of the reconciler's two states, plus the
 * account of what went out. `Sidecar` wires it to the machine; the simulation drives it directly.
 */
export class SidecarCore {
  readonly core: Reconciler;
  readonly refresh: InventoryRefresh<DbInventory>;
  readonly bus: BusEvents;
  private readonly history = new BurstHistory();
  private readonly storms = new Map<Trigger, { reports: BatchReport[]; since: number; cancel: (() => void) | null }>();
  private inventoryWhy = 'not loaded';
  private inventorySkipped: Inventory['skipped'] = [];
  private db: { url: string | null; ok: boolean | null; detail: string; at: string | null };
  /**
   * --announce-on-start no: what the first inventories find already bound was bound before this
   * sidecar ran and is not announced, until the hook (or the first database read) ends the start.
   */
  private quiet: boolean;
  /** Until a database read shows the release, Folsom's rule (public_interface first). */
  private floatingRule: FloatingInterfaceRule = 'public_interface-or-row';

  constructor(
    private config: CoreConfig,
    private readonly ports: CorePorts,
    private readonly log: Logger,
    private readonly metrics: Metrics,
  ) {
    this.db = { url: config.settings.databaseUrl === null ? null : redactUrl(config.settings.databaseUrl), ok: null, detail: 'not read yet', at: null };
    this.quiet = !config.announceOnStart;
    metrics.collectTargets = () => this.updateTargetGauges();
    this.core = new Reconciler(ports.view, ports.sink, ports.clock, this.reconcilerOptions(), {
      onBatch: (r) => this.onBatch(r),
      onDesired: () => ports.persist(),
      // nova bound an address we do not know: an association the inventory has not caught up with.
      onStranger: (ifname, address) => {
        if (ports.readDatabase !== null) this.refresh.soon(`unknown address ${address} on ${ifname}`);
      },
    });
    this.refresh = new InventoryRefresh<DbInventory>(
      () => (ports.readDatabase ?? (() => Promise.reject(new Error('no database'))))(),
      (r, startedAt, reason) => this.onDatabaseRead(r, startedAt, reason),
      (err, reason, retryInMs) => this.onDatabaseFailed(err, reason, retryInMs),
      ports.clock,
    );
    this.bus = new BusEvents({
      core: this.core,
      settings: () => this.config.settings,
      bindWaitMs: () => this.config.bindWaitMs,
      floatingRule: () => this.floatingRule,
      log,
      metrics,
      rejected: (reason, message) => ports.rejected('amqp', reason, message),
      reannounce: (req, trigger) => this.reannounce(req, trigger),
      networkChanged: (why) => void this.readDatabase(why),
      brokerUp: () => void this.readDatabase('RabbitMQ connected'),
    });
  }

  private reconcilerOptions(): ReconcilerOptions {
    return {
      schedule: this.config.schedule,
      coalesceMs: this.config.coalesceMs,
      associateWindowMs: this.config.bindWaitMs,
      publicInterface: () => this.config.settings.publicInterface,
    };
  }

  get settings(): NovaSettings {
    return this.config.settings;
  }

  get why(): string {
    return this.inventoryWhy;
  }

  reconfigure(config: CoreConfig): void {
    this.config = config;
    this.core.reconfigure(this.reconcilerOptions());
  }

  /**
   * `announceBound` false takes what is already bound as it is: the initial inventory, whose
   * announcement is the start's own (forced, rate limited) business.
   */
  setInventory(inv: Inventory, why: string, readStartedAt: number, announceBound = !this.quiet): void {
    this.inventoryWhy = why;
    this.inventorySkipped = inv.skipped;
    for (const s of inv.skipped) this.log.warn({ row: s.source, reason: s.reason }, 'inventory row skipped');
    this.core.setInventory(inv, readStartedAt, announceBound);
  }

  /** The inventory of nova.conf alone, while there is neither snapshot nor database. */
  configOnly(why: string, announceBound = !this.quiet): void {
    const s = this.config.settings;
    this.setInventory(withCurrentConfig({ host: s.host, source: 'static', schema: NOVA_CONF_ONLY, readAt: new Date().toISOString(), targets: [], skipped: [] }, s), `nova.conf only (${why})`, -Infinity, announceBound);
  }

  /** What the snapshot should hold, or null when there is nothing worth keeping. */
  desiredInventory(): Inventory | null {
    const inv = this.core.desired.inventory;
    // Without a database read or snapshot there is nothing to keep: nova.conf is read again at start.
    if (inv === null || inv.schema === NOVA_CONF_ONLY) return null;
    return this.core.desired.toInventory(this.config.settings.host, new Date());
  }

  /** A read now (or right after the one in flight); failures retry by themselves with backoff. */
  readDatabase(reason: string): Promise<void> {
    if (this.ports.readDatabase === null) return Promise.resolve();
    return this.refresh.now(reason);
  }

  private onDatabaseRead(r: DbInventory, startedAt: number, reason: string): void {
    this.floatingRule = r.shape.floatingIps.interfaceRule;
    const change = this.core.setInventory(r.inventory, startedAt, !this.quiet);
    this.quiet = false;
    this.inventoryWhy = `database ${this.db.url} (${r.shape.release} schema) at ${r.inventory.readAt}`;
    this.inventorySkipped = r.inventory.skipped;
    this.db = { ...this.db, ok: true, detail: `${r.inventory.targets.length} targets in ${Math.round(r.timings.totalMs)} ms`, at: new Date().toISOString() };
    this.metrics.databaseUp.set(1);
    this.metrics.databaseReads.inc({ result: 'ok' });
    this.metrics.snapshotAge.set(0);
    this.ports.persist();
    this.log.info(
      { reason, targets: r.inventory.targets.length, added: change.added.length, removed: change.removed.length, skipped: r.inventory.skipped.length, ms: Math.round(r.timings.totalMs) },
      'inventory read from database',
    );
  }

  private onDatabaseFailed(err: Error, reason: string, retryInMs: number): void {
    const first = this.db.ok !== false;
    this.db = { ...this.db, ok: false, detail: err.message, at: new Date().toISOString() };
    this.metrics.databaseUp.set(0);
    this.metrics.databaseReads.inc({ result: 'error' });
    const line = { reason, err: err.message, retryInMs, failures: this.refresh.state.failures, using: this.inventoryWhy };
    if (first) this.log.warn(line, 'database unavailable; keeping the inventory in use and retrying');
    else this.log.debug(line, 'database still unavailable');
  }

  /** The hook: answered at once; round 1 from the observed state, then a re-read and a database read off the critical path. */
  started(ev: StartedEvent, ready: Promise<void>): { status: number; body: unknown } {
    const host = this.config.settings.host;
    if (ev.host !== host) {
      this.ports.rejected('control', 'wrong_host', `nova-network-started for host '${ev.host}' but this sidecar serves '${host}'`);
      return { status: 409, body: { error: `this sidecar serves host '${host}', not '${ev.host}'` } };
    }
    const triggeredAt = this.ports.clock.now();
    this.quiet = false;
    this.log.info({ manager: ev.manager, pid: ev.pid }, 'nova-network started');
    void (async () => {
      await ready;
      const summary = await this.force({ addresses: null, kinds: null }, 'hook', triggeredAt);
      this.ports.afterTakeover?.(summary, triggeredAt);
      // Round 1 is out. Off the critical path: the database may know targets the snapshot does
      // not, and a target that looks unbound gets a full kernel re-read (netlink loses events
      // only with ENOBUFS, which the watcher handles; this is belt and braces, tens of ms at 10k).
      const read = this.readDatabase('nova-network started');
      if (this.core.unboundTargets().length > 0) await this.ports.resync('nova-network started');
      await read;
    })().catch((err: Error) => this.log.error({ err: err.message }, 'startup announcement failed'));
    return { status: 202, body: { accepted: true, host, targets: this.core.desired.size } };
  }

  async force(sel: Selection, trigger: Trigger, triggeredAt: number): Promise<BurstSummary> {
    const result = this.core.force(sel, trigger, triggeredAt);
    const summary = await forcedSummary(trigger, sel.addresses === null ? this.core.desired.size : sel.addresses.length, result);
    // Counted once round 1 is out: over every target, force() is a sweep still running here.
    if (result.coalesced > 0) this.metrics.coalesced.inc({ trigger }, result.coalesced);
    this.record(summary, true);
    return summary;
  }

  /** Explicit reannounce (control socket, CLI, AMQP): inventory targets only, bound ones only. */
  async reannounce(req: AnnounceRequest, trigger: Trigger): Promise<unknown> {
    const result = this.core.force({ addresses: req.addresses, kinds: req.kinds }, trigger, this.ports.clock.now());
    // Over every target force() is a sweep: accepted, refused and coalesced are complete once done.
    await result.done;
    if (result.coalesced > 0) this.metrics.coalesced.inc({ trigger }, result.coalesced);
    const host = this.config.settings.host;
    const refused = [
      ...req.invalid.map((a) => ({ address: a, reason: 'not an IP address' })),
      ...result.refused.map((r) => (r.reason === NOT_A_TARGET ? { ...r, reason: `not a target of host ${host}` } : r)),
    ];
    const summary = await forcedSummary(trigger, result.accepted.length + result.refused.length + result.coalesced, result);
    this.record(summary, true);
    this.log.info({ reason: req.reason, accepted: result.accepted.length, refused: refused.length, coalesced: result.coalesced }, 'reannounce');
    return { reason: req.reason, accepted: result.accepted.map((t) => t.address), refused, summary };
  }

  private onBatch(r: BatchReport): void {
    const m = this.metrics;
    m.framesSent.inc({ interface: r.interface, form: 'request' }, r.framesByKind['garp-request']);
    m.framesSent.inc({ interface: r.interface, form: 'reply' }, r.framesByKind['garp-reply']);
    m.framesSent.inc({ interface: r.interface, form: 'directed' }, r.framesByKind['directed-request']);
    m.framesSent.inc({ interface: r.interface, form: 'na' }, r.framesByKind.na);
    for (const g of r.firstRound) {
      if (g.announced === 0) continue;
      const kinds = new Map<string, number>();
      for (const t of g.targets) kinds.set(t.kind, (kinds.get(t.kind) ?? 0) + 1);
      for (const [kind, n] of kinds) m.announcements.inc({ kind, trigger: g.trigger }, g.dropped === 0 ? n : Math.min(n, g.announced));
    }
    if (r.dropped.length > 0) {
      m.safetyDrops.inc({ interface: r.interface }, r.dropped.length);
      this.log.info({ interface: r.interface, dropped: r.dropped.slice(0, 20), count: r.dropped.length }, 'addresses dropped: no longer bound');
    }
    if (r.errors.length > 0) {
      m.sendErrors.inc({ interface: r.interface });
      this.log.error({ interface: r.interface, errors: r.errors }, 'announcement errors');
    }
    this.storm(r);
  }

  /**
   * Rising edges of one storm (a failover's `ip -batch` binds thousands of addresses over a second)
   * arrive as many batches; their account is one burst line: batches of a trigger are gathered
   * until none came for STORM_QUIET_MS (or for at most STORM_MAX_MS).
   */
  private storm(r: BatchReport): void {
    for (const s of batchSummaries(r)) {
      let p = this.storms.get(s.trigger);
      if (p === undefined) {
        p = { reports: [], since: this.ports.clock.now(), cancel: null };
        this.storms.set(s.trigger, p);
      }
      p.reports.push(r);
      p.cancel?.();
      const wait = Math.max(0, Math.min(STORM_QUIET_MS, p.since + STORM_MAX_MS - this.ports.clock.now()));
      const trigger = s.trigger;
      p.cancel = this.ports.clock.after(wait, () => this.flushStorm(trigger));
    }
  }

  private flushStorm(trigger: Trigger): void {
    const p = this.storms.get(trigger);
    if (p === undefined) return;
    this.storms.delete(trigger);
    const s = summarize(trigger, p.reports);
    this.record({ ...s, batches: p.reports.length }, false);
  }

  private record(s: BurstSummary, forced: boolean): void {
    if (!forced && s.announced === 0 && s.errors.length === 0) return;
    this.history.push(s);
    if (s.triggerToLastFrameMs !== null) this.metrics.lastBurstSeconds.set(s.triggerToLastFrameMs / 1000);
    if (s.triggerToFirstFrameMs !== null) this.metrics.lastBurstFirstFrameSeconds.set(s.triggerToFirstFrameMs / 1000);
    this.log.info(this.ports.burstExtras === undefined ? s : { ...s, ...this.ports.burstExtras() }, 'burst');
  }

  updateTargetGauges(): void {
    this.metrics.targets.reset();
    for (const d of this.core.desired.values()) this.metrics.targets.inc({ kind: d.target.kind, bound: String(this.core.whyNot(d.target) === null) });
  }

  /**
   * `targets` chooses the list: `all`, `unbound` or `none`. By default all of them up to
   * STATUS_TARGETS_MAX, else the unbound ones: a monitor polling a 10,000-target host must not
   * cost the sidecar a megabyte of JSON every time.
   */
  status(targets: string | null = null): Record<string, unknown> {
    const inv = this.core.desired.inventory;
    const fromConfig = inv === null || inv.schema === NOVA_CONF_ONLY;
    const refresh = this.refresh.state;
    const mode = targets === 'all' || targets === 'unbound' || targets === 'none' ? targets : this.core.desired.size <= STATUS_TARGETS_MAX ? 'all' : 'unbound';
    const counts: Record<string, { total: number; bound: number }> = {};
    const list: Array<Record<string, unknown>> = [];
    for (const d of this.core.desired.values()) {
      const bound = this.core.whyNot(d.target) === null;
      const c = (counts[d.target.kind] ??= { total: 0, bound: 0 });
      c.total++;
      if (bound) c.bound++;
      if (mode === 'all' || (mode === 'unbound' && !bound)) list.push({ ...d.target, interface: this.core.place(d.target), origin: d.origin, bound });
    }
    return {
      host: this.config.settings.host,
      inventory: {
        why: this.inventoryWhy,
        source: fromConfig ? null : inv.source,
        readAt: fromConfig ? null : inv.readAt,
        counts,
        listed: mode,
        targets: list,
        skipped: this.inventorySkipped.slice(0, STATUS_TARGETS_MAX),
      },
      database: { ...this.db, failures: refresh.failures, reads: refresh.reads, retryInMs: refresh.retryAt === null ? null : Math.max(0, Math.round(refresh.retryAt - this.ports.clock.now())) },
      rabbitmq: this.bus.status(),
      observed: this.ports.observedStats(),
      activeSchedules: this.core.activeSchedules(),
      lastBursts: this.history.last(10),
    };
  }

  stop(): void {
    for (const t of [...this.storms.keys()]) this.flushStorm(t);
    this.refresh.stop();
    this.core.stop();
  }
}
