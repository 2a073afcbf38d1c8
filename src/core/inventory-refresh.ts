import type { Clock } from './ports.js';

export interface RefreshOptions {
  /** First retry after a failed read; doubles up to `maxBackoffMs`. */
  minBackoffMs: number;
  maxBackoffMs: number;
  /** `soon()` requests within this long make one read (a storm of unknown addresses). */
  debounceMs: number;
  /** 0..1: retries spread by ± this fraction so hosts do not retry in step. */
  jitter: number;
}

export const DEFAULT_REFRESH: RefreshOptions = { minBackoffMs: 250, maxBackoffMs: 2000, debounceMs: 150, jitter: 0.2 };

export interface RefreshState {
  ok: boolean | null;
  /** Consecutive failed reads. */
  failures: number;
  reads: number;
  lastReason: string | null;
  /** Clock time of the next retry, when one is scheduled. */
  retryAt: number | null;
}

/**
 * Keeps reading the inventory until a read succeeds: whenever the last read failed, it is retried
 * with capped exponential backoff, so an outage at start or at failover heals by itself without a
 * second hook. One read at a time; a request during a read makes exactly one more afterwards.
 * `read` resolves with whatever the caller wants and reports success/failure by resolving/rejecting;
 * the caller applies the result (through the reconciler) in `onRead`.
 */
export class InventoryRefresh<T> {
  readonly state: RefreshState = { ok: null, failures: 0, reads: 0, lastReason: null, retryAt: null };
  private inFlight: Promise<void> | null = null;
  private again: string | null = null;
  private cancelRetry: (() => void) | null = null;
  private cancelDebounce: (() => void) | null = null;
  private stopped = false;

  constructor(
    private readonly read: () => Promise<T>,
    private readonly onRead: (result: T, startedAt: number, reason: string) => void,
    private readonly onFail: (err: Error, reason: string, retryInMs: number) => void,
    private readonly clock: Clock,
    private readonly opts: RefreshOptions = DEFAULT_REFRESH,
    private readonly random: () => number = Math.random,
  ) {}

  /** Reads now (after the read in flight, if any). Resolves when that read has been applied or has failed. */
  now(reason: string): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.inFlight !== null) {
      this.again ??= reason;
      return this.inFlight.then(() => this.inFlight ?? undefined);
    }
    this.cancelRetry?.();
    this.cancelRetry = null;
    this.state.retryAt = null;
    this.inFlight = this.attempt(reason).finally(() => {
      this.inFlight = null;
      const next = this.again;
      this.again = null;
      if (next !== null && !this.stopped) void this.now(next);
    });
    return this.inFlight;
  }

  /** Debounced `now`: many requests within `debounceMs` make one read. */
  soon(reason: string): void {
    if (this.stopped || this.cancelDebounce !== null) return;
    this.cancelDebounce = this.clock.after(this.opts.debounceMs, () => {
      this.cancelDebounce = null;
      void this.now(reason);
    });
  }

  stop(): void {
    this.stopped = true;
    this.cancelRetry?.();
    this.cancelDebounce?.();
  }

  private async attempt(reason: string): Promise<void> {
    const startedAt = this.clock.now();
    this.state.reads++;
    this.state.lastReason = reason;
    let result: T;
    try {
      result = await this.read();
    } catch (err) {
      this.state.ok = false;
      this.state.failures++;
      const base = Math.min(this.opts.maxBackoffMs, this.opts.minBackoffMs * 2 ** (this.state.failures - 1));
      const delay = Math.round(base * (1 - this.opts.jitter + 2 * this.opts.jitter * this.random()));
      this.onFail(err instanceof Error ? err : new Error(String(err)), reason, delay);
      if (!this.stopped) {
        this.state.retryAt = this.clock.now() + delay;
        this.cancelRetry = this.clock.after(delay, () => {
          this.cancelRetry = null;
          void this.now('retry');
        });
      }
      return;
    }
    this.state.ok = true;
    this.state.failures = 0;
    if (!this.stopped) this.onRead(result, startedAt, reason);
  }
}
