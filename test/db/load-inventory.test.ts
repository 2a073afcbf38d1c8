import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { migrateToShape } from '../../migrations/index.js';
import { loadInventory } from '../../src/inventory/load-inventory.js';
import { openNovaDb } from '../../src/nova/db-connection.js';
import { parseDatabaseUrl } from '../../src/nova/database-url.js';
import { seedNova } from '../../tools/seed/seed.js';
import { readSnapshot, snapshotPath } from '../../src/inventory/snapshot.js';
import { createTestDatabase, missingMysql, stopTestServer, type TestDatabase } from '../helpers/mysql.js';
import { requirement } from '../helpers/requirements.js';

const run = requirement('inventory loading (DB then snapshot) tests', await missingMysql());

let stateDir: string;
let t: TestDatabase;
beforeEach(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'ng-state-'));
});
afterEach(async () => {
  await rm(stateDir, { recursive: true, force: true });
  await t?.drop();
});
afterAll(async () => {
  await stopTestServer();
});

async function seeded(): Promise<TestDatabase> {
  t = await createTestDatabase('load');
  const h = openNovaDb(parseDatabaseUrl(t.url), { connectTimeoutMs: 5000, readOnly: false });
  try {
    await migrateToShape(h.db, 'newton');
    await seedNova(h.db, { host: 'net-a', floatingIps: 200, networks: 40 });
  } finally {
    await h.close();
  }
  return t;
}

const settings = (databaseUrl: string | null, routingSourceIp = '192.0.2.2') => ({ host: 'net-a', routingSourceIp, publicInterface: 'eth0', databaseUrl });

describe.runIf(run)('loadInventory: database within a bound, else the snapshot', () => {
  it('reads the database and writes the snapshot', async () => {
    const db = await seeded();
    const r = await loadInventory({ settings: settings(db.url), stateDir });
    expect(r.inventory?.source).toBe('db');
    expect(r.snapshot).toMatchObject({ written: true, path: snapshotPath(stateDir) });
    expect(r.database.timings?.totalMs).toBeGreaterThan(0);
    const snap = await readSnapshot(stateDir, { host: 'net-a' });
    expect(snap.ok && snap.inventory.targets).toEqual(r.inventory?.targets);
  });

  it('database down: uses the snapshot, says so with its age, routing source from current nova.conf', async () => {
    const db = await seeded();
    const first = await loadInventory({ settings: settings(db.url), stateDir });
    await db.drop();
    const later = new Date(Date.now() + 90_000);
    const r = await loadInventory({ settings: settings(db.url, '192.0.2.99'), stateDir, now: () => later });
    expect(r.inventory?.source).toBe('snapshot');
    expect(r.snapshot.used).toBe(true);
    expect(r.snapshot.ageMs).toBeGreaterThanOrEqual(89_000);
    expect(r.database.ok).toBe(false);
    expect(r.database.error).toMatch(/Unknown database/);
    expect(r.why).toMatch(/using snapshot .* s old/);
    expect(r.inventory?.targets[0]).toEqual({ kind: 'routing_source', address: '192.0.2.99', interface: 'eth0' });
    expect(r.inventory?.targets.slice(1)).toEqual(first.inventory?.targets.slice(1));
  });

  it('nothing listening: fails fast and reports URL and reason when there is no snapshot', async () => {
    const r = await loadInventory({ settings: settings('mysql://nova:secret@127.0.0.1:1/nova'), stateDir, timeoutMs: 1000 });
    expect(r.inventory).toBeNull();
    expect(r.why).toMatch(/mysql:\/\/nova:\*\*\*@127\.0\.0\.1:1\/nova: .*ECONNREFUSED/);
    expect(r.why).not.toContain('secret');
    expect(r.why).toMatch(/no snapshot at/);
  });

  it('a corrupt snapshot is reported and never trusted', async () => {
    await writeFile(snapshotPath(stateDir), '{"format":"nova-garp-inventory","version":1,"sha256":"00","inventory":{');
    const r = await loadInventory({ settings: settings(null), stateDir });
    expect(r.inventory).toBeNull();
    expect(r.snapshot.error).toMatch(/corrupt snapshot .* ignored/);
    expect(r.why).toMatch(/no database URL configured/);
  });

  it('a database that hangs mid-query costs the bound, not more', async () => {
    const db = await seeded();
    await loadInventory({ settings: settings(db.url), stateDir });
    const u = parseDatabaseUrl(db.url);
    const locker = await mysql.createConnection({ host: u.host, port: u.port, user: u.user, password: u.password, database: u.database });
    try {
      await locker.query('LOCK TABLES floating_ips WRITE');
      const started = performance.now();
      const r = await loadInventory({ settings: settings(db.url), stateDir, timeoutMs: 400 });
      const elapsed = performance.now() - started;
      expect(r.inventory?.source).toBe('snapshot');
      expect(r.database.error).toMatch(/no answer within 400 ms/);
      // It answered while the table is still locked: it did not wait for the query. How close to
      // the bound it answers is bench/inventory's figure ("locked table, 400 ms bound").
      expect(elapsed).toBeLessThan(10_000);
    } finally {
      await locker.query('UNLOCK TABLES');
      await locker.end();
    }
  });

  it('an address that never answers costs the bound, not the OS connect timeout', async () => {
    const started = performance.now();
    // TEST-NET-1 is unrouted on the internet; either it times out or the kernel refuses at once.
    const r = await loadInventory({ settings: settings('mysql://nova@192.0.2.254:3306/nova'), stateDir, timeoutMs: 300 });
    expect(r.inventory).toBeNull();
    // Far below the OS connect timeout (about 2 min); how close to the bound is bench/inventory's
    // figure ("unreachable address, 400 ms bound").
    expect(performance.now() - started).toBeLessThan(10_000);
  });
});
