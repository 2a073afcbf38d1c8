import { setTimeout as sleep } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';
import { parseIp } from '../net/ip-address.js';
import { parseMac } from '../frames/mac.js';
import { readInterfaces, type LinkAddress, type LinkInfo } from '../link/interfaces.js';
import { unboundReason } from '../targets/link-check.js';
import { threadCpuMs } from '../link/thread-cpu.js';
import { InterfaceSender, type SendReport } from './interface-sender.js';
import type { FrameContext } from '../frames/frame-context.js';
import { roundFrames, type RoundAddress, type RoundFrame, type ScheduleOptions, type FrameKind } from '../schedule/schedule.js';

export interface AnnounceJob {
  ifname: string;
  addresses: readonly string[];
  schedule: ScheduleOptions;
  /** performance.now() of whatever caused this burst, for trigger-to-wire figures. */
  triggeredAt?: number;
}

export interface SkippedAddress {
  address: string;
  reason: string;
}

export interface RoundReport {
  round: number;
  addresses: number;
  frames: number;
  sent: number;
  /** From the first frame of the round handed to the kernel to its last. */
  durationMs: number;
  /** The event loop thread's CPU time over the round, when it was not paced (else null). */
  cpuMs?: number | null;
}

export interface AnnounceResult {
  interface: string;
  announced: string[];
  skipped: SkippedAddress[];
  /** Addresses that stopped being bound (or were withdrawn) before a later round. */
  dropped: Array<SkippedAddress & { round: number }>;
  frames: number;
  framesByKind: Record<FrameKind, number>;
  /** From the start of sending to the last frame of round 1 handed to the kernel. */
  firstRoundMs: number | null;
  /**
   * The main thread's CPU time over the same span (building round 1's frames and sendmmsg(2),
   * including the kernel's work on this thread): firstRoundMs less the time spent waiting for a
   * CPU, a steadier figure on a loaded machine.
   */
  firstRoundCpuMs: number | null;
  /** From the trigger to the first / last frame of round 1 (when a trigger time was given). */
  triggerToFirstFrameMs: number | null;
  triggerToFirstRoundDoneMs: number | null;
  rounds: RoundReport[];
  errors: string[];
}

export interface Announcement {
  /** Settles when round 1 has been handed to the kernel (or the job ended before it). */
  firstRound: Promise<AnnounceResult>;
  done: Promise<AnnounceResult>;
  /** Stop announcing `address` in later rounds (e.g. the floating IP was disassociated). */
  drop(address: string, reason: string): void;
  cancel(): void;
}

function emptyResult(ifname: string): AnnounceResult {
  return {
    interface: ifname,
    announced: [],
    skipped: [],
    dropped: [],
    frames: 0,
    framesByKind: { 'garp-request': 0, 'garp-reply': 0, 'directed-request': 0, na: 0 },
    firstRoundMs: null,
    firstRoundCpuMs: null,
    triggerToFirstFrameMs: null,
    triggerToFirstRoundDoneMs: null,
    rounds: [],
    errors: [],
  };
}


/** Reads one link's state; round 0 may be served from a cache, later rounds should re-read. */
export type LinkReader = (ifname: string, round: number) => Promise<LinkInfo | undefined>;

/**
 * Address → entry of one link, cached per addresses array. Readers never mutate that array (the
 * watcher replaces it on every change), so a cached index is never stale.
 */
const indexCache = new WeakMap<readonly LinkAddress[], Map<string, LinkAddress>>();
function addressIndex(link: LinkInfo | undefined): Map<string, LinkAddress> {
  if (link === undefined) return new Map();
  let idx = indexCache.get(link.addresses);
  if (idx === undefined) {
    idx = new Map(link.addresses.map((x) => [x.address, x]));
    indexCache.set(link.addresses, idx);
  }
  return idx;
}

const readLinkFresh: LinkReader = async (ifname) => (await readInterfaces(ifname)).get(ifname);

export { unboundReason };

