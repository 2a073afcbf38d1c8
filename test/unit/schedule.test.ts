import { describe, expect, it } from 'vitest';
import { framesPerRound, roundFrames, roundOffsets, scheduleWarnings, DEFAULT_SCHEDULE } from '../../src/schedule/schedule.js';
import { TokenBucket, pacedDurationMs } from '../../src/schedule/token-bucket.js';

const addrs = [
  { address: '10.0.0.1', family: 4 as const },
  { address: '2001:db8::1', family: 6 as const },
  { address: '10.0.0.2', family: 4 as const },
];

describe('round offsets', () => {
  it('defaults to now, +1.1 s, +3 s', () => {
    expect(roundOffsets(3)).toEqual([0, 1100, 3000]);
    expect(roundOffsets(1)).toEqual([0]);
  });
  it('backs off past the defaults and spaces evenly with an interval', () => {
    expect(roundOffsets(5)).toEqual([0, 1100, 3000, 6800, 14400]);
    expect(roundOffsets(3, 250)).toEqual([0, 250, 500]);
    const many = roundOffsets(100);
    expect(Math.max(...many.slice(1).map((o, i) => o - many[i]!))).toBe(60_000);
  });
  it('rejects nonsense', () => {
    expect(() => roundOffsets(0)).toThrow();
  });
  it('warns when no repeat lands beyond the locktime', () => {
    expect(scheduleWarnings(DEFAULT_SCHEDULE)).toEqual([]);
    expect(scheduleWarnings({ ...DEFAULT_SCHEDULE, roundOffsetsMs: [0, 500, 1000] }).join()).toMatch(/locktime/);
    expect(scheduleWarnings({ ...DEFAULT_SCHEDULE, roundOffsetsMs: [0] }).join()).toMatch(/locktime/);
  });
});

describe('frame order', () => {
  it('is breadth-first: every address gets its first frame before any gets its second', () => {
    const frames = roundFrames(addrs, { form: 'both', upstream: '10.0.0.254' });
    expect(frames.map((f) => `${f.kind} ${f.address}`)).toEqual([
      'garp-request 10.0.0.1',
      'na 2001:db8::1',
      'garp-request 10.0.0.2',
      'garp-reply 10.0.0.1',
      'garp-reply 10.0.0.2',
      'directed-request 10.0.0.1',
      'directed-request 10.0.0.2',
    ]);
    expect(framesPerRound(2, 1, { form: 'both', upstream: '10.0.0.254' })).toBe(frames.length);
  });
  it('sends one form when asked', () => {
    expect(roundFrames(addrs, { form: 'reply', upstream: null }).map((f) => f.kind)).toEqual(['garp-reply', 'na', 'garp-reply']);
    expect(framesPerRound(2, 1, { form: 'request', upstream: null })).toBe(3);
  });
});

describe('token bucket', () => {
  it('spaces frames at 1/rate with a one-token bucket', () => {
    const b = new TokenBucket(10, 1, 0);
    expect(b.take(0, 5)).toBe(1);
    expect(b.take(50, 5)).toBe(0);
    expect(b.waitMs(50)).toBeCloseTo(50);
    expect(b.take(100, 5)).toBe(1);
    expect(b.take(1100, 50)).toBe(1);
  });
  it('never lets more than rate+1 frames into any one-second window', () => {
    const rate = 15;
    const b = new TokenBucket(rate, 1, 0);
    const times: number[] = [];
    for (let t = 0; t <= 5000; t += 1) for (let n = b.take(t, 100); n > 0; n--) times.push(t);
    for (const start of times) expect(times.filter((x) => x >= start && x < start + 1000).length).toBeLessThanOrEqual(rate + 1);
    expect(times.length).toBeGreaterThanOrEqual(5 * rate);
  });
  it('gives the up-front budget', () => {
    expect(pacedDurationMs(1, 14)).toBe(0);
    expect(pacedDurationMs(15, 14)).toBeCloseTo(1000);
    expect(pacedDurationMs(200, 100, 100)).toBe(1000);
  });
});
