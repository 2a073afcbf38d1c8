import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseNetlink, type RtMessage } from '../../src/link/rtnetlink.js';
import { figures, quantile, round3, type Figures } from './statistics.js';

/**
 * Measuring at the router: when the upstream router's neighbour entry for an address starts to
 * point at the standby's MAC, and when the standby bound that address, both from rtnetlink
 * notifications stamped on CLOCK_MONOTONIC by a watcher process (router-watch-process.ts). The
 * difference is the announcer's own latency, free of the probe interval.
 *
 * The router never sees the VLAN gateways; the instance on each VLAN is the only neighbour that
 * resolves its gateway, so the same is measured in each instance's neighbour table for its
 * gateway (and the standby bridge's MAC), and reported apart.
 *
 * Everything here but the RouterWatch handle is pure.
 */

export type WatchKind = 'neigh' | 'addr';

export interface WatchConfig {
  sockets: Array<{ netnsPath: string; role: string; kind: WatchKind }>;
}

/** One rtnetlink notification as the watcher saw it. */
export interface WatchEvent {
  /** CLOCK_MONOTONIC ms when the watcher read it. */
  t: number;
  /** Namespace role (`router`, `standby`, `inst0`...). */
  role: string;
  kind: WatchKind;
  /** RTM_DELNEIGH / RTM_DELADDR. */
  deleted: boolean;
  address: string;
  /** Neighbours: the link-layer address ("aa:bb:..."), null when the entry has none (INCOMPLETE, FAILED). */
  lladdr: string | null;
  /** Neighbours: NUD_* bits; addresses: 0. */
  state: number;
  ifindex: number;
}

export interface WatchResult {
  type: 'result';
  /** Events from the `since` command on (sent just before t0). */
  events: WatchEvent[];
  /** Events before that (warm-up): counted, not kept. */
  before: number;
  /** ENOBUFS on a socket: notifications were lost (the figures could then miss an update). */
  overflows: number;
  malformed: number;
  stoppedAt: number;
}

const RTM_NEWNEIGH = 28;
const RTM_DELNEIGH = 29;
const NDA_DST = 1;
const NDA_LLADDR = 2;
const NDMSG_LEN = 12;

export const NUD = {
  INCOMPLETE: 0x01,
  REACHABLE: 0x02,
  STALE: 0x04,
  DELAY: 0x08,
  PROBE: 0x10,
  FAILED: 0x20,
  NOARP: 0x40,
  PERMANENT: 0x80,
} as const;

/** States in which the entry's link-layer address is what the neighbour sends to. */
const NUD_VALID = NUD.REACHABLE | NUD.STALE | NUD.DELAY | NUD.PROBE | NUD.PERMANENT | NUD.NOARP;

export function nudText(state: number): string {
  const names = Object.entries(NUD)
    .filter(([, bit]) => (state & bit) !== 0)
    .map(([n]) => n);
  return names.length === 0 ? 'NONE' : names.join('|');
}

const hex = (b: number): string => b.toString(16).padStart(2, '0');

function ipText(buf: Uint8Array, at: number, family: number): string {
  if (family === 2) return `${buf[at]}.${buf[at + 1]}.${buf[at + 2]}.${buf[at + 3]}`;
  const words: string[] = [];
  for (let i = 0; i < 16; i += 2) words.push(((buf[at + i]! << 8) | buf[at + i + 1]!).toString(16));
  // Compress the longest run of two or more zero words (RFC 5952).
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === '0') j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return words.join(':');
  return `${words.slice(0, best).join(':')}::${words.slice(best + bestLen).join(':')}`;
}

/**
 * RTM_NEWNEIGH/RTM_DELNEIGH messages of one datagram (other types are skipped). Never throws;
 * messages that cannot be decoded are counted in `malformed`.
 */
