import type { Server } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { AddressWatcher, type BoundEvent } from '../link/address-watcher.js';
import { readInterfaces } from '../link/interfaces.js';
import { Announcer, type AnnounceResult, type Announcement } from '../engine/announcer.js';
import type { ScheduleOptions } from '../engine/schedule.js';
import type { Inventory, Target } from '../inventory/target.js';
import { readInventoryFromDatabase, withCurrentConfig } from '../inventory/load-inventory.js';
import { readStaticInventory } from '../inventory/static-inventory.js';
import { readSnapshot } from '../state/snapshot.js';
import { InventoryState, targetKey as key, type InventoryChange } from './inventory-state.js';
import type { NovaSettings } from '../nova/settings.js';
import { redactUrl } from '../nova/database-url.js';
import { MessageError, parseNovaMessage, type NovaEvent } from '../amqp/nova-message.js';
import { NovaBus, reannounceKey } from '../amqp/nova-bus.js';
import { amqpUrls } from '../amqp/broker-url.js';
import { Metrics, serveMetrics } from './metrics.js';
import { startControlServer, stopControlServer } from './control-server.js';
import { parseAnnounceRequest, type AnnounceRequest, type StartedEvent } from './announce-request.js';

export interface SidecarConfig {
  settings: NovaSettings;
  stateDir: string;
  controlSocket: string;
  /** Group owning the control socket (mode 0660), normally nova's; null leaves root's. */
  controlGid: number | null;
  metricsListen: string | null;
  inventoryFile: string | null;
  schedule: ScheduleOptions;
  dbTimeoutMs: number;
  refreshS: number | null;
  amqp: boolean;
  /** How long an associated floating IP may take to appear on its interface. */
  bindWaitMs: number;
  /** An address whose schedule started less than this ago is not restarted (rate limit). */
  coalesceMs: number;
  /**
   * Announce the targets already bound when the sidecar starts: covers a sidecar started after
   * nova-network (the hook found no socket) and is harmless on a restart, as the host holds them.
   */
  announceOnStart: boolean;
}

export type Trigger = 'start' | 'hook' | 'address' | 'amqp-associate' | 'amqp-network' | 'amqp-reannounce' | 'reannounce' | 'refresh' | 'inventory';

export interface BurstSummary {
  trigger: Trigger;
  at: string;
  targets: number;
  announced: number;
  coalesced: number;
  notBound: number;
  frames: number;
  triggerToFirstFrameMs: number | null;
  triggerToLastFrameMs: number | null;
  firstRoundMs: number | null;
  errors: string[];
}

const HISTORY = 50;

/**
 * The composition root of `nova-garp serve`: inventory, triggers (control socket, address events,
 * RabbitMQ, refresh timer) and the announcement engine. Nothing on the startup path waits for
 * RabbitMQ, and the database only within its bound; the snapshot covers the rest.
 */
export class Sidecar {
  private readonly inv: InventoryState;
  private readonly watcher = new AddressWatcher();
  private watcherReady: Promise<void> | null = null;
  private readonly announcer: Announcer;
  private readonly lastStarted = new Map<string, number>();
  private readonly active = new Map<Announcement, Set<string>>();
  private readonly history: BurstSummary[] = [];
  private pendingBound = new Map<string, Target>();
  private pendingFlush = false;
  private readonly waiters = new Map<string, Array<() => void>>();
  private control: Server | null = null;
  private metricsServer: Server | null = null;
  private bus: NovaBus | null = null;
  private refreshTimer: NodeJS.Timeout | null = null;
  private db: { url: string | null; ok: boolean | null; detail: string; at: string | null };
  private rabbit: { enabled: boolean; up: boolean; detail: string } = { enabled: false, up: false, detail: 'not started' };
  private rejectedLogged = 0;
  private readonly rejectedCounts = { amqp: 0, control: 0 };
  readonly metrics = new Metrics();