/**
 * Runs announcement schedules. Holds one InterfaceSender (raw socket + pacing) per interface for
 * its lifetime. Safety rule: an address is put on the wire only if, when its round starts, the
 * link reader shows it bound (and not tentative) on that interface.
 */
export class Announcer {
  private readonly senders = new Map<string, InterfaceSender>();

  constructor(private readonly readLink: LinkReader = readLinkFresh) {}

  announce(job: AnnounceJob): Announcement {
    const controller = new AbortController();
    const withdrawn = new Map<string, string>();
    let firstRoundDone!: (r: AnnounceResult) => void;
    const firstRound = new Promise<AnnounceResult>((resolve) => (firstRoundDone = resolve));
    // Never rejects: whatever goes wrong in a job is reported in its result, so no caller can
    // leave a rejection unhandled or wait forever for round 1.
    const done = this.run(job, controller.signal, withdrawn, (r) => firstRoundDone(structuredClone(r)))
      .catch((err: unknown): AnnounceResult => ({ ...emptyResult(job.ifname), errors: [`announcing on ${job.ifname} failed: ${(err as Error).message ?? String(err)}`] }))
      .then((r) => {
        firstRoundDone(structuredClone(r));
        return r;
      });
    return {
      firstRound,
      done,
      drop: (address, reason) => {
        const canonical = parseIp(address)?.text ?? address;
        withdrawn.set(canonical, reason);
      },
      cancel: () => controller.abort(),
    };
  }

  private sender(link: LinkInfo, maxPps: number | null): InterfaceSender {
    const key = `${link.name}/${link.ifindex}/${maxPps ?? 'line'}`;
    let s = this.senders.get(key);
    if (s === undefined) {
      // A recreated bridge has a new ifindex: the old socket and its native slots go with it.
      for (const [k, old] of this.senders) {
        if (k.startsWith(`${link.name}/`) && !k.startsWith(`${link.name}/${link.ifindex}/`)) {
          old.close();
          this.senders.delete(k);
        }
      }
      s = new InterfaceSender(link.name, link.ifindex, maxPps);
      this.senders.set(key, s);
    }
    return s;
  }

