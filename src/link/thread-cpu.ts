import { libc } from './libc.js';

const CLOCK_THREAD_CPUTIME_ID = 3;

/**
 * CPU time of the calling thread in ms, from clock_gettime(CLOCK_THREAD_CPUTIME_ID): exact to the
 * nanosecond, where process.threadCpuUsage() (getrusage) is scaled from scheduler ticks and can
 * be milliseconds off over a span of tens of milliseconds. NaN if the clock cannot be read.
 */
export function threadCpuMs(): number {
  const tp = new BigInt64Array(2); // struct timespec { tv_sec; tv_nsec } on 64-bit Linux
  if ((libc.clock_gettime(CLOCK_THREAD_CPUTIME_ID, tp) as number) !== 0) return Number.NaN;
  return Number(tp[0]!) * 1000 + Number(tp[1]!) / 1e6;
}