  constructor(
    private config: SidecarConfig,
    private readonly log: Logger,
  ) {
    // Round 1 trusts the watcher's view (no fork on the hot path); later rounds re-read the kernel.
    this.announcer = new Announcer(async (ifname, round) => (round === 0 ? this.watcher.link(ifname) : (await readInterfaces(ifname)).get(ifname)));
    this.inv = new InventoryState(() => this.config.settings.host, config.inventoryFile === null ? config.stateDir : null, log);
    this.db = { url: config.settings.databaseUrl === null ? null : redactUrl(config.settings.databaseUrl), ok: null, detail: 'not read yet', at: null };
  }

  async start(): Promise<void> {
    const { config, log } = this;
    if (config.metricsListen !== null) {
      this.metricsServer = await serveMetrics(this.metrics, config.metricsListen);
      log.info({ listen: config.metricsListen }, 'metrics listening');
    }
    await this.loadInitialInventory();
    this.control = await startControlServer(config.controlSocket, {
      started: (ev) => this.onStarted(ev),
      announce: (req) => this.reannounce(req, 'reannounce'),
      status: () => this.status(),
      rejected: (reason) => this.rejected('control', reason, 'control request rejected'),
    }, config.controlGid);
    this.watcher.on('bound', (ev) => this.onBound(ev));
    this.watcher.on('unbound', (ev) => this.onUnbound(ev));
    this.watcher.on('error', (err) => log.error({ err: err.message }, 'address watcher'));
    this.watcher.on('resync', (why) => log.debug({ why }, 'address table re-read'));
    this.watcherReady = this.watcher.start();
    await this.watcherReady;
    this.updateTargetGauges();
    log.info({ controlSocket: config.controlSocket, host: config.settings.host, targets: this.inv.targets.length, inventory: this.inv.why }, 'ready');
    if (config.announceOnStart) void this.burst(this.inv.targets, 'start', performance.now());
    void this.refreshFromDatabase('start');
    this.startBus();
    this.startRefreshTimer();
  }

  private async loadInitialInventory(): Promise<void> {
    const { config } = this;
    if (config.inventoryFile !== null) {
      this.setInventory(await readStaticInventory(config.inventoryFile, config.settings.host), `static inventory ${config.inventoryFile}`);
      return;
    }
    const snap = await readSnapshot(config.stateDir, { host: config.settings.host });
    if (snap.ok) {
      this.setInventory(withCurrentConfig(snap.inventory, config.settings), `snapshot ${snap.path} from ${snap.inventory.readAt}`);
      this.metrics.snapshotAge.set(snap.ageMs / 1000);
    } else {
      this.log.warn({ snapshot: snap.message }, 'no usable snapshot; waiting for the database');
      this.inv.why = snap.message;
    }
  }

  private setInventory(inv: Inventory, why: string): Target[] {
    return this.applyChange(this.inv.replace(inv, why));
  }

  /** Targets gone from the inventory stop being repeated; the gauges follow. Returns the new ones. */
  private applyChange(change: InventoryChange): Target[] {
    for (const t of change.removed) this.dropTarget(t, 'removed from the inventory');
    this.updateTargetGauges();
    return change.added;
  }

  /** Database read within its bound; on success the inventory and the snapshot are replaced. */
  private async refreshFromDatabase(reason: string): Promise<Target[]> {
    const { config } = this;
    if (config.inventoryFile !== null || config.settings.databaseUrl === null) return [];
    try {
      const r = await readInventoryFromDatabase(config.settings, { timeoutMs: config.dbTimeoutMs });
      const added = this.setInventory(r.inventory, `database ${this.db.url} (${r.shape.release} schema) at ${r.inventory.readAt}`);
      this.db = { ...this.db, ok: true, detail: `${r.inventory.targets.length} targets in ${Math.round(r.timings.totalMs)} ms`, at: new Date().toISOString() };
      this.metrics.databaseUp.set(1);
      this.metrics.snapshotAge.set(0);
      this.inv.persist();
      this.log.info({ reason, targets: r.inventory.targets.length, added: added.length, ms: Math.round(r.timings.totalMs) }, 'inventory read from database');
      return added;
    } catch (err) {
      this.db = { ...this.db, ok: false, detail: (err as Error).message, at: new Date().toISOString() };
      this.metrics.databaseUp.set(0);
      this.log.warn({ reason, err: (err as Error).message, using: this.inv.why }, 'database unavailable; keeping the inventory in use');
      return [];
    }
  }