  private async run(job: AnnounceJob, signal: AbortSignal, withdrawn: Map<string, string>, onFirstRound: (r: AnnounceResult) => void): Promise<AnnounceResult> {
    const result = emptyResult(job.ifname);
    const wanted: RoundAddress[] = [];
    const bytesOf = new Map<string, Uint8Array>();
    const seen = new Set<string>();
    for (const raw of job.addresses) {
      const ip = parseIp(raw);
      if (ip === null) {
        result.skipped.push({ address: raw, reason: 'not an IP address' });
      } else if (!seen.has(ip.text)) {
        seen.add(ip.text);
        bytesOf.set(ip.text, ip.bytes);
        wanted.push({ address: ip.text, family: ip.family });
      }
    }
    const upstream = job.schedule.upstream === null ? null : parseIp(job.schedule.upstream);
    if (job.schedule.upstream !== null && upstream?.family !== 4) {
      result.errors.push(`upstream ${job.schedule.upstream} is not an IPv4 address`);
      return result;
    }

    let active = wanted;
    let start = 0;
    for (let round = 0; round < job.schedule.roundOffsetsMs.length; round++) {
      if (round > 0) {
        const wait = start + job.schedule.roundOffsetsMs[round]! - performance.now();
        try {
          if (wait > 0) await sleep(wait, undefined, { signal });
        } catch {
          break;
        }
      }
      if (signal.aborted) break;
      let link: LinkInfo | undefined;
      try {
        link = await this.readLink(job.ifname, round);
      } catch (err) {
        result.errors.push(`reading ${job.ifname} before round ${round + 1}: ${(err as Error).message}`);
        break;
      }
      const still: RoundAddress[] = [];
      const index = addressIndex(link);
      for (const a of active) {
        const reason = withdrawn.get(a.address) ?? unboundReason(link, job.ifname, a.address, index);
        if (reason === null) still.push(a);
        else if (round === 0) result.skipped.push({ address: a.address, reason });
        else result.dropped.push({ address: a.address, reason, round: round + 1 });
      }
      active = still;
      if (active.length === 0 || link === undefined) break;

      const frames = roundFrames(active, job.schedule);
      let sender: InterfaceSender;
      try {
        sender = this.sender(link, job.schedule.maxPps);
      } catch (err) {
        result.errors.push((err as Error).message);
        break;
      }
      const ctx = { mac: parseMac(link.mac), upstream: upstream?.bytes ?? null, router: job.schedule.router };
      const cpuStart = threadCpuMs();
      const roundStart = performance.now();
      if (round === 0) start = roundStart;
      const { report, sent } = await this.sendRound(sender, frames, bytesOf, ctx, job.schedule.maxPps, withdrawn, signal);
      const cpuMs = job.schedule.maxPps === null ? threadCpuMs() - cpuStart : null;
      for (const p of sent) result.framesByKind[p.kind]++;
      result.frames += report.sent;
      result.rounds.push({ round: round + 1, addresses: active.length, frames: frames.length, sent: report.sent, durationMs: report.lastSentAt - roundStart, cpuMs });
      if (round === 0) {
        if (report.sent > 0) {
          result.firstRoundMs = report.lastSentAt - roundStart;
          result.firstRoundCpuMs = cpuMs;
          if (job.triggeredAt !== undefined) {
            result.triggerToFirstFrameMs = report.firstSentAt - job.triggeredAt;
            result.triggerToFirstRoundDoneMs = report.lastSentAt - job.triggeredAt;
          }
        }
        // An address counts as announced once its first frame went out (breadth-first order).
        const reached = new Set(sent.map((p) => p.address));
        result.announced = active.filter((a) => reached.has(a.address)).map((a) => a.address);
      }
      if (report.error !== null) {
        result.errors.push(`round ${round + 1}: ${report.error}`);
        if (report.error === 'cancelled') break;
      }
      if (round === 0) onFirstRound(result);
    }
    return result;
  }

  /**
   * A paced round can last minutes: it goes out a second's worth of frames at a time, and an
   * address withdrawn meanwhile (disassociated, unbound) is left out of the rest.
   */
  private async sendRound(
    sender: InterfaceSender,
    frames: readonly RoundFrame[],
    bytesOf: ReadonlyMap<string, Uint8Array>,
    ctx: FrameContext,
    maxPps: number | null,
    withdrawn: ReadonlyMap<string, string>,
    signal: AbortSignal,
  ): Promise<{ report: SendReport; sent: readonly RoundFrame[] }> {
    const step = maxPps === null ? frames.length : Math.max(1, maxPps);
    const total: SendReport = { sent: 0, firstSentAt: Number.NaN, lastSentAt: Number.NaN, error: null, retries: 0 };
    // Inside the timed round: no copy of the plan unless a part or a withdrawal needs one, and no
    // spread of up to 100,000 frames into push().
    const parts: (readonly RoundFrame[])[] = [];
    for (let i = 0; i < frames.length && total.error === null; i += step) {
      let part = step >= frames.length ? frames : frames.slice(i, i + step);
      if (withdrawn.size > 0) part = part.filter((p) => !withdrawn.has(p.address));
      if (part.length === 0) continue;
      const r = await sender.send(part, bytesOf, ctx, signal);
      if (Number.isNaN(total.firstSentAt)) total.firstSentAt = r.firstSentAt;
      if (r.sent > 0) total.lastSentAt = r.lastSentAt;
      total.sent += r.sent;
      total.retries += r.retries;
      total.error = r.error;
      parts.push(r.sent === part.length ? part : part.slice(0, r.sent));
    }
    return { report: total, sent: parts.length === 1 ? parts[0]! : parts.flat() };
  }

  close(): void {
    for (const s of this.senders.values()) s.close();
    this.senders.clear();
  }
}