export function parseNeighbourMessages(buf: Uint8Array, role: string, t: number): { events: WatchEvent[]; malformed: number } {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const events: WatchEvent[] = [];
  let malformed = 0;
  let off = 0;
  while (off + 16 <= buf.byteLength) {
    const len = view.getUint32(off, true);
    if (len < 16 || off + len > buf.byteLength) return { events, malformed: malformed + 1 };
    const type = view.getUint16(off + 4, true);
    if (type === RTM_NEWNEIGH || type === RTM_DELNEIGH) {
      const body = off + 16;
      const end = off + len;
      if (end - body < NDMSG_LEN) malformed++;
      else {
        const family = view.getUint8(body);
        const ifindex = view.getInt32(body + 4, true);
        const state = view.getUint16(body + 8, true);
        let address: string | null = null;
        let lladdr: string | null = null;
        let a = body + NDMSG_LEN;
        while (a + 4 <= end) {
          const alen = view.getUint16(a, true);
          const atype = view.getUint16(a + 2, true) & 0x3fff;
          if (alen < 4 || a + alen > end) break;
          const size = alen - 4;
          if (atype === NDA_DST && ((family === 2 && size === 4) || (family === 10 && size === 16))) address = ipText(buf, a + 4, family);
          else if (atype === NDA_LLADDR && size > 0) lladdr = Array.from(buf.subarray(a + 4, a + alen), hex).join(':');
          a += (alen + 3) & ~3;
        }
        if (address !== null && (family === 2 || family === 10)) events.push({ t, role, kind: 'neigh', deleted: type === RTM_DELNEIGH, address, lladdr, state, ifindex });
        else if (address === null) malformed++;
      }
    }
    off += (len + 3) & ~3;
  }
  return { events, malformed };
}

/** One datagram of a watcher socket: neighbour events, or address events through the sidecar's parser. */
export function parseWatchDatagram(buf: Uint8Array, kind: WatchKind, role: string, t: number): { events: WatchEvent[]; malformed: number } {
  if (kind === 'neigh') return parseNeighbourMessages(buf, role, t);
  const msgs: RtMessage[] = [];
  parseNetlink(buf, msgs);
  const events: WatchEvent[] = [];
  let malformed = 0;
  for (const m of msgs) {
    if (m.type === 'address') events.push({ t, role, kind: 'addr', deleted: m.deleted, address: m.address, lladdr: null, state: 0, ifindex: m.ifindex });
    else if (m.type === 'malformed') malformed++;
  }
  return { events, malformed };
}

/** An address whose move is watched: at which neighbour, and the MAC it must end up pointing at. */
export interface WatchedAddress {
  address: string;
  /** `router` for the routing source IP and the floating IPs, `instN` for VLAN N's gateway(s). */
  peer: string;
  /** The standby's MAC on the interface that holds the address (pub0, or the bridge). */
  standbyMac: string;
}

export interface AddressConvergence {
  address: string;
  peer: string;
  /** Monotonic ms: the standby's first RTM_NEWADDR for it after t0; null: never bound. */
  boundAt: number | null;
  /** Monotonic ms: the peer's entry first pointed at the standby's MAC after t0; null: never. */
  convergedAt: number | null;
}

/** True when a neighbour event says the entry now sends to `mac`. */
export function pointsAt(e: WatchEvent, mac: string): boolean {
  return e.kind === 'neigh' && !e.deleted && e.lladdr !== null && e.lladdr === mac.toLowerCase() && (e.state & NUD_VALID) !== 0;
}

/** Per watched address: when the standby bound it and when its peer's entry moved to the standby. */
export function convergenceOf(events: readonly WatchEvent[], watched: readonly WatchedAddress[], t0: number): AddressConvergence[] {
  const bound = new Map<string, number>();
  const converged = new Map<string, number>();
  const want = new Map(watched.map((w) => [`${w.peer} ${w.address}`, w.standbyMac.toLowerCase()]));
  for (const e of [...events].sort((a, b) => a.t - b.t)) {
    if (e.t < t0) continue;
    if (e.kind === 'addr') {
      if (e.role === 'standby' && !e.deleted && !bound.has(e.address)) bound.set(e.address, e.t);
      continue;
    }
    const key = `${e.role} ${e.address}`;
    const mac = want.get(key);
    if (mac !== undefined && !converged.has(key) && pointsAt(e, mac)) converged.set(key, e.t);
  }
  return watched.map((w) => ({ address: w.address, peer: w.peer, boundAt: bound.get(w.address) ?? null, convergedAt: converged.get(`${w.peer} ${w.address}`) ?? null }));
}

