import { setTimeout as sleep } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';
import { FrameBatch, PacketSocket, SEND_CHUNK, isTransient } from './packet-socket.js';
import { errnoName } from '../link/libc.js';
import { TokenBucket } from '../schedule/token-bucket.js';
import { arpTemplates, writeFrames } from './frame-factory.js';
import type { FrameContext } from '../frames/frame-context.js';
import type { RoundFrame } from '../schedule/schedule.js';

/** How long a round keeps retrying a full queue (ENOBUFS/EAGAIN) before giving up on its rest. */
const TRANSIENT_RETRY_BUDGET_MS = 2000;
/**
 * Frames are built and handed to the kernel a slice at a time, so the first frame leaves after
 * building one slice, not the whole burst, and building overlaps with the kernel's work.
 */
export const SLICE = 1024;
/**
 * An unpaced burst gives the event loop a turn (timers, sockets, other interfaces' bursts) after
 * at most this long of sending. A turn costs tens of microseconds, so one after every sendmmsg(2)
 * of 256 frames added about 10% to a 10,000-address round.
 */
export const YIELD_AFTER_MS = 2;

export interface SendReport {
  sent: number;
  /** performance.now() when the first frame was handed to the kernel (NaN if none). */
  firstSentAt: number;
  /** performance.now() when the last frame was handed to the kernel (NaN if none). */
  lastSentAt: number;
  /** Why the rest of the frames were not sent, if they were not. */
  error: string | null;
  retries: number;
}

/**
 * Owns the raw socket, the native frame slots and the pacing bucket of one interface. Every
 * announcement on that interface goes through it, one round at a time (the slots are shared), so
 * concurrent bursts also share one rate limit.
 */
export class InterfaceSender {
  private readonly socket: PacketSocket;
  private readonly batch: FrameBatch;
  readonly bucket: TokenBucket | null;
  private queue: Promise<unknown> = Promise.resolve();
  /** performance.now() when this sender last gave the event loop a turn (or began a send). */
  private lastTurn = 0;

  constructor(
    readonly ifname: string,
    readonly ifindex: number,
    maxPps: number | null,
  ) {
    this.socket = PacketSocket.open(ifindex, ifname);
    this.batch = new FrameBatch(SLICE, ifindex);
    this.bucket = maxPps === null ? null : new TokenBucket(maxPps, 1, performance.now());
  }

  /** Builds and sends the frames in order; rounds on this interface run one after another. */
  send(frames: readonly RoundFrame[], bytesOf: ReadonlyMap<string, Uint8Array>, ctx: FrameContext, signal?: AbortSignal): Promise<SendReport> {
    const run = this.queue.then(() => this.sendNow(frames, bytesOf, ctx, signal));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * One slice (at most SLICE frames) at once, no pacing: the caller has judged every frame just
   * before, so nothing may sit in a queue between that judgement and the kernel.
   */
  async sendSlice(frames: readonly RoundFrame[], bytesOf: ReadonlyMap<string, Uint8Array>, ctx: FrameContext): Promise<SendReport> {
    if (frames.length > SLICE) throw new Error(`a slice holds at most ${SLICE} frames, got ${frames.length}`);
    const report: SendReport = { sent: 0, firstSentAt: Number.NaN, lastSentAt: Number.NaN, error: null, retries: 0 };
    this.lastTurn = performance.now();
    writeFrames(this.batch, frames, 0, frames.length, bytesOf, ctx, arpTemplates(ctx));
    await this.sendSlots(frames.length, report);
    return report;
  }

  private async sendNow(frames: readonly RoundFrame[], bytesOf: ReadonlyMap<string, Uint8Array>, ctx: FrameContext, signal?: AbortSignal): Promise<SendReport> {
    const total: SendReport = { sent: 0, firstSentAt: Number.NaN, lastSentAt: Number.NaN, error: null, retries: 0 };
    const templates = arpTemplates(ctx);
    this.lastTurn = performance.now();
    for (let from = 0; from < frames.length && total.error === null; from += SLICE) {
      const count = Math.min(SLICE, frames.length - from);
      if (from > 0 && this.bucket === null && performance.now() - this.lastTurn >= YIELD_AFTER_MS) await this.giveTurn();
      writeFrames(this.batch, frames, from, count, bytesOf, ctx, templates);
      await this.sendSlots(count, total, signal);
    }
    return total;
  }

  private async sendSlots(count: number, report: SendReport, signal?: AbortSignal): Promise<void> {
    let done = 0;
    let retryingSince: number | null = null;
    while (done < count) {
      if (signal?.aborted) {
        report.error = 'cancelled';
        return;
      }
      let want = Math.min(SEND_CHUNK, count - done);
      if (this.bucket !== null) {
        const wait = this.bucket.waitMs(performance.now());
        if (wait > 0) await sleep(wait);
        // Tokens taken for frames the kernel then refuses are not given back: pacing errs slow.
        want = this.bucket.take(performance.now(), want);
        if (want === 0) continue;
      }
      const outcome = this.socket.send(this.batch, done, want);
      if (outcome.sent > 0) {
        report.lastSentAt = performance.now();
        if (report.sent === 0) report.firstSentAt = report.lastSentAt;
        report.sent += outcome.sent;
        done += outcome.sent;
        retryingSince = null;
        if (done < count && this.bucket === null && report.lastSentAt - this.lastTurn >= YIELD_AFTER_MS) await this.giveTurn();
        continue;
      }
      const errno = 'errno' in outcome ? outcome.errno : 0;
      if (!isTransient(errno)) {
        report.error = `sendmmsg on ${this.ifname}: ${errnoName(errno)}`;
        return;
      }
      retryingSince ??= performance.now();
      if (performance.now() - retryingSince > TRANSIENT_RETRY_BUDGET_MS) {
        report.error = `sendmmsg on ${this.ifname}: ${errnoName(errno)} for ${TRANSIENT_RETRY_BUDGET_MS} ms, gave up`;
        return;
      }
      report.retries++;
      await sleep(1);
    }
  }

  private async giveTurn(): Promise<void> {
    await yieldToLoop();
    this.lastTurn = performance.now();
  }

  close(): void {
    this.socket.close();
    this.batch.free();
  }
}

/** setImmediate, so timers and I/O run between chunks of a large burst. */
const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
