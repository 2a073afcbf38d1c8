import pino from 'pino';
import type { Clock, FrameSink, ObservedLinks, SliceResult } from '../../src/core/ports.js';
import type { FrameContext } from '../../src/frames/frame-context.js';
import type { FrameKind, RoundFrame, ScheduleOptions } from '../../src/schedule/schedule.js';
import type { LinkAddress, LinkInfo } from '../../src/link/interfaces.js';
import type { DbInventory } from '../../src/inventory/load-inventory.js';
import { deriveTargets } from '../../src/inventory/derive-targets.js';
import type { NovaSettings } from '../../src/nova/settings.js';
import { parseIp } from '../../src/net/ip-address.js';
import { SidecarCore } from '../../src/sidecar/sidecar-core.js';
import { Metrics } from '../../src/sidecar/metrics.js';

/**
 * A deterministic world for the sidecar's logic: a fake clock with its own timer queue, a fake
 * kernel whose changes reach the watcher late (as netlink events do), a fake database that can be
 * down, a fake broker that can lose messages, and a sink that records every frame and judges it
 * against the kernel's truth at the moment it is sent.
 */

// ── clock ────────────────────────────────────────────────────────────────────────

interface Timer {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

export class FakeClock implements Clock {
  private t = 0;
  private seq = 0;
  private timers: Timer[] = [];
  /** Called after every timer callback once promise chains settled (the world samples its state). */
  onStep: () => void = () => undefined;

  now(): number {
    return this.t;
  }

  after(ms: number, fn: () => void): () => void {
    const timer: Timer = { at: this.t + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    // Timers are few; a sorted insert keeps popping trivial and the order deterministic.
    let i = this.timers.length;
    while (i > 0 && (this.timers[i - 1]!.at > timer.at || (this.timers[i - 1]!.at === timer.at && this.timers[i - 1]!.seq > timer.seq))) i--;
    this.timers.splice(i, 0, timer);
    return () => {
      timer.cancelled = true;
    };
  }

  turn(): Promise<void> {
    return new Promise((resolve) => this.after(0, resolve));
  }

  /** Runs every timer due up to `until` (sim ms), letting promise chains settle after each. */
  async runUntil(until: number): Promise<void> {
    for (;;) {
      await settle();
      const next = this.timers[0];
      if (next === undefined || next.at > until) break;
      this.timers.shift();
      if (next.cancelled) continue;
      this.t = next.at;
      next.fn();
      await settle();
      this.onStep();
    }
    this.t = Math.max(this.t, until);
  }
}

/** setImmediate runs after every queued microtask: every promise chain the last step started has moved as far as it can. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

// ── kernel and watcher ──────────────────────────────────────────────────────────

type KernelEvent = { kind: 'addr'; ifname: string; address: string; add: boolean } | { kind: 'link'; ifname: string; up: boolean };

interface FakeLink {
  name: string;
  ifindex: number;
  mac: string;
  up: boolean;
  addresses: Map<string, LinkAddress>;
}

function cloneLinks(links: Map<string, FakeLink>): Map<string, FakeLink> {
  return new Map([...links].map(([n, l]) => [n, { ...l, addresses: new Map(l.addresses) }]));
}

/** The kernel's truth, and the events it has reported but the watcher has not read yet. */
export class FakeKernel {
  readonly links = new Map<string, FakeLink>();
  readonly queue: KernelEvent[] = [];
  /** Debugging aid: every change, with a caller-supplied clock. */
  trace: ((line: string) => void) | null = null;

  addLink(name: string, mac: string): void {
    this.links.set(name, { name, ifindex: this.links.size + 2, mac, up: true, addresses: new Map() });
  }

  bind(ifname: string, address: string): void {
    const l = this.links.get(ifname)!;
    if (l.addresses.has(address)) return;
    const ip = parseIp(address)!;
    l.addresses.set(address, { family: ip.family, address, prefixlen: ip.family === 4 ? 32 : 128, tentative: false });
    this.queue.push({ kind: 'addr', ifname, address, add: true });
    this.trace?.(`kernel bind ${address} ${ifname}`);
  }

