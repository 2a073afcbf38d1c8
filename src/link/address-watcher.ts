import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { createInterface } from 'node:readline';
import { readInterfaces, type LinkAddress, type LinkInfo } from './interfaces.js';
import { parseMonitorLine } from './monitor-line.js';

export interface BoundEvent {
  ifname: string;
  address: string;
}

/** One link as the watcher keeps it: addresses in a map, so an event costs O(1). */
interface WatchedLink {
  name: string;
  ifindex: number;
  mac: string;
  up: boolean;
  carrier: boolean;
  addresses: Map<string, LinkAddress>;
  /** LinkInfo handed out to readers; rebuilt after a change (readers never see it mutate). */
  snapshot: LinkInfo | null;
}

function watched(l: LinkInfo): WatchedLink {
  return { name: l.name, ifindex: l.ifindex, mac: l.mac, up: l.up, carrier: l.carrier, addresses: new Map(l.addresses.map((a) => [a.address, a])), snapshot: l };
}

/**
 * Keeps the namespace's links and addresses current from `ip -o monitor link address` (iproute2
 * 6.1 ignores -j for monitor), so the first announcement round needs no fork. Emits `bound` when
 * an address becomes usable (added, or its DAD finished) and `unbound` when it goes. If the monitor
 * dies or reports lost events (netlink ENOBUFS under an address storm), it re-reads everything.
 * A failover binds thousands of addresses in one `ip -batch`: each event must stay O(1).
 */
export class AddressWatcher extends EventEmitter<{ bound: [BoundEvent]; unbound: [BoundEvent]; error: [Error]; resync: [string] }> {
  private links = new Map<string, WatchedLink>();
  private child: ChildProcess | null = null;
  private stopped = false;
  private resyncing: Promise<void> | null = null;
  /** Monitor lines seen while a dump runs: the dump may predate them, so they are replayed on it. */
  private duringDump: string[] | null = null;
  private restartTimer: NodeJS.Timeout | null = null;

  /** `dump` reads every link of the namespace; tests wrap it to hold a dump back on purpose. */
  constructor(private readonly dump: () => Promise<Map<string, LinkInfo>> = () => readInterfaces()) {
    super();
  }

  async start(): Promise<void> {
    this.spawnMonitor();
    // Monitor first, then the dump: an address added in between is seen by at least one of them.
    // The first dump is the baseline, not news: it emits nothing.
    await this.resync('start', false);
  }

  /** The link as last seen; the object is not mutated afterwards (a change makes a new one). */
  link(ifname: string): LinkInfo | undefined {
    const w = this.links.get(ifname);
    if (w === undefined) return undefined;
    w.snapshot ??= { name: w.name, ifindex: w.ifindex, mac: w.mac, up: w.up, carrier: w.carrier, addresses: [...w.addresses.values()] };
    return w.snapshot;
  }

  isBound(ifname: string, address: string): boolean {
    const l = this.links.get(ifname);
    if (l === undefined || !l.up) return false;
    const a = l.addresses.get(address);
    return a !== undefined && !a.tentative;
  }

  /**
   * Full re-read; emits `bound`/`unbound` for every difference. Concurrent calls share one read.
   * Events that arrive while `ip` dumps are applied at once (readers stay current) and replayed
   * onto the dump afterwards (it may have been taken before them): applying an add or a delete
   * twice is harmless, losing one is not.
   */
  resync(why: string, emit = true): Promise<void> {
    this.resyncing ??= (async () => {
      this.duringDump = [];
      try {
        const fresh = await this.dump();
        const before = this.boundSet();
        const replay = this.duringDump;
        this.duringDump = null;
        this.links = new Map([...fresh].map(([n, l]) => [n, watched(l)]));
        for (const line of replay) this.apply(line, false);
        this.emit('resync', why);
        if (!emit) return;
        const after = this.boundSet();
        for (const [key, ev] of after) if (!before.has(key)) this.emit('bound', ev);
        for (const [key, ev] of before) if (!after.has(key)) this.emit('unbound', ev);
      } finally {
        this.duringDump = null;
        this.resyncing = null;
      }
    })();
    return this.resyncing;
  }

  private boundSet(): Map<string, BoundEvent> {
    const out = new Map<string, BoundEvent>();
    for (const l of this.links.values()) {
      if (!l.up) continue;
      for (const a of l.addresses.values()) if (!a.tentative) out.set(`${l.name}|${a.address}`, { ifname: l.name, address: a.address });
    }
    return out;
  }

  private spawnMonitor(): void {
    const child = spawn('ip', ['-o', 'monitor', 'link', 'address'], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    createInterface({ input: child.stdout! }).on('line', (line) => {
      this.duringDump?.push(line);
      this.apply(line, true);
    });
    createInterface({ input: child.stderr! }).on('line', (line) => {
      // "No buffer space available": the kernel dropped events for us; only a dump is trustworthy.
      this.resync(`monitor: ${line}`).catch((e: Error) => this.emit('error', e));
    });
    child.on('error', (e) => this.emit('error', new Error(`ip monitor: ${e.message}`)));
    child.on('exit', () => {
      if (this.stopped) return;
      this.restartTimer = setTimeout(() => {
        this.spawnMonitor();
        this.resync('monitor restarted').catch((e: Error) => this.emit('error', e));
      }, 200);
    });
  }

  private apply(line: string, emit: boolean): void {
    const ev = parseMonitorLine(line);
    if (ev === null) return;
    if (ev.type === 'link') {
      const cur = this.links.get(ev.ifname);
      if (ev.deleted) {
        this.links.delete(ev.ifname);
        return;
      }
      if (cur === undefined) {
        this.resync(`new link ${ev.ifname}`).catch((e: Error) => this.emit('error', e));
        return;
      }
      const wasUp = cur.up;
      Object.assign(cur, { ifindex: ev.ifindex, mac: ev.mac ?? cur.mac, up: ev.up, carrier: ev.carrier, snapshot: null });
      if (emit && !wasUp && ev.up) for (const a of cur.addresses.values()) if (!a.tentative) this.emit('bound', { ifname: ev.ifname, address: a.address });
      return;
    }
    const link = this.links.get(ev.ifname);
    if (link === undefined) {
      this.resync(`address on unknown link ${ev.ifname}`).catch((e: Error) => this.emit('error', e));
      return;
    }
    const prev = link.addresses.get(ev.address);
    const was = prev !== undefined && !prev.tentative;
    link.snapshot = null;
    if (ev.deleted) {
      link.addresses.delete(ev.address);
      if (emit && was) this.emit('unbound', { ifname: ev.ifname, address: ev.address });
      return;
    }
    link.addresses.set(ev.address, { family: ev.family, address: ev.address, prefixlen: ev.prefixlen, tentative: ev.tentative });
    if (emit && !was && !ev.tentative && link.up) this.emit('bound', { ifname: ev.ifname, address: ev.address });
  }

  stop(): void {
    this.stopped = true;
    if (this.restartTimer !== null) clearTimeout(this.restartTimer);
    this.child?.kill();
    this.child = null;
  }
}
