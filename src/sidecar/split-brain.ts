import type { Logger } from 'pino';
import { ArpListener } from '../link/arp-listener.js';
import type { LinkInfo } from '../link/interfaces.js';
import { ARP_REQUEST, buildGarpRequest, parseArpFrame, writeArpFrame, ARP_FRAME_LENGTH } from '../frames/arp-frame.js';
import { BROADCAST_MAC, ZERO_MAC, parseMac } from '../frames/mac.js';
import { parseIp } from '../net/ip-address.js';
import { ConflictTable, type Conflict } from './conflicts.js';

export type OnConflict = 'defend' | 'alarm';

/** What the guard needs from the sidecar: the targets, where they live, and the observed state. */
export interface SplitBrainPorts {
  /** Every target with the interface it is placed on. */
  targets(): Iterable<{ address: string; interface: string }>;
  /** The interface a target address is placed on, or null when it is not a target. */
  placeOf(address: string): string | null;
  link(ifname: string): LinkInfo | undefined;
  /** Bound right now (the observed state brought up to date first). */
  bound(ifname: string, address: string): boolean;
  now(): number;
  /**
   * With --max-pps the announcements' rounds own the interface's ARP budget (Cisco DAI counts
   * every ARP frame): probes wait while any round is still scheduled. null without pacing.
   */
  announcing: (() => boolean) | null;
}

export interface SplitBrainOptions {
  onConflict: OnConflict;
  expireMs: number;
  /** Probes per second per interface (shares --max-pps when set). */
  probePps: number;
  /** How often the sockets are drained. */
  drainMs?: number;
}

const ZERO_IP = new Uint8Array(4);

/**
 * Split-brain detection: a passive ARP socket on every interface that holds targets; any frame
 * whose sender IP is one of our bound targets and whose sender MAC is not the interface's is a
 * conflict. After a takeover every IPv4 target is probed (RFC 5227: sender IP 0.0.0.0), paced,
 * so an old primary that still holds an address answers and shows itself. Conflicts are
 * defended (one GARP request per address per 10 s at most, never a fight) or only reported.
 */
export class SplitBrainGuard {
  readonly table: ConflictTable;
  private readonly listeners = new Map<string, ArpListener>();
  private timer: NodeJS.Timeout | null = null;
  private probing: NodeJS.Timeout | null = null;
  private readonly failed = new Set<string>();
  /** Conflicts detected since the last takeover (for the lab and the burst account). */
  lastProbe: { startedAt: number; sent: number; doneAt: number | null } | null = null;

  constructor(
    private readonly ports: SplitBrainPorts,
    private readonly options: SplitBrainOptions,
    private readonly log: Logger,
  ) {
    this.table = new ConflictTable(options.expireMs);
  }

  start(): void {
    this.sync();
    this.timer = setInterval(() => this.tick(), this.options.drainMs ?? 100);
    this.timer.unref();
  }

  /** Opens a listener on each interface with targets, closes the others. */
  sync(): void {
    const want = new Set<string>();
    for (const t of this.ports.targets()) want.add(t.interface);
    for (const [name, l] of this.listeners) {
      const link = this.ports.link(name);
      if (!want.has(name) || link === undefined || link.ifindex !== l.ifindex) {
        l.close();
        this.listeners.delete(name);
      }
    }
    for (const name of want) {
      if (this.listeners.has(name)) continue;
      const link = this.ports.link(name);
      if (link === undefined) continue;
      try {
        this.listeners.set(name, ArpListener.open(link.ifindex, name));
        this.failed.delete(name);
      } catch (err) {
        if (!this.failed.has(name)) this.log.warn({ interface: name, err: (err as Error).message }, 'cannot listen for ARP: split brain goes undetected on this interface');
        this.failed.add(name);
      }
    }
  }

  private ticks = 0;
  tick(): void {
    // Targets move between interfaces rarely: re-check the listeners once a second.
    if (++this.ticks % 10 === 0) this.sync();
    for (const [name, l] of this.listeners) {
      try {
        l.drain((frame, outgoing) => {
          if (!outgoing) this.inspect(name, frame);
        });
      } catch (err) {
        this.log.warn({ interface: name, err: (err as Error).message }, 'ARP listener failed; reopening');
        l.close();
        this.listeners.delete(name);
      }
    }
    for (const c of this.table.expire(this.ports.now())) this.log.info({ ...c }, 'address conflict cleared (not seen again)');
  }

