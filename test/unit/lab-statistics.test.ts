import { describe, expect, it } from 'vitest';
import { figures, quantile } from '../../tools/lab/statistics.js';
import { gapThresholdMs, outageOf, type ProbeRecord } from '../../tools/lab/outage.js';

const rec = (over: Partial<ProbeRecord>): ProbeRecord => ({ address: '172.20.1.1', from: 'laptop', sent: 100, received: 90, firstReply: 0, lastReply: 5000, gaps: [], ...over });

describe('lab statistics', () => {
  it('interpolates quantiles between closest ranks', () => {
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantile([10], 0.95)).toBe(10);
    expect(quantile([0, 10], 0.95)).toBeCloseTo(9.5);
    expect(figures([3, 1, 2])).toEqual({ median: 2, p95: 2.9, max: 3 });
    expect(Number.isNaN(figures([]).max)).toBe(true);
  });
});

describe('disconnection per address', () => {
  const t0 = 1000;
  it('is the recorded gap that spans t0: last reply before to first reply after', () => {
    const o = outageOf(rec({ gaps: [[200, 260], [990, 3050], [4000, 4100]] }), t0, 9000, 30);
    expect(o).toMatchObject({ disconnectionMs: 2060, capped: false, lastBefore: 990, firstAfter: 3050 });
  });

  it('counts an address that never answered again as capped, from its last reply to the end', () => {
    const o = outageOf(rec({ lastReply: 995, gaps: [] }), t0, 76_000, 30);
    expect(o).toMatchObject({ disconnectionMs: 75_005, capped: true, lastBefore: 995, firstAfter: null });
  });

  it('bounds an outage shorter than the gap threshold by the threshold', () => {
    expect(outageOf(rec({ lastReply: 8990, gaps: [] }), t0, 9000, 30)).toMatchObject({ disconnectionMs: 30, capped: false });
  });

  it('after a graceful stop, takes the first gap after t0: the outage begins when the primary lets go', () => {
    const o = outageOf(rec({ lastReply: 8990, gaps: [[200, 260], [1300, 1350], [4000, 4100]] }), t0, 9000, 30);
    expect(o).toMatchObject({ disconnectionMs: 50, capped: false, lastBefore: 1300, firstAfter: 1350 });
    // Dark from some time after t0 to the end of the run: a lower bound, capped.
    expect(outageOf(rec({ lastReply: 1300, gaps: [] }), t0, 9000, 30)).toMatchObject({ disconnectionMs: 7700, capped: true, lastBefore: 1300 });
  });

  it('records gaps a little over one probe interval', () => {
    expect(gapThresholdMs(20)).toBe(30);
    expect(gapThresholdMs(40)).toBe(60);
  });
});
