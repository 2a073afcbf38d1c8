/**
 * Token bucket for per-interface pacing. Capacity defaults to one token: frames are evenly spaced
 * at 1/rate, so no one-second window sees more than rate+1 frames (Cisco DAI counts per second).
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    readonly ratePerSec: number,
    readonly capacity = 1,
    now = 0,
  ) {
    if (!(ratePerSec > 0)) throw new Error(`rate must be positive, got ${ratePerSec}`);
    if (!(capacity >= 1)) throw new Error(`capacity must be at least 1, got ${capacity}`);
    this.tokens = capacity;
    this.last = now;
  }

  private refill(nowMs: number): void {
    if (nowMs > this.last) {
      this.tokens = Math.min(this.capacity, this.tokens + ((nowMs - this.last) * this.ratePerSec) / 1000);
      this.last = nowMs;
    }
  }

  /** Takes up to `want` whole tokens now; returns how many were taken. */
  take(nowMs: number, want = 1): number {
    this.refill(nowMs);
    const n = Math.min(want, Math.floor(this.tokens + 1e-9));
    this.tokens -= n;
    return n;
  }

  /** Milliseconds from `nowMs` until one token is available (0 if one is). */
  waitMs(nowMs: number): number {
    this.refill(nowMs);
    return this.tokens >= 1 - 1e-9 ? 0 : ((1 - this.tokens) * 1000) / this.ratePerSec;
  }
}

/** How long `frames` frames take through a fresh bucket: the up-front budget shown to the operator. */
export function pacedDurationMs(frames: number, ratePerSec: number, capacity = 1): number {
  return frames <= capacity ? 0 : ((frames - capacity) * 1000) / ratePerSec;
}
