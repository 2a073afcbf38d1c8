import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Inventory } from '../../src/targets/target.js';
import { parseSnapshot, readSnapshot, serializeSnapshot, SnapshotError, snapshotPath, writeSnapshot } from '../../src/inventory/snapshot.js';

const inventory: Inventory = {
  host: 'net-a',
  source: 'db',
  schema: 'newton',
  readAt: '2026-01-01T00:00:00.000Z',
  targets: [
    { kind: 'routing_source', address: '192.0.2.2', interface: 'eth0' },
    { kind: 'gateway_v6', address: 'fd00::1', interface: 'br100' },
  ],
  skipped: [{ source: 'floating_ips.id=3', reason: 'bad' }],
};

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ng-snap-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('snapshot', () => {
  it('round-trips and reports its age, marked as source snapshot', async () => {
    const path = await writeSnapshot(join(dir, 'state'), inventory);
    expect(path).toBe(snapshotPath(join(dir, 'state')));
    expect(await readdir(join(dir, 'state'))).toEqual(['inventory.json']);
    const read = await readSnapshot(join(dir, 'state'), { host: 'net-a', now: new Date('2026-01-01T00:01:00Z') });
    expect(read).toEqual({ ok: true, path, inventory: { ...inventory, source: 'snapshot' }, ageMs: 60_000 });
  });

  it('replaces atomically, leaving no temp files', async () => {
    await writeSnapshot(dir, inventory);
    await writeSnapshot(dir, { ...inventory, targets: [] });
    expect(await readdir(dir)).toEqual(['inventory.json']);
    expect(parseSnapshot(await readFile(snapshotPath(dir), 'utf8')).targets).toEqual([]);
  });

  it('reports and ignores missing, truncated, edited, foreign and invalid snapshots', async () => {
    expect(await readSnapshot(dir)).toMatchObject({ ok: false, reason: 'missing' });
    const body = serializeSnapshot(inventory);
    await writeFile(snapshotPath(dir), body.slice(0, body.length / 2));
    expect(await readSnapshot(dir)).toMatchObject({ ok: false, reason: 'corrupt', message: expect.stringMatching(/not JSON/) });
    await writeFile(snapshotPath(dir), body.replace('192.0.2.2', '192.0.2.3'));
    expect(await readSnapshot(dir)).toMatchObject({ ok: false, reason: 'corrupt', message: expect.stringMatching(/checksum/) });
    await writeFile(snapshotPath(dir), body);
    expect(await readSnapshot(dir, { host: 'net-b' })).toMatchObject({ ok: false, reason: 'other-host' });
  });

  it('validates every field even when the checksum matches', () => {
    const bad = (mutate: (inv: Record<string, unknown>) => void): string => {
      const file = JSON.parse(serializeSnapshot(inventory)) as { inventory: Record<string, unknown>; sha256: string };
      mutate(file.inventory);
      return JSON.stringify(file);
    };
    expect(() => parseSnapshot(bad((i) => (i.targets = [{ kind: 'floating', address: '10.0.0.01', interface: 'eth0' }])))).toThrowError(/not a canonical IP/);
    expect(() => parseSnapshot(bad((i) => (i.targets = [{ kind: 'vip', address: '10.0.0.1', interface: 'eth0' }])))).toThrowError(/kind 'vip'/);
    expect(() => parseSnapshot(bad((i) => (i.readAt = 'yesterday')))).toThrowError(/not a time/);
    expect(() => parseSnapshot('{"format":"other"}')).toThrowError(SnapshotError);
  });
});