  unbind(ifname: string, address: string): void {
    const l = this.links.get(ifname)!;
    if (!l.addresses.delete(address)) return;
    this.queue.push({ kind: 'addr', ifname, address, add: false });
    this.trace?.(`kernel unbind ${address} ${ifname}`);
  }

  setLink(ifname: string, up: boolean): void {
    const l = this.links.get(ifname)!;
    if (l.up === up) return;
    l.up = up;
    this.queue.push({ kind: 'link', ifname, up });
    this.trace?.(`kernel link ${ifname} ${up ? 'up' : 'down'}`);
  }

  /** Truth: may a frame for `address` leave `ifname` now? */
  holds(ifname: string, address: string): boolean {
    const l = this.links.get(ifname);
    return l !== undefined && l.up && l.addresses.has(address);
  }
}

/** The observed state, fed by the kernel's events: some read late (async), all of them on drain. */
export class FakeWatcher implements ObservedLinks {
  private links: Map<string, FakeLink>;
  onBound: (ifname: string, address: string) => void = () => undefined;
  onUnbound: (ifname: string, address: string) => void = () => undefined;
  drains = 0;
  private changes = 0;

  constructor(private readonly kernel: FakeKernel) {
    this.links = cloneLinks(kernel.links);
    kernel.queue.length = 0;
  }

  drain(): void {
    this.drains++;
    this.deliver(this.kernel.queue.length);
  }

  /** Reads the first `n` queued events, as a watcher woken by the kernel would. */
  deliver(n: number): void {
    for (const ev of this.kernel.queue.splice(0, n)) {
      this.changes++;
      const l = this.links.get(ev.ifname)!;
      if (ev.kind === 'link') {
        if (l.up === ev.up) continue;
        l.up = ev.up;
        for (const a of l.addresses.keys()) (ev.up ? this.onBound : this.onUnbound)(ev.ifname, a);
      } else if (ev.add) {
        if (l.addresses.has(ev.address)) continue;
        const ip = parseIp(ev.address)!;
        l.addresses.set(ev.address, { family: ip.family, address: ev.address, prefixlen: 32, tentative: false });
        if (l.up) this.onBound(ev.ifname, ev.address);
      } else if (l.addresses.delete(ev.address) && l.up) {
        this.onUnbound(ev.ifname, ev.address);
      }
    }
  }

  /**
   * A full re-read, as the real watcher does it: the dump replaces the view, differences are
   * reported, then the events still queued are replayed over it (the dump may predate some, and a
   * delete + re-add between two reads is a rising edge the dump alone cannot show).
   */
  resync(): void {
    const before = this.links;
    this.changes++;
    this.links = cloneLinks(this.kernel.links);
    for (const [name, l] of this.links) {
      const old = before.get(name)!;
      for (const a of l.addresses.keys()) if (l.up && !(old.up && old.addresses.has(a))) this.onBound(name, a);
      for (const a of old.addresses.keys()) if (old.up && !(l.up && l.addresses.has(a))) this.onUnbound(name, a);
    }
    this.replay(this.kernel.queue.splice(0));
  }

  /** Applies events to a view that may already show their outcome: each still reports its edge. */
  private replay(events: KernelEvent[]): void {
    for (const ev of events) {
      const l = this.links.get(ev.ifname)!;
      if (ev.kind === 'link') {
        if (!ev.up) for (const a of l.addresses.keys()) this.onUnbound(ev.ifname, a);
        else if (l.up) for (const a of l.addresses.keys()) this.onBound(ev.ifname, a);
      } else if (ev.add) {
        if (l.addresses.has(ev.address) && l.up) this.onBound(ev.ifname, ev.address);
      } else if (!l.addresses.has(ev.address)) {
        this.onUnbound(ev.ifname, ev.address);
      }
    }
  }

  link(ifname: string): LinkInfo | undefined {
    const l = this.links.get(ifname);
    return l === undefined ? undefined : { name: l.name, ifindex: l.ifindex, mac: l.mac, up: l.up, carrier: l.up, addresses: [] };
  }