/** median / p99 / max: the announcer's latency, where the tail is the point. */
export interface TailFigures {
  median: number;
  p99: number;
  max: number;
}

export function tailFigures(values: readonly number[]): TailFigures {
  const sorted = [...values].sort((a, b) => a - b);
  return { median: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), max: sorted.length === 0 ? Number.NaN : sorted[sorted.length - 1]! };
}

export interface ConvergenceSummary {
  /** Addresses watched at this kind of peer. */
  addresses: number;
  /** t0 → the peer's entry points at the standby (s); null when none converged. */
  convergenceS: Figures | null;
  /** The standby bound the address → the peer's entry points at the standby (ms); null when none. */
  boundToPeerMs: TailFigures | null;
  /** Watched addresses whose peer never pointed at the standby within the run. */
  unconverged: number;
  /** Those addresses (bound but not updated, or never bound), in plan order. */
  unconvergedAddresses: string[];
  /** Of the unconverged: never bound on the standby within the run. */
  neverBound: number;
}

const round1 = (x: number): number => Math.round(x * 10) / 10;

export function summarizeConvergence(conv: readonly AddressConvergence[], t0: number): ConvergenceSummary {
  const done = conv.filter((c) => c.convergedAt !== null);
  const both = done.filter((c) => c.boundAt !== null);
  const missing = conv.filter((c) => c.convergedAt === null);
  const s = figures(done.map((c) => (c.convergedAt! - t0) / 1000));
  const b = tailFigures(both.map((c) => c.convergedAt! - c.boundAt!));
  return {
    addresses: conv.length,
    convergenceS: done.length === 0 ? null : { median: round3(s.median), p95: round3(s.p95), max: round3(s.max) },
    boundToPeerMs: both.length === 0 ? null : { median: round1(b.median), p99: round1(b.p99), max: round1(b.max) },
    unconverged: missing.length,
    unconvergedAddresses: missing.map((c) => c.address),
    neverBound: missing.filter((c) => c.boundAt === null).length,
  };
}

/** The lab's handle on its watcher process. */
const ENTRY = fileURLToPath(new URL('./router-watch-process.js', import.meta.url));

export class RouterWatch {
  private out = '';
  private err = '';
  private exited = false;
  private readonly waiters: Array<(line: Record<string, unknown> | null) => void> = [];
  /** The watcher got real-time priority (SCHED_FIFO) for its reading thread. */
  realtime = false;

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    child.stdout.on('data', (d: Buffer) => {
      this.out += d.toString();
      let nl: number;
      while ((nl = this.out.indexOf('\n')) >= 0) {
        const line = JSON.parse(this.out.slice(0, nl)) as Record<string, unknown>;
        this.out = this.out.slice(nl + 1);
        this.waiters.shift()?.(line);
      }
    });
    child.stderr.on('data', (d: Buffer) => (this.err += d.toString()));
    // 'close', not 'exit': the result line may still be in the pipe when the process has exited.
    child.on('close', () => {
      this.exited = true;
      for (const w of this.waiters.splice(0)) w(null);
    });
  }

  private next(): Promise<Record<string, unknown> | null> {
    if (this.exited) return Promise.resolve(null);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  static async start(config: WatchConfig): Promise<RouterWatch> {
    const child = spawn(process.execPath, [ENTRY], { stdio: ['pipe', 'pipe', 'pipe'] });
    const w = new RouterWatch(child);
    const ready = w.next();
    child.stdin.write(JSON.stringify(config) + '\n');
    const line = await ready;
    if (line?.type !== 'ready') throw new Error(`the router watcher did not start: ${w.err.trim()}`);
    w.realtime = line.realtime === true;
    return w;
  }

  command(cmd: string): void {
    if (!this.exited) this.child.stdin.write(cmd + '\n');
  }

  async stop(): Promise<WatchResult> {
    const result = this.next();
    this.command('stop');
    const line = await result;
    if (line?.type !== 'result') throw new Error(`the router watcher exited without a result: ${this.err.trim()}`);
    return line as unknown as WatchResult;
  }

  kill(): void {
    if (!this.exited) this.child.kill('SIGKILL');
  }
}
