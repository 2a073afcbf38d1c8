import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { SnapshotWriter } from '../../src/inventory/snapshot-writer.js';
import { readSnapshot } from '../../src/inventory/snapshot.js';
import type { Inventory } from '../../src/targets/target.js';

const inv = (n: number): Inventory => ({ host: 'h', source: 'db', schema: 'newton', readAt: new Date().toISOString(), targets: Array.from({ length: n }, (_, i) => ({ kind: 'floating' as const, address: `203.0.113.${i + 1}`, interface: 'eth0' })), skipped: [] });

describe('SnapshotWriter', () => {
  it('settles when there is nothing to write (a request while the inventory is nova.conf only)', async () => {
    const w = new SnapshotWriter('/nonexistent-never-written', () => null, pino({ level: 'silent' }));
    w.request();
    // This hung forever (a busy microtask loop) when the writer cleared its state inside the loop.
    await expect(Promise.race([w.flushed().then(() => 'flushed'), new Promise((r) => setTimeout(() => r('hung'), 2000))])).resolves.toBe('flushed');
  });

  it('writes the latest state, once per burst of requests', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nova-garp-snapwriter-'));
    try {
      let current = inv(1);
      const w = new SnapshotWriter(dir, () => current, pino({ level: 'silent' }));
      w.request();
      current = inv(2);
      w.request();
      current = inv(3);
      w.request();
      await w.flushed();
      const snap = await readSnapshot(dir, { host: 'h' });
      expect(snap.ok && snap.inventory.targets.length).toBe(3);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
