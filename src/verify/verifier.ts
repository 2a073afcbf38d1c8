import type { Logger } from 'pino';
import { run } from '../shell.js';
import { buildDirectedRequest, directedRequestFields, writeArpFrame, ARP_FRAME_LENGTH } from '../frames/arp-frame.js';
import { parseMac } from '../frames/mac.js';
import type { LinkInfo } from '../link/interfaces.js';
import { parseIp } from '../net/ip-address.js';
import { EchoSocket } from './echo-socket.js';

/**
 * Closed loop after a takeover: does the upstream router's entry for each announced IPv4 address
 * point here? An ICMP echo to the router with the address as source answers it: the reply comes
 * back only when the router sends frames for the address to this host's MAC. Addresses not
 * verified within a short bound get a directed ARP request from the address to the router
 * (broadcast, then unicast to its MAC, as `arping -b -s` did), which routers that drop gratuitous
 * ARP still learn from; then they are checked again until the deadline.
 */

export interface VerifyPorts {
  /** Every target with the interface it is placed on. */
  targets(): Iterable<{ address: string; interface: string }>;
  /** Brings the observed state up to date (the kernel's queued address events). */
  drain(): void;
  /** Bound in the observed state (call drain() first, once per paced step). */
  bound(ifname: string, address: string): boolean;
  link(ifname: string): LinkInfo | undefined;
  /** Sends one ARP frame on the interface (the split-brain guard's socket); null or the error. */
  sendArp(ifname: string, frame: Uint8Array): string | null;
  now(): number;
  /** With --max-pps: true while announcement rounds are scheduled; ARP escalation waits for them. null without pacing. */
  announcing: (() => boolean) | null;
}

export interface VerifyOptions {
  /** --upstream: the router to check through; otherwise the default route's gateway per interface. */
  upstream: string | null;
  /** Echoes and escalation frames per second (shares --max-pps when set). */
  pps: number;
  /** Unverified this long after the start: escalate. */
  escalateAfterMs: number;
  /** The whole check ends this long after the start. */
  deadlineMs: number;
}

export const DEFAULT_VERIFY: Omit<VerifyOptions, 'upstream' | 'pps'> = { escalateAfterMs: 500, deadlineMs: 4000 };

export interface VerificationReport {
  trigger: string;
  startedAt: string;
  addresses: number;
  verified: number;
  escalated: number;
  unverified: number;
  unverifiedAddresses: Array<{ address: string; interface: string; reason: string }>;
  /** From the trigger until every address was verified; null while some are not. */
  msUntilAllVerified: number | null;
  durationMs: number;
}

interface Entry {
  address: string;
  bytes: Uint8Array;
  iface: string;
  router: string | null;
  reason: string | null;
  verifiedAt: number | null;
  escalated: boolean;
  /** At least one echo went out for it. */
  checked: boolean;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The gateway of the default route leaving through `ifname`, from the routing table. */
export async function defaultGateway(ifname: string): Promise<string | null> {
  try {
    const routes = JSON.parse(await run(['ip', '-4', '-j', 'route', 'show', 'default', 'dev', ifname], { timeoutMs: 2000 })) as Array<{ gateway?: string }>;
    return routes.find((r) => typeof r.gateway === 'string')?.gateway ?? null;
  } catch {
    return null;
  }
}

async function neighbourMac(router: string, ifname: string): Promise<string | null> {
  try {
    const n = JSON.parse(await run(['ip', '-4', '-j', 'neigh', 'show', router, 'dev', ifname], { timeoutMs: 2000 })) as Array<{ lladdr?: string }>;
    return n[0]?.lladdr ?? null;
  } catch {
    return null;
  }
}

let nextId = (process.pid * 7919) & 0xffff;

export class Verifier {
  last: VerificationReport | null = null;
  /** End of the verification in progress (clock ms). */
  private deadline = 0;
  private running: Promise<VerificationReport> | null = null;

  constructor(
    private readonly ports: VerifyPorts,
    private options: VerifyOptions,
    private readonly log: Logger,
  ) {}

  reconfigure(options: VerifyOptions): void {
    this.options = options;
  }

  /** One verification; a second request while one runs waits for it and starts afresh. */
  async verify(trigger: string, triggeredAt: number): Promise<VerificationReport> {
    while (this.running !== null) await this.running.catch(() => undefined);
    const p = this.runOnce(trigger, triggeredAt);
    this.running = p;
    try {
      return await p;
    } finally {
      this.running = null;
    }
  }

