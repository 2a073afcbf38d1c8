import type { Server } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';
import type { Logger } from 'pino';
import { AddressWatcher } from '../link/address-watcher.js';
import { PacketSink } from '../sender/packet-sink.js';
import type { ScheduleOptions } from '../schedule/schedule.js';
import { realClock } from '../core/real-clock.js';
import { withCurrentConfig } from '../inventory/current-config.js';
import { readStaticInventory } from '../inventory/static-inventory.js';
import { readSnapshot } from '../inventory/snapshot.js';
import type { NovaSettings } from '../nova/settings.js';
import type { NovaBus } from '../amqp/nova-bus.js';
import { amqpUrls } from '../amqp/broker-url.js';
import { Metrics, serveMetrics } from './metrics.js';
import { startControlServer, stopControlServer } from './control-server.js';
import { SnapshotWriter } from '../inventory/snapshot-writer.js';
import { SidecarCore } from './sidecar-core.js';
import { watcherView } from './watcher-view.js';
import { SplitBrainGuard, type OnConflict } from './split-brain.js';
import { DEFAULT_VERIFY, Verifier } from '../verify/verifier.js';

export type { BurstSummary } from './burst-history.js';
export type { Trigger } from '../core/trigger.js';

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
  /** How long an associated floating IP's bind still counts as the association's doing (and a shared-topic hint lives). */
  bindWaitMs: number;
  /** A forced trigger does not restart an address whose round 1 left less than this ago. */
  coalesceMs: number;
  /**
   * Announce the targets already bound when the sidecar starts: covers a sidecar started after
   * nova-network (the hook found no socket) and is harmless on a restart, as the host holds them.
   */
  announceOnStart: boolean;
  /** What a conflict (another MAC claiming a bound address) triggers: one defence per 10 s, or a report only. */
  onConflict?: OnConflict;
  /** A conflict not seen again for this long is cleared. */
  conflictExpireMs?: number;
}

/**
 * The composition root of `nova-garp serve`: it builds the real parts (netlink watcher, raw
 * sockets, clock, database reader, RabbitMQ connection, control socket, metrics endpoint), hands
 * them to the sidecar's logic (SidecarCore) and starts, stops, reloads and reports.
 */
export class Sidecar {
  private readonly watcher = new AddressWatcher();
  /** Settles when the first kernel dump and the initial inventory are in: triggers wait for it. */
  private readonly ready: Promise<void>;
  private markReady!: () => void;
  private readonly sink = new PacketSink();
  private readonly logic: SidecarCore;
  private readonly snapshots: SnapshotWriter;
  private readonly guard: SplitBrainGuard;
  private readonly verifier: Verifier;
  private bus: NovaBus | null = null;
  /** Bumped when the bus is restarted or stopped: a client still loading must not start then. */
  private busGeneration = 0;
  private stopped = false;
  private control: Server | null = null;
  private metricsServer: Server | null = null;
  private refreshTimer: NodeJS.Timeout | null = null;
  private rejectedLogged = 0;
  private readonly rejectedCounts = { amqp: 0, control: 0 };
  readonly metrics = new Metrics();
  /** How long the event loop was held at a time: the hook's 202 and every trigger wait behind it. */
  private readonly loopDelay = monitorEventLoopDelay({ resolution: 5 });

  constructor(
    private config: SidecarConfig,
    private readonly log: Logger,
  ) {
    this.logic = new SidecarCore(
      { settings: config.settings, schedule: config.schedule, coalesceMs: config.coalesceMs, bindWaitMs: config.bindWaitMs, announceOnStart: config.announceOnStart },
      {
        view: watcherView(this.watcher),
        resync: (why) => this.watcher.resync(why),
        observedStats: () => this.watcher.stats(),
        sink: this.sink,
        clock: realClock,
        readDatabase:
          config.inventoryFile !== null || config.settings.databaseUrl === null
            ? null
            : // Loaded at the first read: with a static inventory serve never holds the MySQL client.
              async () => (await import('../inventory/load-inventory.js')).readInventoryFromDatabase(this.config.settings, { timeoutMs: this.config.dbTimeoutMs }),
        persist: () => this.snapshots.request(),
        rejected: (source, reason, message) => this.rejected(source, reason, message),
        // Off the critical path: round 1 of the takeover is already on the wire.
        afterTakeover: (_summary, triggeredAt) => {
          this.guard.probeAll();
          this.verify('hook', triggeredAt);
        },
        burstExtras: () => ({ conflicts: this.guard.table.size }),
      },
      log,
      this.metrics,
    );
    const core = this.logic.core;
    this.guard = new SplitBrainGuard(
      {
        targets: function* () {
          for (const d of core.desired.values()) yield { address: d.target.address, interface: core.place(d.target) };
        },
        placeOf: (address) => {
          const d = core.desired.get(address);
          return d === undefined ? null : core.place(d.target);
        },
        link: (ifname) => this.watcher.header(ifname),
        bound: (ifname, address) => {
          this.watcher.drain();
          return this.watcher.addressOn(ifname, address) !== undefined;
        },
        now: () => realClock.now(),
        announcing: config.schedule.maxPps === null ? null : () => core.activeSchedules() > 0,
      },
      { onConflict: config.onConflict ?? 'defend', expireMs: config.conflictExpireMs ?? 60_000, probePps: config.schedule.maxPps ?? 1000 },
      log,
    );
    this.metrics.collectConflicts = () => this.guard.table.size;
    this.verifier = new Verifier(
      {
        targets: function* () {
          for (const d of core.desired.values()) yield { address: d.target.address, interface: core.place(d.target) };
        },
        drain: () => void this.watcher.drain(),
        bound: (ifname, address) => this.watcher.addressOn(ifname, address) !== undefined,
        link: (ifname) => this.watcher.header(ifname),
        sendArp: (ifname, frame) => this.guard.sendFrame(ifname, frame),
        now: () => realClock.now(),
        announcing: config.schedule.maxPps === null ? null : () => core.activeSchedules() > 0,
      },
      { ...DEFAULT_VERIFY, upstream: config.schedule.upstream, pps: config.schedule.maxPps ?? 1000 },
      log,
    );
    this.snapshots = new SnapshotWriter(config.inventoryFile === null ? config.stateDir : null, () => this.logic.desiredInventory(), log);
    this.ready = new Promise((resolve) => (this.markReady = resolve));
  }

