import { EventEmitter } from 'node:events';
import type { LinkAddress, LinkInfo } from './interfaces.js';
import { NetlinkDumper, NetlinkListener, type ListenerOptions } from './netlink-socket.js';
import { linksFromDump } from './read-links.js';
import { AF_UNSPEC, type RtAddressEvent, type RtLinkEvent } from './rtnetlink.js';

export interface BoundEvent {
  ifname: string;
  address: string;
}

export interface WatcherStats {
  /** Address and link notifications applied (not counting dumps). */
  events: number;
  resyncs: number;
  /** Times the kernel dropped notifications for us (ENOBUFS) or one arrived unreadable. */
  overflows: number;
  /** Duration of the last full re-read, dump plus apply. */
  lastResyncMs: number | null;
}

/** A full read of the namespace's links; tests wrap one to hold a dump back on purpose. */
export type LinkDump = () => Map<string, LinkInfo> | Promise<Map<string, LinkInfo>>;

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
  /** The same without addresses (header()); rebuilt after a change of the link itself. */
  head: LinkInfo | null;
}

function watched(l: LinkInfo): WatchedLink {
  return { name: l.name, ifindex: l.ifindex, mac: l.mac, up: l.up, carrier: l.carrier, addresses: new Map(l.addresses.map((a) => [a.address, a])), snapshot: l, head: null };
}

const usable = (l: WatchedLink, a: LinkAddress | undefined): boolean => l.up && a !== undefined && !a.tentative;

/**
 * Keeps the namespace's links and addresses current from rtnetlink notifications, read straight
 * from a netlink socket. The core calls drain() right before every send slice: it reads whatever
 * the kernel has queued, synchronously, so a deletion the kernel reported is known before the next
 * frame leaves (the former `ip monitor` pipe delivered it up to ~300 ms late). While the sidecar is
 * idle, a poll on a koffi worker thread wakes the event loop to drain.
 *
 * Emits `bound` when an address becomes usable (added, DAD finished, its link came up) and
 * `unbound` when it stops being usable (deleted, link down or gone). When the kernel drops
 * notifications (ENOBUFS) it re-reads everything, inside the drain() that found out, so the caller
 * never sends on a state that may have lost a deletion. A failover binds thousands of addresses in one
 * `ip -batch`: each event stays O(1) (links keyed by ifindex and by name, holders by address).
 */
export class AddressWatcher extends EventEmitter<{ bound: [BoundEvent]; unbound: [BoundEvent]; error: [Error]; resync: [string] }> {
  private byIndex = new Map<number, WatchedLink>();
  private byName = new Map<string, WatchedLink>();
  /** address -> links that have it (bound or not): interfacesHolding() without a scan. */
  private holders = new Map<string, Set<WatchedLink>>();
  private listener: NetlinkListener | null = null;
  private dumper: NetlinkDumper | null = null;
  private stopped = false;
  private resyncing: Promise<void> | null = null;
  /** A resync was asked for while one ran; the running one may have dumped before the cause. */
  private resyncAgain: string | null = null;
  /** Notifications drained while an (asynchronous) dump runs: replayed onto it, in order. */
  private duringDump: Array<RtAddressEvent | RtLinkEvent> | null = null;
  /** Until the first dump is installed there is nothing to apply notifications to: only record them. */
  private baselined = false;
  private draining = false;
  /** Bumped by every applied notification and every re-read (see ObservedLinks.version). */
  private changes = 0;
  private readonly counters: WatcherStats = { events: 0, resyncs: 0, overflows: 0, lastResyncMs: null };
  private readonly dump: LinkDump;
  private readonly ownDumpInUse: boolean;
  private retryTimer: NodeJS.Timeout | null = null;

  /**
   * `dump` defaults to an rtnetlink dump on a socket opened in start(), in the same namespace as
   * the listener.
   */
  constructor(
    dump?: LinkDump,
    private readonly options: ListenerOptions & { pollTimeoutMs?: number } = {},
  ) {
    super();
    this.dump = dump ?? (() => this.ownDump());
    this.ownDumpInUse = dump === undefined;
  }

  async start(): Promise<void> {
    // Listener first, then the dump: an address added in between is seen by at least one of them,
    // and notifications queued while the dump ran are applied over it by the next drain.
    try {
      this.listener = NetlinkListener.open(this.options);
      this.dumper = NetlinkDumper.open();
      this.listener.watch(
        () => this.drainSafely(),
        (e) => this.emit('error', e),
        this.options.pollTimeoutMs ?? 500,
      );
      // The first dump is the baseline, not news: it emits nothing.
      await this.resync('start', false);
    } catch (e) {
      this.stop();
      throw e;
    }
  }

  private ownDump(): Map<string, LinkInfo> {
    if (this.dumper === null) throw new Error('AddressWatcher: dump before start()');
    return linksFromDump(this.dumper.dump());
  }

