import koffi from 'koffi';

const CLOCK_THREAD_CPUTIME_ID = 3;
const libc = koffi.load('libc.so.6');
const clockGettime = libc.func('int clock_gettime(int clk, _Out_ int64_t *tp)');

/**
 * CPU time of the calling thread in ms, from clock_gettime(CLOCK_THREAD_CPUTIME_ID): exact to the
 * nanosecond, where process.threadCpuUsage() (getrusage) is scaled from scheduler ticks and can
 * be milliseconds off over a span of tens of milliseconds. NaN if the clock cannot be read.
 */
export function threadCpuMs(): number {
  const tp = new BigInt64Array(2); // struct timespec { tv_sec; tv_nsec } on 64-bit Linux
  if ((clockGettime(CLOCK_THREAD_CPUTIME_ID, tp) as number) !== 0) return Number.NaN;
  return Number(tp[0]!) * 1000 + Number(tp[1]!) / 1e6;
}