  async start(): Promise<void> {
    const { config, log } = this;
    this.loopDelay.enable();
    if (config.metricsListen !== null) {
      this.metricsServer = await serveMetrics(this.metrics, config.metricsListen);
      log.info({ listen: config.metricsListen }, 'metrics listening');
    }
    const core = this.logic.core;
    this.watcher.on('bound', (ev) => core.bound(ev.ifname, ev.address));
    this.watcher.on('unbound', (ev) => core.unbound(ev.ifname, ev.address));
    this.watcher.on('error', (err) => log.error({ err: err.message }, 'address watcher'));
    this.watcher.on('resync', (why) => log.debug({ why }, 'address table re-read'));
    // The socket opens before the watcher's first dump: the hook must never find it missing
    // while nova-network starts; it waits for the dump instead (milliseconds).
    this.control = await startControlServer(
      config.controlSocket,
      {
        started: (ev) => this.logic.started(ev, this.ready),
        announce: async (req) => {
          await this.ready;
          return this.logic.reannounce(req, 'reannounce');
        },
        status: (targets) => this.status(targets),
        rejected: (reason) => this.rejected('control', reason, 'control request rejected'),
      },
      config.controlGid,
    );
    await this.watcher.start();
    await this.loadInitialInventory();
    this.prepareSenders();
    this.guard.start();
    // Start-up (inventory parse, first dump) is not what a trigger waits behind.
    this.loopDelay.reset();
    this.markReady();
    log.info({ controlSocket: config.controlSocket, host: config.settings.host, targets: core.desired.size, inventory: this.logic.why }, 'ready');
    if (config.announceOnStart) void this.logic.force({ addresses: null, kinds: null }, 'start', realClock.now());
    void this.logic.readDatabase('start');
    this.startBus();
    this.startRefreshTimer();
  }

  /** Raw sockets and native frame slots for every interface with targets, before a failover needs them. */
  private prepareSenders(): void {
    const ifaces = new Set<string>();
    for (const d of this.logic.core.desired.values()) ifaces.add(this.logic.core.place(d.target));
    for (const i of ifaces) {
      const link = this.watcher.header(i);
      const err = link === undefined ? null : this.sink.prepare(link);
      if (err !== null) this.log.warn({ interface: i, err }, 'cannot open a raw socket yet; will retry at the first announcement');
    }
  }

  /** Taken as it is: announcing what is already bound is --announce-on-start's decision (force 'start'). */
  private async loadInitialInventory(): Promise<void> {
    const { config } = this;
    if (config.inventoryFile !== null) {
      this.logic.setInventory(await readStaticInventory(config.inventoryFile, config.settings.host), `static inventory ${config.inventoryFile}`, realClock.now(), false);
      return;
    }
    const snap = await readSnapshot(config.stateDir, { host: config.settings.host });
    if (snap.ok) {
      this.logic.setInventory(withCurrentConfig(snap.inventory, config.settings), `snapshot ${snap.path} from ${snap.inventory.readAt}`, -Infinity, false);
      this.metrics.snapshotAge.set(snap.ageMs / 1000);
    } else {
      this.log.warn({ snapshot: snap.message }, 'no usable snapshot; waiting for the database');
      // nova.conf alone knows the routing source IP: announce it even before the database answers.
      this.logic.configOnly(snap.message, false);
    }
  }