  /** The link as last seen; the object is not mutated afterwards (a change makes a new one). */
  link(ifname: string): LinkInfo | undefined {
    const w = this.byName.get(ifname);
    if (w === undefined) return undefined;
    w.snapshot ??= { name: w.name, ifindex: w.ifindex, mac: w.mac, up: w.up, carrier: w.carrier, addresses: [...w.addresses.values()] };
    return w.snapshot;
  }

  /**
   * The link without its address list: what a frame needs (ifindex, MAC, up). Cheap at any size,
   * unlike link(), whose address array is rebuilt after every change.
   */
  header(ifname: string): LinkInfo | undefined {
    const w = this.byName.get(ifname);
    if (w === undefined) return undefined;
    // Asked for every target of a burst: one object until the link changes (never mutated).
    w.head ??= Object.freeze({ name: w.name, ifindex: w.ifindex, mac: w.mac, up: w.up, carrier: w.carrier, addresses: Object.freeze([]) as unknown as LinkInfo['addresses'] });
    return w.head;
  }

  /** Link up, address present, DAD done. As of the last drain: call drain() first for "now". */
  isBound(ifname: string, address: string): boolean {
    const l = this.byName.get(ifname);
    return l !== undefined && usable(l, l.addresses.get(address));
  }

  /**
   * The address as the kernel holds it on that interface (tentative or not, link up or down), or
   * undefined. O(1) and allocation-free, unlike link(): the core checks it for every frame.
   */
  addressOn(ifname: string, address: string): LinkAddress | undefined {
    return this.byName.get(ifname)?.addresses.get(address);
  }

  /** Interfaces on which `address` is bound (usually one; none when it is not bound anywhere). */
  interfacesHolding(address: string): string[] {
    const set = this.holders.get(address);
    if (set === undefined) return [];
    const out: string[] = [];
    for (const l of set) if (usable(l, l.addresses.get(address))) out.push(l.name);
    return out;
  }

  /** Changes whenever an applied change could have made a bound address unbound. */
  version(): number {
    return this.changes;
  }

  stats(): WatcherStats {
    return { ...this.counters };
  }

  /**
   * Applies every notification the kernel has queued, in order, emitting bound/unbound
   * synchronously; returns how many were applied. When nothing is queued it costs one recvmmsg
   * returning EAGAIN.
   *
   * When the kernel dropped notifications (ENOBUFS), the state may still hold an address whose
   * deletion was lost, and the caller is about to send: with the watcher's own dump the full
   * re-read happens here, synchronously, before drain() returns (a test-supplied dump is
   * asynchronous and is only scheduled).
   *
   * A call from inside a bound/unbound listener returns 0 at once: the outer drain is half-way
   * through a batch, and applying newer notifications before the rest of it would reorder them.
   * The outer drain reads again after its batch, so nothing queued is left when it returns.
   */
  drain(): number {
    if (this.draining) return 0;
    this.draining = true;
    let applied = 0;
    let lostWhy: string | null = null;
    try {
      for (;;) {
        const batch = this.readQueued();
        if (batch === null) break;
        for (const m of batch.events) {
          this.duringDump?.push(m);
          if (this.baselined) this.apply(m, true);
        }
        applied += batch.events.length;
        lostWhy ??= batch.lostWhy;
      }
      if (lostWhy !== null) {
        this.counters.overflows++;
        if (this.ownDumpInUse && this.baselined && this.resyncing === null) this.resyncNow(lostWhy);
        else this.requestResync(lostWhy);
      }
    } finally {
      this.draining = false;
    }
    return applied;
  }

  /** Reads the queue; null when it was empty. `lostWhy` says why the stream can no longer be trusted. */
  private readQueued(): { events: Array<RtAddressEvent | RtLinkEvent>; lostWhy: string | null } | null {
    const listener = this.listener;
    if (listener === null || listener.closed) return null;
    const r = listener.recvAll();
    if (r.datagrams === 0 && !r.overflow) return null;
    const events: Array<RtAddressEvent | RtLinkEvent> = [];
    let lostWhy: string | null = r.overflow ? 'netlink overflow (ENOBUFS): the kernel dropped notifications' : r.truncated ? 'netlink notification truncated' : null;
    for (const m of r.messages) {
      if (m.type === 'address' || m.type === 'link') events.push(m);
      else if (m.type === 'malformed') lostWhy ??= `unreadable netlink message: ${m.reason}`;
      else if (m.type === 'overrun') lostWhy ??= 'netlink overrun';
    }
    this.counters.events += events.length;
    return { events, lostWhy };
  }

