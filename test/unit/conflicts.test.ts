import { describe, expect, it } from 'vitest';
import { ConflictTable, DEFEND_INTERVAL_MS } from '../../src/sidecar/conflicts.js';

describe('ConflictTable', () => {
  it('keeps one entry per address, interface and MAC, counting sightings', () => {
    const t = new ConflictTable(60_000, () => new Date(0));
    expect(t.seen('10.0.0.1', 'eth0', '02:00:00:00:00:01', 0).fresh).toBe(true);
    expect(t.seen('10.0.0.1', 'eth0', '02:00:00:00:00:01', 10).fresh).toBe(false);
    expect(t.seen('10.0.0.1', 'eth0', '02:00:00:00:00:02', 20).fresh).toBe(true);
    expect(t.list().map((c) => [c.mac, c.count])).toEqual([
      ['02:00:00:00:00:01', 2],
      ['02:00:00:00:00:02', 1],
    ]);
  });

  it('clears an entry not seen for the expiry, and only then', () => {
    const t = new ConflictTable(1000);
    t.seen('10.0.0.1', 'eth0', '02:00:00:00:00:01', 0);
    t.seen('10.0.0.1', 'eth0', '02:00:00:00:00:01', 800);
    expect(t.expire(1500)).toEqual([]);
    expect(t.expire(1800).map((c) => c.address)).toEqual(['10.0.0.1']);
    expect(t.size).toBe(0);
  });

  it('allows one defence per address per 10 s', () => {
    const t = new ConflictTable();
    expect(t.mayDefend('10.0.0.1', 0)).toBe(true);
    expect(t.mayDefend('10.0.0.1', DEFEND_INTERVAL_MS - 1)).toBe(false);
    expect(t.mayDefend('10.0.0.2', 5)).toBe(true);
    expect(t.mayDefend('10.0.0.1', DEFEND_INTERVAL_MS)).toBe(true);
  });
});