  private onStarted(ev: StartedEvent): { status: number; body: unknown } {
    const host = this.config.settings.host;
    if (ev.host !== host) {
      this.rejected('control', 'wrong_host', `nova-network-started for host '${ev.host}' but this sidecar serves '${host}'`);
      return { status: 409, body: { error: `this sidecar serves host '${host}', not '${ev.host}'` } };
    }
    const triggeredAt = performance.now();
    this.log.info({ manager: ev.manager, pid: ev.pid }, 'nova-network started');
    void (async () => {
      await this.watcherReady;
      // Round 1 goes out from the watcher's view at once. The hook means "everything is bound",
      // so the kernel is also re-read right away: addresses whose events the watcher has not
      // processed yet surface as `bound` events and are announced within milliseconds. The
      // database may know targets the snapshot did not; it is read in parallel, within its bound.
      // Round 1 first: forking `ip`, parsing its dump and opening a MySQL connection would
      // otherwise compete with it for the main thread.
      const first = await this.burst(this.inv.targets, 'hook', triggeredAt);
      const added = this.refreshFromDatabase('nova-network started');
      // Only when targets looked unbound: a full dump of a host with thousands of addresses costs
      // tens of milliseconds of main thread and megabytes of garbage.
      if (first.notBound > 0) await this.watcher.resync('nova-network started');
      const fromDb = await added;
      if (fromDb.length > 0) await this.burst(fromDb, 'inventory', performance.now());
    })().catch((err: Error) => this.log.error({ err: err.message }, 'startup burst failed'));
    return { status: 202, body: { accepted: true, host, targets: this.inv.targets.length } };
  }

  private onBound(ev: BoundEvent): void {
    for (const w of this.waiters.get(key({ interface: ev.ifname, address: ev.address })) ?? []) w();
    const t = this.inv.target(ev.ifname, ev.address);
    if (t === undefined) return;
    this.pendingBound.set(key(t), t);
    if (this.pendingFlush) return;
    this.pendingFlush = true;
    // Addresses bound in one `ip -batch` arrive as a stream of events: one burst for the lot.
    setImmediate(() => {
      this.pendingFlush = false;
      const targets = [...this.pendingBound.values()];
      this.pendingBound.clear();
      void this.burst(targets, 'address', performance.now());
    });
  }

  private onUnbound(ev: BoundEvent): void {
    this.dropTarget({ interface: ev.ifname, address: ev.address }, `unbound from ${ev.ifname}`);
  }

  /** Stops the repeats of one target (its interface and address) in every running schedule. */
  private dropTarget(t: { interface: string; address: string }, reason: string): void {
    for (const [a, keys] of this.active) if (keys.has(key(t))) a.drop(t.address, reason);
  }