  /** Full re-read with the watcher's own (synchronous) dump, inside drain(). */
  private resyncNow(why: string): void {
    for (let attempt = 1; ; attempt++) {
      const t0 = performance.now();
      const before = this.byName;
      let fresh: Map<string, LinkInfo>;
      try {
        fresh = this.ownDump();
      } catch (e) {
        this.emit('error', e as Error);
        this.requestResync(why);
        return;
      }
      const again = this.rebuild(fresh, [], why, t0);
      this.emitDiff(before);
      if (again === null) return;
      this.counters.overflows++;
      // Still flooded: hand over to the asynchronous path rather than spin inside drain().
      if (attempt >= 3) return this.requestResync(again);
      why = again;
    }
  }

  /**
   * Installs a dump, replays the notifications drained while it was pending, then applies those
   * still queued (newer than or concurrent with it). Returns why yet another re-read is needed, if so.
   */
  private rebuild(fresh: Map<string, LinkInfo>, replay: ReadonlyArray<RtAddressEvent | RtLinkEvent>, why: string, t0: number): string | null {
    this.install(fresh);
    this.baselined = true;
    for (const m of replay) this.apply(m, false);
    let again: string | null = null;
    for (let late = this.readQueued(); late !== null; late = this.readQueued()) {
      for (const m of late.events) this.apply(m, false);
      again ??= late.lostWhy;
    }
    this.counters.resyncs++;
    this.counters.lastResyncMs = performance.now() - t0;
    this.emit('resync', why);
    return again;
  }

  /**
   * Emits the differences between the links replaced by install() and the current ones. install()
   * builds new objects, so `before` (the replaced name map) is a frozen view: no copy is needed.
   */
  private emitDiff(before: ReadonlyMap<string, WatchedLink>): void {
    for (const l of this.byName.values()) {
      if (!l.up) continue;
      const old = before.get(l.name);
      for (const a of l.addresses.values()) if (!a.tentative && (old === undefined || !usable(old, old.addresses.get(a.address)))) this.emit('bound', { ifname: l.name, address: a.address });
    }
    for (const old of before.values()) {
      if (!old.up) continue;
      const l = this.byName.get(old.name);
      for (const a of old.addresses.values()) if (!a.tentative && (l === undefined || !usable(l, l.addresses.get(a.address)))) this.emit('unbound', { ifname: old.name, address: a.address });
    }
  }

  private drainSafely(): void {
    try {
      this.drain();
    } catch (e) {
      this.emit('error', e as Error);
    }
  }

  private requestResync(why: string): void {
    if (this.stopped) return;
    if (this.resyncing !== null) {
      this.resyncAgain ??= why;
      return;
    }
    this.resync(why).catch((e: Error) => {
      this.emit('error', e);
      // A failed re-read leaves whatever made it necessary unresolved: try again shortly.
      if (this.stopped || this.retryTimer !== null) return;
      this.retryTimer = setTimeout(() => {
        this.retryTimer = null;
        this.requestResync(`retry after failed re-read (${why})`);
      }, 1000);
    });
  }

  /**
   * Full re-read; emits `bound`/`unbound` for every difference. Concurrent calls share one read.
   * Notifications drained while an asynchronous dump is pending are applied at once (readers stay
   * current) and replayed onto the dump afterwards (it may have been taken before them): applying
   * an add or a delete twice is harmless, losing one is not. Notifications still queued in the
   * socket when the dump returns are newer than or concurrent with it: drained on top of it.
   */
  resync(why: string, emit = true): Promise<void> {
    this.resyncing ??= (async () => {
      // Never run the body synchronously inside the caller: `resyncing` must be set before the body
      // drains (a drop found there asks for a resync), and a resync asked for from a listener inside
      // drain() must not install a dump under the rest of that drain's older batch.
      await Promise.resolve();
      const t0 = performance.now();
      // Apply what is already queued first, so the diff below starts from the current state.
      this.drainSafely();
      this.duringDump = [];
      try {
        const fresh = await this.dump();
        const before = this.byName;
        const replay = this.duringDump;
        this.duringDump = null;
        const again = this.rebuild(fresh, replay, why, t0);
        if (again !== null) {
          this.counters.overflows++;
          this.resyncAgain ??= again;
        }
        if (emit) this.emitDiff(before);
      } finally {
        this.duringDump = null;
        this.resyncing = null;
        const again = this.resyncAgain;
        this.resyncAgain = null;
        if (again !== null && !this.stopped) this.requestResync(again);
      }
    })();
    return this.resyncing;
  }

  private install(fresh: Map<string, LinkInfo>): void {
    this.changes++;
    this.byIndex = new Map();
    this.byName = new Map();
    this.holders = new Map();
    for (const l of fresh.values()) {
      const w = watched(l);
      this.byIndex.set(w.ifindex, w);
      this.byName.set(w.name, w);
      for (const a of w.addresses.keys()) this.hold(a, w);
    }
  }

