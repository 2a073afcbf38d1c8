import type { Capture } from '../../tools/capture/tcpdump.js';
import type { CapturedFrame } from '../../tools/capture/pcap.js';

export interface WaitOptions {
  /** What is awaited, for the failure message ("router entry of 10.77.0.5 moved"). */
  what: string;
  timeoutMs?: number;
  /** Poll period. Conditions are cheap reads (a log array, a file, a neighbour entry). */
  everyMs?: number;
}

type Truthy<T> = Exclude<T, false | null | undefined>;

/**
 * Tests wait on the thing itself, never on a fixed sleep: polls `condition` until it returns a
 * value that is not false, null or undefined, and returns that value. A condition that throws
 * counts as not yet (the last error is in the failure message); past `timeoutMs` it fails with
 * what was awaited, how long, and the last value or error seen.
 */
export async function waitFor<T>(condition: () => T | Promise<T>, { what, timeoutMs = 10_000, everyMs = 20 }: WaitOptions): Promise<Truthy<T>> {
  const start = performance.now();
  let last: string = 'never evaluated';
  for (;;) {
    try {
      const v = await condition();
      if (v !== false && v !== null && v !== undefined) return v as Truthy<T>;
      last = `last value ${JSON.stringify(v)}`;
    } catch (err) {
      last = `last error: ${(err as Error).message}`;
    }
    const elapsed = performance.now() - start;
    if (elapsed > timeoutMs) throw new Error(`waitFor: ${what}: not within ${timeoutMs} ms (${last})`);
    await new Promise((r) => setTimeout(r, Math.min(everyMs, Math.max(1, timeoutMs - elapsed))));
  }
}

/**
 * Waits until a running capture holds frames satisfying `enough` (tcpdump -U writes each frame as
 * it comes), and returns the frames so far. The capture keeps running; stop it afterwards.
 */
export function waitForFrames(cap: Capture, enough: (frames: CapturedFrame[]) => boolean, opts: WaitOptions): Promise<CapturedFrame[]> {
  return waitFor(async () => {
    const frames = await cap.framesSoFar();
    return enough(frames) ? frames : null;
  }, opts);
}

type LogLine = Record<string, unknown>;

/**
 * The first log line matching `pred` among those logged from index `since` on. Take
 * `since = serve.logs.length` before the action, so a line an earlier test caused never answers
 * for this one (tests stay independent of their order).
 */
export function waitForLogSince(source: { logs: readonly LogLine[] }, since: number, pred: (l: LogLine) => boolean, opts: WaitOptions): Promise<LogLine> {
  return waitFor(() => source.logs.slice(since).find(pred), { timeoutMs: 15_000, ...opts }).catch((err: Error) => {
    const tail = source.logs.slice(Math.max(since, source.logs.length - 40)).map((l) => JSON.stringify(l));
    throw new Error(`${err.message}; log lines since the mark (last 40):\n${tail.join('\n')}`);
  });
}