  /**
   * Starts schedules for the targets that are bound now and not already being announced.
   * Resolves when round 1 of every interface is on the wire.
   */
  private async burst(targets: readonly Target[], trigger: Trigger, triggeredAt: number): Promise<BurstSummary> {
    const now = performance.now();
    const byIf = new Map<string, Target[]>();
    let coalesced = 0;
    let notBound = 0;
    for (const t of targets) {
      if (!this.watcher.isBound(t.interface, t.address)) {
        notBound++;
        continue;
      }
      const last = this.lastStarted.get(key(t));
      if (last !== undefined && now - last < this.config.coalesceMs) {
        coalesced++;
        continue;
      }
      this.lastStarted.set(key(t), now);
      const list = byIf.get(t.interface) ?? [];
      list.push(t);
      byIf.set(t.interface, list);
    }
    if (coalesced > 0) this.metrics.coalesced.inc({ trigger }, coalesced);
    const firstRounds: Array<Promise<AnnounceResult>> = [];
    for (const [ifname, list] of byIf) {
      const a = this.announcer.announce({ ifname, addresses: list.map((t) => t.address), schedule: this.config.schedule, triggeredAt });
      this.active.set(a, new Set(list.map(key)));
      const kindOf = new Map(list.map((t) => [t.address, t.kind]));
      void a.done.then((r) => this.afterSchedule(a, r, ifname));
      firstRounds.push(
        a.firstRound.then((r) => {
          for (const addr of r.announced) this.metrics.announcements.inc({ kind: kindOf.get(addr) ?? 'unknown', trigger });
          for (const s of r.skipped) this.lastStarted.delete(key({ interface: ifname, address: s.address }));
          return r;
        }),
      );
    }
    const results = await Promise.all(firstRounds);
    const pick = (f: (r: AnnounceResult) => number | null, agg: (...n: number[]) => number): number | null => {
      const v = results.map(f).filter((x): x is number => x !== null && Number.isFinite(x));
      return v.length === 0 ? null : agg(...v);
    };
    const summary: BurstSummary = {
      trigger,
      at: new Date().toISOString(),
      targets: targets.length,
      announced: results.reduce((n, r) => n + r.announced.length, 0),
      coalesced,
      notBound: notBound + results.reduce((n, r) => n + r.skipped.length, 0),
      frames: results.reduce((n, r) => n + r.frames, 0),
      triggerToFirstFrameMs: pick((r) => r.triggerToFirstFrameMs, Math.min),
      triggerToLastFrameMs: pick((r) => r.triggerToFirstRoundDoneMs, Math.max),
      firstRoundMs: pick((r) => r.firstRoundMs, Math.max),
      errors: results.flatMap((r) => r.errors),
    };
    if (summary.announced > 0 || summary.errors.length > 0 || trigger === 'hook' || trigger === 'reannounce' || trigger === 'start') {
      this.history.push(summary);
      if (this.history.length > HISTORY) this.history.shift();
      if (summary.triggerToLastFrameMs !== null) this.metrics.lastBurstSeconds.set(summary.triggerToLastFrameMs / 1000);
      if (summary.triggerToFirstFrameMs !== null) this.metrics.lastBurstFirstFrameSeconds.set(summary.triggerToFirstFrameMs / 1000);
      this.log.info(summary, 'burst');
    }
    return summary;
  }

  private afterSchedule(a: Announcement, r: AnnounceResult, ifname: string): void {
    this.active.delete(a);
    this.metrics.framesSent.inc({ interface: ifname, form: 'request' }, r.framesByKind['garp-request']);
    this.metrics.framesSent.inc({ interface: ifname, form: 'reply' }, r.framesByKind['garp-reply']);
    this.metrics.framesSent.inc({ interface: ifname, form: 'directed' }, r.framesByKind['directed-request']);
    this.metrics.framesSent.inc({ interface: ifname, form: 'na' }, r.framesByKind.na);
    if (r.errors.length > 0) {
      this.metrics.sendErrors.inc({ interface: ifname });
      this.log.error({ interface: ifname, errors: r.errors }, 'announcement errors');
    }
    if (r.dropped.length > 0) this.log.info({ interface: ifname, dropped: r.dropped }, 'addresses dropped from later rounds');
  }

  /** Explicit reannounce (control socket, CLI, AMQP): inventory targets only, bound ones only. */
  async reannounce(req: AnnounceRequest, trigger: Trigger): Promise<unknown> {
    await this.watcherReady;
    const refused = req.invalid.map((a) => ({ address: a, reason: 'not an IP address' }));
    const targets = this.inv.targets;
    let chosen = req.kinds === null ? targets : targets.filter((t) => req.kinds!.includes(t.kind));
    if (req.addresses !== null) {
      const wanted = new Set(req.addresses);
      chosen = chosen.filter((t) => wanted.has(t.address));
      const known = new Set(chosen.map((t) => t.address));
      for (const a of wanted) if (!known.has(a)) refused.push({ address: a, reason: this.inv.current === null ? 'no inventory loaded' : `not a target of host ${this.config.settings.host}` });
    }
    const bound = chosen.filter((t) => {
      if (this.watcher.isBound(t.interface, t.address)) return true;
      refused.push({ address: t.address, reason: `not bound on ${t.interface}` });
      return false;
    });
    const summary = await this.burst(bound, trigger, performance.now());
    this.log.info({ reason: req.reason, accepted: bound.length, refused: refused.length }, 'reannounce');
    return { reason: req.reason, accepted: bound.map((t) => t.address), refused, summary };
  }