  private startBus(): void {
    const s = this.config.settings;
    if (!this.config.amqp) {
      this.logic.bus.disabled('disabled (--no-amqp)');
      return;
    }
    this.logic.bus.connecting();
    const generation = ++this.busGeneration;
    // amqplib is loaded only when there is a broker to follow (about 10 MB of RSS otherwise).
    import('../amqp/nova-bus.js')
      .then(({ NovaBus, reannounceKey }) => {
        if (generation !== this.busGeneration || this.stopped) return;
        const bus = new NovaBus({
          urls: amqpUrls(s.rabbit),
          exchange: s.controlExchange,
          // The shared topic carries Essex–Folsom's public associate calls (hints, see BusEvents).
          routingKeys: [`${s.networkTopic}.${s.host}`, s.networkTopic, reannounceKey(s.host)],
          onMessage: (body, routingKey) => this.logic.bus.handle(body, routingKey),
          onState: (up, detail) => this.logic.bus.connection(up, detail, up ? (this.bus?.queue ?? null) : null),
        });
        this.bus = bus;
        bus.start();
      })
      .catch((err: Error) => this.log.error({ err: err.message }, 'cannot load the RabbitMQ client'));
  }

  /** One AMQP message body; malformed ones are counted and logged, never thrown. */
  handleBusMessage(body: Buffer, routingKey: string): void {
    this.logic.bus.handle(body, routingKey);
  }

  private startRefreshTimer(): void {
    const s = this.config.refreshS;
    if (s === null) return;
    const next = (): void => {
      // ±10 % jitter so the network hosts of a region do not refresh in step.
      this.refreshTimer = setTimeout(() => {
        void this.logic.force({ addresses: null, kinds: null }, 'refresh', realClock.now()).finally(next);
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

  status(targets: string | null = null): unknown {
    const ms = (ns: number): number => Math.round(ns / 1e4) / 100;
    const d = this.loopDelay;
    return {
      ...this.logic.status(targets),
      conflicts: this.guard.list(),
      verification: this.verifier.last,
      // RSS by V8 heap space (committed and used bytes): what the young generation holds after a burst.
      memory: { ...process.memoryUsage(), heapSpaces: Object.fromEntries(getHeapSpaceStatistics().map((h) => [h.space_name, { size: h.space_size, used: h.space_used_size }])) },
      eventLoopDelayMs: { max: ms(d.max), p99: ms(d.percentile(99)), mean: ms(d.mean) },
      rejected: { ...this.rejectedCounts },
    };
  }

  /** Closed loop after round 1: through the upstream router, off the critical path. */
  private verify(trigger: string, triggeredAt: number): void {
    this.verifier
      .verify(trigger, triggeredAt)
      .then((r) => {
        this.metrics.unverifiedAddresses.set(r.unverified);
        this.metrics.verificationSeconds.set(r.msUntilAllVerified === null ? -1 : r.msUntilAllVerified / 1000);
        const line = { ...r, unverifiedAddresses: r.unverifiedAddresses.slice(0, 20), conflicts: this.guard.table.size };
        if (r.unverified > 0) this.log.warn(line, 'verification: some addresses not verified through the router');
        else this.log.info(line, 'verification');
      })
      .catch((err: Error) => this.log.error({ err: err.message }, 'verification failed'));
  }

  async reload(settings: NovaSettings): Promise<void> {
    const before = this.config.settings;
    this.config = { ...this.config, settings };
    this.logic.reconfigure({ settings, schedule: this.config.schedule, coalesceMs: this.config.coalesceMs, bindWaitMs: this.config.bindWaitMs, announceOnStart: this.config.announceOnStart });
    const busChanged =
      JSON.stringify([before.host, before.rabbit, before.controlExchange, before.networkTopic]) !==
      JSON.stringify([settings.host, settings.rabbit, settings.controlExchange, settings.networkTopic]);
    if (busChanged && this.config.amqp) {
      this.busGeneration++;
      await this.bus?.stop();
      this.bus = null;
      this.startBus();
    }
    if (this.config.inventoryFile !== null) {
      this.logic.setInventory(await readStaticInventory(this.config.inventoryFile, settings.host), `static inventory ${this.config.inventoryFile}`, realClock.now());
    } else {
      const inv = this.logic.core.desired.inventory;
      // nova.conf may have moved the routing source IP: re-derive it on the inventory in use.
      if (inv !== null) this.logic.setInventory(withCurrentConfig(inv, settings), this.logic.why, -Infinity);
      await this.logic.readDatabase('SIGHUP');
    }
    this.log.info({ targets: this.logic.core.desired.size, busRestarted: busChanged }, 'reloaded');
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.busGeneration++;
    this.loopDelay.disable();
    if (this.refreshTimer !== null) clearTimeout(this.refreshTimer);
    this.logic.stop();
    this.guard.stop();
    this.watcher.stop();
    await this.bus?.stop();
    if (this.control !== null) await stopControlServer(this.control, this.config.controlSocket);
    if (this.metricsServer !== null) {
      const server = this.metricsServer;
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    await this.snapshots.flushed();
    this.sink.close();
  }
}