  private hold(address: string, l: WatchedLink): void {
    let set = this.holders.get(address);
    if (set === undefined) this.holders.set(address, (set = new Set()));
    set.add(l);
  }

  private release(address: string, l: WatchedLink): void {
    const set = this.holders.get(address);
    if (set === undefined) return;
    set.delete(l);
    if (set.size === 0) this.holders.delete(address);
  }

  private apply(m: RtAddressEvent | RtLinkEvent, emit: boolean): void {
    this.changes++;
    if (m.type === 'link') this.applyLink(m, emit);
    else this.applyAddress(m, emit);
  }

  private emitAll(kind: 'bound' | 'unbound', l: WatchedLink): void {
    for (const a of l.addresses.values()) if (!a.tentative) this.emit(kind, { ifname: l.name, address: a.address });
  }

  private applyLink(ev: RtLinkEvent, emit: boolean): void {
    // AF_BRIDGE messages describe bridge ports; their RTM_DELLINK is "left the bridge".
    if (ev.family !== AF_UNSPEC) return;
    const cur = this.byIndex.get(ev.ifindex);
    if (ev.deleted) {
      if (cur === undefined) return;
      if (emit && cur.up) this.emitAll('unbound', cur);
      this.byIndex.delete(cur.ifindex);
      if (this.byName.get(cur.name) === cur) this.byName.delete(cur.name);
      for (const a of cur.addresses.keys()) this.release(a, cur);
      return;
    }
    if (cur === undefined) {
      // A new link (or one moved into the namespace) has no addresses yet: they follow as
      // RTM_NEWADDR. A name still held by another ifindex means we missed its deletion.
      const w: WatchedLink = { name: ev.ifname, ifindex: ev.ifindex, mac: ev.mac ?? '', up: ev.up, carrier: ev.carrier, addresses: new Map(), snapshot: null, head: null };
      const other = this.byName.get(ev.ifname);
      this.byIndex.set(w.ifindex, w);
      this.byName.set(w.name, w);
      if (other !== undefined && other !== w) this.requestResync(`link ${ev.ifname} has a new ifindex ${ev.ifindex}`);
      return;
    }
    const wasUp = cur.up;
    if (cur.name !== ev.ifname) {
      // Renamed: to readers, the addresses left the old name and appeared on the new one.
      if (emit && wasUp) this.emitAll('unbound', cur);
      if (this.byName.get(cur.name) === cur) this.byName.delete(cur.name);
      cur.name = ev.ifname;
      this.byName.set(cur.name, cur);
      cur.up = ev.up;
      cur.carrier = ev.carrier;
      cur.mac = ev.mac ?? cur.mac;
      cur.snapshot = null;
      cur.head = null;
      if (emit && cur.up) this.emitAll('bound', cur);
      return;
    }
    // Most RTM_NEWLINKs (statistics, MTU, carrier) change nothing we hand out.
    if (cur.up === ev.up && cur.carrier === ev.carrier && (ev.mac === null || ev.mac === cur.mac)) return;
    cur.up = ev.up;
    cur.carrier = ev.carrier;
    cur.mac = ev.mac ?? cur.mac;
    cur.snapshot = null;
    cur.head = null;
    if (emit && !wasUp && ev.up) this.emitAll('bound', cur);
    if (emit && wasUp && !ev.up) this.emitAll('unbound', cur);
  }

  private applyAddress(ev: RtAddressEvent, emit: boolean): void {
    const link = this.byIndex.get(ev.ifindex);
    if (link === undefined) {
      // A deletion on a link we do not know changes nothing we would announce; an addition might.
      if (!ev.deleted) this.requestResync(`address ${ev.address} on unknown ifindex ${ev.ifindex}`);
      return;
    }
    const prev = link.addresses.get(ev.address);
    const was = usable(link, prev);
    if (ev.deleted) {
      if (prev === undefined) return;
      link.addresses.delete(ev.address);
      link.snapshot = null;
      this.release(ev.address, link);
      if (emit && was) this.emit('unbound', { ifname: link.name, address: ev.address });
      return;
    }
    if (prev !== undefined && prev.prefixlen === ev.prefixlen && prev.tentative === ev.tentative) return;
    const next: LinkAddress = { family: ev.family, address: ev.address, prefixlen: ev.prefixlen, tentative: ev.tentative };
    link.addresses.set(ev.address, next);
    link.snapshot = null;
    if (prev === undefined) this.hold(ev.address, link);
    if (emit && !was && usable(link, next)) this.emit('bound', { ifname: link.name, address: ev.address });
    if (emit && was && !usable(link, next)) this.emit('unbound', { ifname: link.name, address: ev.address });
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    // The listener closes when its pending poll returns (woken at once through its eventfd).
    this.listener?.close();
    this.listener = null;
    this.dumper?.close();
    this.dumper = null;
  }
}