  private async waitForBound(ifname: string, address: string, timeoutMs: number): Promise<boolean> {
    if (this.watcher.isBound(ifname, address)) return true;
    const k = key({ interface: ifname, address });
    return new Promise((resolve) => {
      const done = (ok: boolean): void => {
        clearTimeout(timer);
        const list = (this.waiters.get(k) ?? []).filter((w) => w !== onBound);
        if (list.length === 0) this.waiters.delete(k);
        else this.waiters.set(k, list);
        resolve(ok);
      };
      const onBound = (): void => done(true);
      const timer = setTimeout(() => done(this.watcher.isBound(ifname, address)), timeoutMs);
      this.waiters.set(k, [...(this.waiters.get(k) ?? []), onBound]);
    });
  }

  /** One AMQP message body; malformed ones are counted and logged, never thrown. */
  handleBusMessage(body: Buffer, routingKey: string): void {
    let event: NovaEvent;
    try {
      event = parseNovaMessage(body).event;
    } catch (err) {
      const reason = err instanceof MessageError ? err.reason : 'internal';
      this.rejected('amqp', reason, `AMQP message on ${routingKey} rejected: ${(err as Error).message}`);
      return;
    }
    void this.onNovaEvent(event, routingKey).catch((err: Error) => this.log.error({ err: err.message, routingKey }, 'handling AMQP message failed'));
  }

  private async onNovaEvent(event: NovaEvent, routingKey: string): Promise<void> {
    const settings = this.config.settings;
    switch (event.type) {
      case 'associate': {
        const t: Target = { kind: 'floating', address: event.address, interface: event.interface ?? settings.publicInterface };
        const triggeredAt = performance.now();
        if (routingKey === settings.networkTopic) {
          // Folsom–Grizzly send the public call to the shared topic, and any network host may
          // handle it: a hint only. It becomes a target if it gets bound here, else it is not ours.
          if (!(await this.waitForBound(t.interface, t.address, this.config.bindWaitMs))) return;
          this.addFloating(t);
          this.log.info({ method: event.method, address: t.address, interface: t.interface, via: routingKey }, 'floating IP associated');
          await this.burst([t], 'amqp-associate', triggeredAt);
          return;
        }
        this.addFloating(t);
        this.log.info({ method: event.method, address: t.address, interface: t.interface }, 'floating IP associated');
        if (await this.waitForBound(t.interface, t.address, this.config.bindWaitMs)) await this.burst([t], 'amqp-associate', triggeredAt);
        else this.log.warn({ address: t.address, interface: t.interface, waitedMs: this.config.bindWaitMs }, 'associated floating IP not bound yet; it will be announced when it appears');
        return;
      }
      case 'disassociate':
        this.applyChange(this.inv.removeFloating(event.address));
        this.log.info({ method: event.method, address: event.address }, 'floating IP disassociated');
        return;
      case 'network-host': {
        const added = await this.refreshFromDatabase(event.method);
        if (added.length > 0) await this.burst(added, 'amqp-network', performance.now());
        return;
      }
      case 'reannounce': {
        let req: AnnounceRequest;
        try {
          req = parseAnnounceRequest({
            ...(event.addresses === null ? {} : { addresses: event.addresses }),
            ...(event.kinds === null ? {} : { kinds: event.kinds }),
            reason: event.reason ?? `amqp ${routingKey}`,
          });
        } catch (err) {
          this.rejected('amqp', 'bad_args', `reannounce on ${routingKey} rejected: ${(err as Error).message}`);
          return;
        }
        await this.reannounce(req, 'amqp-reannounce');
        return;
      }
      case 'ignored':
        return;
    }
  }

  private addFloating(t: Target): void {
    this.applyChange(this.inv.addFloating(t));
  }

