import { performance } from 'node:perf_hooks';
import type { Clock } from './ports.js';

/** The process's monotonic clock and timers. */
export const realClock: Clock = {
  now: () => performance.now(),
  after(ms, fn) {
    const t = setTimeout(fn, ms);
    return () => clearTimeout(t);
  },
  turn: () => new Promise<void>((resolve) => setImmediate(resolve)),
};