  private async runOnce(trigger: string, triggeredAt: number): Promise<VerificationReport> {
    const { ports, options } = this;
    const started = ports.now();
    this.deadline = started + options.deadlineMs;
    const startedAt = new Date().toISOString();
    const entries: Entry[] = [];
    const routers = new Map<string, string | null>();
    ports.drain();
    for (const t of ports.targets()) {
      const ip = parseIp(t.address);
      if (ip?.family !== 4 || !ports.bound(t.interface, t.address)) continue;
      if (!routers.has(t.interface)) routers.set(t.interface, options.upstream ?? (await defaultGateway(t.interface)));
      const router = routers.get(t.interface) ?? null;
      entries.push({ address: t.address, bytes: ip.bytes, iface: t.interface, router, reason: router === null ? `no upstream router known for ${t.interface} (no --upstream, no default route)` : null, verifiedAt: null, escalated: false, checked: false });
    }
    const byAddress = new Map(entries.map((e) => [e.address, e]));
    const id = (nextId = (nextId + 1) & 0xffff);
    let seq = 0;
    let sock: EchoSocket | null = null;
    try {
      sock = EchoSocket.open();
    } catch (err) {
      for (const e of entries) e.reason ??= `cannot send ICMP: ${(err as Error).message}`;
    }
    const open = (): Entry[] => entries.filter((e) => e.verifiedAt === null && e.reason === null);
    const drain = (): void =>
      sock?.drain((r) => {
        if (r.id !== id) return;
        const e = byAddress.get(r.to);
        if (e !== undefined && e.router === r.from && e.verifiedAt === null) e.verifiedAt = ports.now();
      });
    const poll = setInterval(drain, 5);
    const perTick = Math.max(1, Math.floor(options.pps / 100));
    /** Paced: perTick per 10 ms, shared by echoes and escalation frames. */
    const paced = async (items: Entry[], fn: (e: Entry) => void): Promise<void> => {
      for (let i = 0; i < items.length; i += perTick) {
        // Bounded in time: past the deadline the rest stays unchecked (and is reported so).
        if (ports.now() >= this.deadline) return;
        // The observed state is brought up to date before each step, as before each send slice.
        ports.drain();
        for (const e of items.slice(i, i + perTick)) fn(e);
        if (i + perTick < items.length) await sleep(10);
      }
    };
    const echo = (e: Entry): void => {
      // Never a frame for an address that is not ours right now.
      if (sock === null || !ports.bound(e.iface, e.address)) return;
      e.checked = true;
      const err = sock.send(e.bytes, parseIp(e.router!)!.bytes, id, seq++ & 0xffff);
      if (err !== null) e.reason = `echo not sent: ${err}`;
    };
    const until = (ms: number): number => started + ms;
    try {
      await paced(open(), echo);
      let nextEcho = ports.now() + 200;
      let escalated = false;
      while (open().length > 0 && ports.now() < until(options.deadlineMs)) {
        await sleep(10);
        drain();
        if (!escalated && ports.now() >= until(options.escalateAfterMs)) {
          escalated = true;
          await this.escalate(open());
          nextEcho = ports.now() + 30;
        }
        if (ports.now() >= nextEcho) {
          await paced(open(), echo);
          nextEcho = ports.now() + 250;
        }
      }
      drain();
    } finally {
      clearInterval(poll);
      sock?.close();
    }
    for (const e of entries) if (e.verifiedAt === null && e.reason === null && !e.checked) e.reason = `not checked within the ${options.deadlineMs} ms bound (paced at ${options.pps}/s)`;
    for (const e of entries) if (e.verifiedAt === null && e.reason === null) e.reason = e.escalated ? 'no echo reply through the router, also after a directed ARP request' : 'no echo reply through the router';
    const unverified = entries.filter((e) => e.verifiedAt === null);
    const report: VerificationReport = {
      trigger,
      startedAt,
      addresses: entries.length,
      verified: entries.length - unverified.length,
      escalated: entries.filter((e) => e.escalated).length,
      unverified: unverified.length,
      unverifiedAddresses: unverified.slice(0, 1000).map((e) => ({ address: e.address, interface: e.iface, reason: e.reason! })),
      msUntilAllVerified: unverified.length > 0 ? null : Math.round(Math.max(started, ...entries.map((e) => e.verifiedAt!)) - triggeredAt),
      durationMs: Math.round(ports.now() - started),
    };
    this.last = report;
    return report;
  }

  /** Directed ARP requests from each address to its router: broadcast, then unicast to the router's MAC. */
  private async escalate(list: Entry[]): Promise<void> {
    const { ports } = this;
    const perTick = Math.max(1, Math.floor(this.options.pps / 100));
    const routerMacs = new Map<string, string | null>();
    const frame = new Uint8Array(ARP_FRAME_LENGTH);
    let sent = 0;
    // Paced interfaces (--max-pps, DAI): the rounds own the ARP budget; escalate once they are done.
    while (ports.announcing?.() === true && ports.now() < this.deadline) await sleep(50);
    for (const unicast of [false, true]) {
      ports.drain();
      for (const e of list) {
        if (ports.now() >= this.deadline) break;
        const link = ports.link(e.iface);
        if (link === undefined || e.router === null || !ports.bound(e.iface, e.address)) continue;
        const mac = parseMac(link.mac);
        const router = parseIp(e.router)!.bytes;
        if (!unicast) {
          e.escalated = true;
          ports.sendArp(e.iface, buildDirectedRequest(mac, e.bytes, router));
        } else {
          const key = `${e.iface}|${e.router}`;
          if (!routerMacs.has(key)) {
            routerMacs.set(key, await neighbourMac(e.router, e.iface));
            ports.drain();
          }
          const rmac = routerMacs.get(key);
          if (rmac === null || rmac === undefined) continue;
          writeArpFrame(frame, 0, { ...directedRequestFields(mac, e.bytes, router), ethDst: parseMac(rmac) });
          // Re-checked after the await above: the address may have gone meanwhile.
          if (ports.bound(e.iface, e.address)) ports.sendArp(e.iface, frame);
        }
        if (++sent % perTick === 0) {
          await sleep(10);
          while (ports.announcing?.() === true && ports.now() < this.deadline) await sleep(50);
          ports.drain();
        }
      }
    }
    this.log.info({ addresses: list.length }, 'verification: directed ARP requests to the router for addresses not verified yet');
  }
}