  private startBus(): void {
    const { settings } = this.config;
    if (!this.config.amqp) {
      this.rabbit = { enabled: false, up: false, detail: 'disabled (--no-amqp)' };
      return;
    }
    this.rabbit = { enabled: true, up: false, detail: 'connecting' };
    this.bus = new NovaBus({
      urls: amqpUrls(settings.rabbit),
      exchange: settings.controlExchange,
      // The shared topic carries Folsom–Grizzly's public associate calls (hints, see onNovaEvent).
      routingKeys: [`${settings.networkTopic}.${settings.host}`, settings.networkTopic, reannounceKey(settings.host)],
      onMessage: (body, routingKey) => this.handleBusMessage(body, routingKey),
      onState: (up, detail) => {
        const changed = up !== this.rabbit.up;
        this.rabbit = { enabled: true, up, detail };
        this.metrics.rabbitmqUp.set(up ? 1 : 0);
        if (up) this.log.info({ detail }, 'RabbitMQ connected');
        else if (changed) this.log.warn({ detail }, 'RabbitMQ unavailable; retrying');
      },
    });
    this.bus.start();
  }

  private startRefreshTimer(): void {
    const s = this.config.refreshS;
    if (s === null) return;
    const next = (): void => {
      // ±10 % jitter so the network hosts of a region do not refresh in step.
      this.refreshTimer = setTimeout(() => {
        void this.burst(this.inv.targets, 'refresh', performance.now()).finally(next);
      }, s * 1000 * (0.9 + Math.random() * 0.2));
    };
    next();
  }

  private rejected(source: 'amqp' | 'control', reason: string, message: string): void {
    this.metrics.rejected.inc({ source, reason });
    this.rejectedCounts[source]++;
    // A flood of garbage must not become a flood of log lines.
    this.rejectedLogged++;
    if (this.rejectedLogged <= 20 || this.rejectedLogged % 1000 === 0) this.log.warn({ source, reason, total: this.rejectedLogged }, message);
  }

  private updateTargetGauges(): void {
    this.metrics.targets.reset();
    for (const t of this.inv.targets) this.metrics.targets.inc({ kind: t.kind, bound: String(this.watcher.isBound(t.interface, t.address)) });
  }

  status(): unknown {
    this.updateTargetGauges();
    return {
      host: this.config.settings.host,
      inventory: {
        why: this.inv.why,
        source: this.inv.current?.source ?? null,
        readAt: this.inv.current?.readAt ?? null,
        targets: this.inv.targets.map((t) => ({ ...t, bound: this.watcher.isBound(t.interface, t.address) })),
        skipped: this.inv.current?.skipped ?? [],
      },
      database: this.db,
      rabbitmq: { ...this.rabbit, queue: this.bus?.queue ?? null },
      activeSchedules: this.active.size,
      memory: process.memoryUsage(),
      rejected: { ...this.rejectedCounts },
      lastBursts: this.history.slice(-10),
    };
  }

  async reload(settings: NovaSettings): Promise<void> {
    const before = this.config.settings;
    this.config = { ...this.config, settings };
    const busChanged =
      JSON.stringify([before.host, before.rabbit, before.controlExchange, before.networkTopic]) !==
      JSON.stringify([settings.host, settings.rabbit, settings.controlExchange, settings.networkTopic]);
    if (busChanged && this.bus !== null) {
      await this.bus.stop();
      this.bus = null;
      this.startBus();
    }
    const added =
      this.config.inventoryFile !== null
        ? this.setInventory(await readStaticInventory(this.config.inventoryFile, settings.host), `static inventory ${this.config.inventoryFile}`)
        : await this.refreshFromDatabase('SIGHUP');
    if (added.length > 0) await this.burst(added, 'inventory', performance.now());
    this.log.info({ targets: this.inv.targets.length, busRestarted: busChanged }, 'reloaded');
  }

  async stop(): Promise<void> {
    if (this.refreshTimer !== null) clearTimeout(this.refreshTimer);
    for (const a of this.active.keys()) a.cancel();
    await Promise.allSettled([...this.active.keys()].map((a) => a.done));
    this.watcher.stop();
    await this.bus?.stop();
    if (this.control !== null) await stopControlServer(this.control, this.config.controlSocket);
    if (this.metricsServer !== null) {
      const server = this.metricsServer;
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    this.announcer.close();
  }
}
