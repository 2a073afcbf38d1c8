import { setTimeout as sleep } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';
import { FrameBatch, PacketSocket, SEND_CHUNK, errnoName, isTransient } from '../link/packet-socket.js';
import { TokenBucket } from './token-bucket.js';
import type { FrameRun } from './frame-factory.js';

/** How long a round keeps retrying a full queue (ENOBUFS/EAGAIN) before giving up on its rest. */
const TRANSIENT_RETRY_BUDGET_MS = 2000;

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
 * Owns the raw socket and the pacing bucket of one interface. Every announcement on that
 * interface goes through it, so concurrent bursts share one rate limit.
 */
export class InterfaceSender {
  private readonly socket: PacketSocket;
  readonly bucket: TokenBucket | null;

  constructor(
    readonly ifname: string,
    readonly ifindex: number,
    maxPps: number | null,
  ) {
    this.socket = PacketSocket.open(ifindex, ifname);
    this.bucket = maxPps === null ? null : new TokenBucket(maxPps, 1, performance.now());
  }

  async send(frames: FrameRun, signal?: AbortSignal): Promise<SendReport> {
    const batch = new FrameBatch(frames.bytes, frames.lengths, this.ifindex);
    try {
      return await this.sendBatch(batch, signal);
    } finally {
      batch.free();
    }
  }

  private async sendBatch(batch: FrameBatch, signal?: AbortSignal): Promise<SendReport> {
    const report: SendReport = { sent: 0, firstSentAt: Number.NaN, lastSentAt: Number.NaN, error: null, retries: 0 };
    let retryingSince: number | null = null;
    while (report.sent < batch.count) {
      if (signal?.aborted) {
        report.error = 'cancelled';
        break;
      }
      let want = Math.min(SEND_CHUNK, batch.count - report.sent);
      if (this.bucket !== null) {
        const wait = this.bucket.waitMs(performance.now());
        if (wait > 0) await sleep(wait);
        want = this.bucket.take(performance.now(), want);
        if (want === 0) continue;
      }
      const outcome = this.socket.send(batch, report.sent, want);
      if (outcome.sent > 0) {
        report.lastSentAt = performance.now();
        if (report.sent === 0) report.firstSentAt = report.lastSentAt;
        report.sent += outcome.sent;
        retryingSince = null;
        // Tokens taken for frames the kernel did not accept are not given back: pacing errs slow.
        if (report.sent < batch.count && this.bucket === null) await yieldToLoop();
        continue;
      }
      const errno = 'errno' in outcome ? outcome.errno : 0;
      if (!isTransient(errno)) {
        report.error = `sendmmsg on ${this.ifname}: ${errnoName(errno)}`;
        break;
      }
      retryingSince ??= performance.now();
      if (performance.now() - retryingSince > TRANSIENT_RETRY_BUDGET_MS) {
        report.error = `sendmmsg on ${this.ifname}: ${errnoName(errno)} for ${TRANSIENT_RETRY_BUDGET_MS} ms, gave up`;
        break;
      }
      report.retries++;
      await sleep(1);
    }
    return report;
  }

  close(): void {
    this.socket.close();
  }
}

/** setImmediate, so timers and I/O run between chunks of a large burst. */
const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