  addressOn(ifname: string, address: string): LinkAddress | undefined {
    return this.links.get(ifname)?.addresses.get(address);
  }

  version(): number {
    return this.changes;
  }

  interfacesHolding(address: string): string[] {
    return [...this.links.values()].filter((l) => l.up && l.addresses.has(address)).map((l) => l.name);
  }
}

// ── sink ─────────────────────────────────────────────────────────────────────────

export interface SentFrame {
  t: number;
  ifname: string;
  address: string;
  kind: FrameKind;
}

export class RecordingSink implements FrameSink {
  readonly frames: SentFrame[] = [];
  readonly violations: string[] = [];
  /** Frames per address, for quick liveness checks. */
  readonly byAddress = new Map<string, number[]>();
  desired: (address: string) => boolean = () => true;

  constructor(
    private readonly kernel: FakeKernel,
    private readonly clock: Clock,
  ) {}

  send(link: LinkInfo, frames: readonly RoundFrame[], _bytes: ReadonlyMap<string, Uint8Array>, _ctx: FrameContext): Promise<SliceResult> {
    const t = this.clock.now();
    for (const f of frames) {
      if (!this.kernel.holds(link.name, f.address)) this.violations.push(`t=${t}: ${f.kind} for ${f.address} on ${link.name}, which the kernel does not hold`);
      if (!this.desired(f.address)) this.violations.push(`t=${t}: ${f.kind} for ${f.address}, which is no longer a target`);
      this.frames.push({ t, ifname: link.name, address: f.address, kind: f.kind });
      const list = this.byAddress.get(f.address) ?? [];
      list.push(t);
      this.byAddress.set(f.address, list);
    }
    return Promise.resolve({ sent: frames.length, error: null });
  }
}

// ── database ─────────────────────────────────────────────────────────────────────

export interface FloatingRow {
  address: string;
  /** The row's own interface column (nova binds on public_interface when it is set). */
  interface: string | null;
  associated: boolean;
}

export class FakeDatabase {
  up = true;
  latencyMs = 5;
  readonly floating = new Map<string, FloatingRow>();
  readonly networks: Array<{ id: number; bridge: string; gateway: string }> = [];
  reads = 0;

  constructor(
    private readonly clock: Clock,
    private readonly settings: () => NovaSettings,
  ) {}

  read(): Promise<DbInventory> {
    this.reads++;
    return new Promise((resolve, reject) => {
      // Rows as of half-way through the read, as a real query sees them.
      let rows: ReturnType<FakeDatabase['rows']> | null = null;
      this.clock.after(this.latencyMs / 2, () => (rows = this.up ? this.rows() : null));
      this.clock.after(this.latencyMs, () => {
        if (!this.up || rows === null) {
          reject(new Error('connect ECONNREFUSED (fake database down)'));
          return;
        }
        const s = this.settings();
        const derived = deriveTargets({ routingSourceIp: s.routingSourceIp, publicInterface: s.publicInterface }, rows);
        resolve({
          inventory: { host: s.host, source: 'db', schema: 'newton', readAt: new Date().toISOString(), targets: derived.targets, skipped: derived.skipped },
          shape: { release: 'newton', version: 334, deleted: 'integer', floatingIps: { columns: [], interface: true, interfaceRule: 'public_interface-or-row' }, networks: { columns: [], dhcpServer: true, gatewayV6: true, multiHost: true, enableDhcp: true, shareAddress: true } },
          timings: { connectMs: 0, detectMs: 0, readMs: this.latencyMs, deriveMs: 0, totalMs: this.latencyMs },
        });
      });
    });
  }