  private inspect(ifname: string, frame: Uint8Array): void {
    const p = parseArpFrame(frame);
    if (p === null || p.senderIp === '0.0.0.0') return;
    if (this.ports.placeOf(p.senderIp) !== ifname) return;
    const link = this.ports.link(ifname);
    if (link === undefined || p.senderMac === link.mac) return;
    // Only an address we hold now is ours to claim.
    if (!this.ports.bound(ifname, p.senderIp)) return;
    const now = this.ports.now();
    const { conflict, fresh } = this.table.seen(p.senderIp, ifname, p.senderMac, now);
    if (fresh) this.log.warn({ ...conflict, op: p.op === ARP_REQUEST ? 'request' : 'reply', onConflict: this.options.onConflict }, 'address conflict: another MAC claims an address bound here (split brain?)');
    if (this.options.onConflict === 'defend' && this.table.mayDefend(p.senderIp, now)) this.defend(ifname, p.senderIp);
  }

  /** One GARP request (RFC 5227 defence), only while the address is bound here. */
  private defend(ifname: string, address: string): void {
    const l = this.listeners.get(ifname);
    const link = this.ports.link(ifname);
    const ip = parseIp(address);
    if (l === undefined || link === undefined || ip?.family !== 4 || !this.ports.bound(ifname, address)) return;
    const err = l.send(buildGarpRequest(parseMac(link.mac), ip.bytes));
    if (err !== null) this.log.warn({ interface: ifname, address, err }, 'defending announcement failed');
    else this.log.info({ interface: ifname, address }, 'address defended (one announcement; next no sooner than 10 s)');
  }

  /** RFC 5227 probes for every bound IPv4 target, paced, in the background. */
  probeAll(): void {
    if (this.probing !== null) clearInterval(this.probing);
    this.sync();
    const queue: Array<{ address: string; interface: string; ip: Uint8Array }> = [];
    for (const t of this.ports.targets()) {
      const ip = parseIp(t.address);
      if (ip?.family === 4 && this.listeners.has(t.interface)) queue.push({ address: t.address, interface: t.interface, ip: ip.bytes });
    }
    const probe = { startedAt: this.ports.now(), sent: 0, doneAt: null as number | null };
    this.lastProbe = probe;
    const stepMs = 20;
    const perStep = Math.max(1, Math.floor((this.options.probePps * stepMs) / 1000));
    const frame = new Uint8Array(ARP_FRAME_LENGTH);
    let i = 0;
    const step = (): void => {
      if (this.ports.announcing?.() === true) return;
      // perStep per interface would need a queue per interface; one shared budget is stricter.
      for (let n = 0; n < perStep && i < queue.length; i++) {
        const q = queue[i]!;
        const l = this.listeners.get(q.interface);
        const link = this.ports.link(q.interface);
        if (l === undefined || link === undefined) continue;
        const mac = parseMac(link.mac);
        writeArpFrame(frame, 0, { ethDst: BROADCAST_MAC, ethSrc: mac, op: ARP_REQUEST, senderMac: mac, senderIp: ZERO_IP, targetMac: ZERO_MAC, targetIp: q.ip });
        if (l.send(frame) === null) probe.sent++;
        n++;
      }
      if (i >= queue.length) {
        probe.doneAt = this.ports.now();
        if (this.probing !== null) clearInterval(this.probing);
        this.probing = null;
        this.log.info({ probes: probe.sent, ms: Math.round(probe.doneAt - probe.startedAt), conflicts: this.table.size }, 'conflict probes sent');
      }
    };
    this.probing = setInterval(step, stepMs);
    this.probing.unref();
    step();
  }

  /** One ARP frame on the interface's listener socket (verification's directed requests). */
  sendFrame(ifname: string, frame: Uint8Array): string | null {
    if (!this.listeners.has(ifname)) this.sync();
    return this.listeners.get(ifname)?.send(frame) ?? `no ARP socket on ${ifname}`;
  }

  list(): Conflict[] {
    return this.table.list();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    if (this.probing !== null) clearInterval(this.probing);
    this.timer = this.probing = null;
    for (const l of this.listeners.values()) l.close();
    this.listeners.clear();
  }
}