  private rows(): { floatingIps: Array<{ id: number; address: string; interface: string | null }>; networks: Array<{ id: number; bridge: string; gateway: string }> } {
    let id = 0;
    return {
      floatingIps: [...this.floating.values()].filter((r) => r.associated).map((r) => ({ id: ++id, address: r.address, interface: r.interface })),
      networks: this.networks.map((n) => ({ ...n })),
    };
  }
}

// ── the world ────────────────────────────────────────────────────────────────────

export const PUBLIC = 'eth0';

export function simSettings(over: Partial<NovaSettings> = {}): NovaSettings {
  return {
    novaConfig: null,
    host: 'nethost1',
    myIp: '192.0.2.2',
    routingSourceIp: '192.0.2.2',
    publicInterface: PUBLIC,
    networkManager: 'nova.network.manager.VlanManager',
    databaseUrl: 'mysql://sim/nova',
    transportUrl: null,
    rabbit: { hosts: [], userid: 'guest', password: 'guest', virtualHost: '/', useSsl: false } as unknown as NovaSettings['rabbit'],
    controlExchange: 'nova',
    networkTopic: 'network',
    origin: {} as NovaSettings['origin'],
    warnings: [],
    ...over,
  };
}

export interface WorldOptions {
  schedule?: Partial<ScheduleOptions>;
  coalesceMs?: number;
  bindWaitMs?: number;
  settings?: Partial<NovaSettings>;
  links?: Array<[string, string]>;
  announceOnStart?: boolean;
}

export class World {
  readonly clock = new FakeClock();
  readonly kernel = new FakeKernel();
  readonly watcher: FakeWatcher;
  readonly sink: RecordingSink;
  readonly db: FakeDatabase;
  readonly core: SidecarCore;
  readonly settings: NovaSettings;
  readonly log = pino({ level: 'silent' });

  constructor(opts: WorldOptions = {}) {
    for (const [name, mac] of opts.links ?? [
      [PUBLIC, '02:00:00:00:00:01'],
      ['br100', '02:00:00:00:01:00'],
    ]) {
      this.kernel.addLink(name, mac);
    }
    this.watcher = new FakeWatcher(this.kernel);
    this.sink = new RecordingSink(this.kernel, this.clock);
    this.settings = simSettings(opts.settings);
    this.db = new FakeDatabase(this.clock, () => this.settings);
    this.core = new SidecarCore(
      {
        settings: this.settings,
        schedule: { roundOffsetsMs: [0, 1100, 3000], form: 'both', upstream: null, maxPps: null, router: true, ...opts.schedule },
        coalesceMs: opts.coalesceMs ?? 1000,
        bindWaitMs: opts.bindWaitMs ?? 10_000,
        announceOnStart: opts.announceOnStart ?? true,
      },
      {
        view: this.watcher,
        resync: () => {
          this.watcher.resync();
          return Promise.resolve();
        },
        observedStats: () => ({}),
        sink: this.sink,
        clock: this.clock,
        readDatabase: () => this.db.read(),
        persist: () => undefined,
        rejected: () => undefined,
      },
      this.log,
      new Metrics(),
    );
    this.sink.desired = (a) => this.core.core.desired.get(a) !== undefined;
    this.watcher.onBound = (i, a) => {
      this.kernel.trace?.(`observed bound ${a} ${i}`);
      this.core.core.bound(i, a);
    };
    this.watcher.onUnbound = (i, a) => {
      this.kernel.trace?.(`observed unbound ${a} ${i}`);
      this.core.core.unbound(i, a);
    };
  }

  /** The watcher reads queued kernel events `delayMs` later, as netlink wakes it. */
  deliverLater(delayMs: number): void {
    const n = this.kernel.queue.length;
    this.kernel.trace?.(`deliverLater ${delayMs} n=${n} `);
    this.clock.after(delayMs, () => {
      this.kernel.trace?.(`deliver n=${n} queue=${this.kernel.queue.length} `);
      this.watcher.deliver(n);
    });
  }

  hook(): void {
    this.core.started({ event: 'nova-network-started', host: this.settings.host, manager: 'sim', pid: 1 }, Promise.resolve());
  }

  amqp(body: unknown, routingKey = `network.${this.settings.host}`): void {
    this.core.bus.handle(Buffer.from(JSON.stringify(body)), routingKey);
  }

  /** Frames for `address` sent in [from, to]. */
  framesFor(address: string, from = -Infinity, to = Infinity): number {
    return (this.sink.byAddress.get(address) ?? []).filter((t) => t >= from && t <= to).length;
  }
}
