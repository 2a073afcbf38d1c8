import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import mysql from 'mysql2/promise';
import { migrateToShape, type Shape } from '../../migrations/index.js';
import { readInventoryFromDatabase } from '../../src/inventory/load-inventory.js';
import { openNovaDb } from '../../src/nova/db-connection.js';
import { parseDatabaseUrl } from '../../src/nova/database-url.js';
import { createDatabase } from '../../tools/seed/nova-rows.js';
import { deriveTargets } from '../../src/inventory/derive-targets.js';
import { readNovaRows } from '../../src/nova/inventory-reader.js';
import { detectSchema } from '../../src/nova/schema-shape.js';
import { seedNova, type SeedSummary } from '../../tools/seed/seed.js';
import { readSnapshot, writeSnapshot } from '../../src/inventory/snapshot.js';

/**
 * Inventory benchmark: seeds a nova-shaped database (10,000 floating IPs, 1,000 networks by
 * default) per shape and times what the failover path pays: a fresh bounded read (connect, schema
 * detection, queries, derivation), a refresh on an open connection with a known shape, schema
 * detection alone, the snapshot fallback, and what a bounded read costs when the database hangs
 * mid-query or its address never answers (the bound, not more). Target: read + derive under 100 ms.
 */

const HELP = `Usage: node dist/bench/inventory/run.js [options]
  --server URL        MySQL server, no database (default $NOVA_GARP_BENCH_MYSQL_URL or mysql://root@127.0.0.1:3306/)
  --floating-ips N    floating_ips rows (default 10000)
  --networks M        networks rows (default 1000)
  --iterations K      timed repetitions per measurement (default 30)
  --shapes LIST       cactus,newton (default both)
  --out DIR           where the JSON goes (default bench/results)
  --keep              keep the seeded databases (names printed)`;

interface Stats {
  median: number;
  p95: number;
  min: number;
  max: number;
}

function stats(xs: number[]): Stats {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.floor(q * (s.length - 1) + 0.5))] ?? NaN;
  const r = (n: number): number => Math.round(n * 100) / 100;
  return { median: r(at(0.5)), p95: r(at(0.95)), min: r(s[0] ?? NaN), max: r(s[s.length - 1] ?? NaN) };
}

async function time<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t0 = performance.now();
  const v = await fn();
  return [performance.now() - t0, v];
}

interface ShapeResult {
  shape: Shape;
  database: string;
  seed: SeedSummary;
  targets: number;
  skipped: number;
  coldReadMs: number;
  freshRead: { totalMs: Stats; connectMs: Stats; detectMs: Stats; readMs: Stats; deriveMs: Stats };
  refreshReadDeriveMs: Stats;
  detectOnOpenConnectionMs: Stats;
  snapshotWriteMs: Stats;
  snapshotReadMs: Stats;
  /** A read with a HANG_BOUND_MS bound while floating_ips is write-locked: until it gives up. */
  hungReadMs: Stats;
  /** A read with a HANG_BOUND_MS bound of an address that never answers (TEST-NET-1). */
  unreachableReadMs: Stats;
  meetsTarget: boolean;
}

/** The bound the two hang measurements use (the tests check that it holds, not how closely). */
const HANG_BOUND_MS = 400;
const HANG_REPEATS = 3;

/** How long a read bounded by HANG_BOUND_MS takes to give up (it must fail). */
async function boundedFailure(settings: Parameters<typeof readInventoryFromDatabase>[0]): Promise<number> {
  const t0 = performance.now();
  const failed = await readInventoryFromDatabase(settings, { timeoutMs: HANG_BOUND_MS }).then(
    () => false,
    () => true,
  );
  if (!failed) throw new Error('a read that should have hung answered');
  return performance.now() - t0;
}

async function benchShape(server: URL, shape: Shape, o: { floatingIps: number; networks: number; iterations: number; keep: boolean }): Promise<ShapeResult> {
  const name = `ngbench_${shape}_${Date.now().toString(36)}`;
  const admin = await mysql.createConnection({ host: server.hostname, port: Number(server.port || 3306), user: decodeURIComponent(server.username), password: decodeURIComponent(server.password) });
  const url = new URL(server.href);
  url.pathname = `/${name}`;
  const dbUrl = url.href;
  await createDatabase(parseDatabaseUrl(dbUrl), 5000);
  try {
    const writer = openNovaDb(parseDatabaseUrl(dbUrl), { connectTimeoutMs: 5000, readOnly: false });
    let seed: SeedSummary;
    try {
      await migrateToShape(writer.db, shape);
      seed = await seedNova(writer.db, { host: 'net-a', floatingIps: o.floatingIps, networks: o.networks, oddRows: true });
    } finally {
      await writer.close();
    }
    const settings = { host: 'net-a', routingSourceIp: '192.0.2.2', publicInterface: 'eth0', databaseUrl: dbUrl };

    const [coldReadMs, cold] = await time(() => readInventoryFromDatabase(settings, { timeoutMs: 10_000 }));
    const fresh = { totalMs: [] as number[], connectMs: [] as number[], detectMs: [] as number[], readMs: [] as number[], deriveMs: [] as number[] };
    for (let i = 0; i < o.iterations; i++) {
      const { timings } = await readInventoryFromDatabase(settings, { timeoutMs: 10_000 });
      fresh.totalMs.push(timings.totalMs);
      fresh.connectMs.push(timings.connectMs);
      fresh.detectMs.push(timings.detectMs);
      fresh.readMs.push(timings.readMs);
      fresh.deriveMs.push(timings.deriveMs);
    }

    const reader = openNovaDb(parseDatabaseUrl(dbUrl), { connectTimeoutMs: 5000, readOnly: true });
    const refresh: number[] = [];
    const detect: number[] = [];
    try {
      const shapeInfo = await detectSchema(reader.db);
      for (let i = 0; i < o.iterations; i++) {
        const [ms] = await time(async () => deriveTargets(settings, await readNovaRows(reader.db, settings.host, shapeInfo)));
        refresh.push(ms);
        const [dms] = await time(() => detectSchema(reader.db));
        detect.push(dms);
      }
    } finally {
      await reader.close();
    }

    const stateDir = await mkdtemp(join(tmpdir(), 'ngbench-state-'));
    const sw: number[] = [];
    const sr: number[] = [];
    try {
      for (let i = 0; i < o.iterations; i++) {
        sw.push((await time(() => writeSnapshot(stateDir, cold.inventory)))[0]);
        sr.push((await time(() => readSnapshot(stateDir, { host: 'net-a' })))[0]);
      }
    } finally {
      await rm(stateDir, { recursive: true, force: true });
    }

    const hung: number[] = [];
    const locker = await mysql.createConnection(dbUrl);
    try {
      await locker.query('LOCK TABLES floating_ips WRITE');
      for (let i = 0; i < HANG_REPEATS; i++) hung.push(await boundedFailure(settings));
    } finally {
      await locker.query('UNLOCK TABLES').catch(() => undefined);
      await locker.end();
    }
    const unreachable: number[] = [];
    for (let i = 0; i < HANG_REPEATS; i++) unreachable.push(await boundedFailure({ ...settings, databaseUrl: 'mysql://nova@192.0.2.254:3306/nova' }));

    const freshStats = {
      totalMs: stats(fresh.totalMs),
      connectMs: stats(fresh.connectMs),
      detectMs: stats(fresh.detectMs),
      readMs: stats(fresh.readMs),
      deriveMs: stats(fresh.deriveMs),
    };
    return {
      shape,
      database: name,
      seed,
      targets: cold.inventory.targets.length,
      skipped: cold.inventory.skipped.length,
      coldReadMs: Math.round(coldReadMs * 100) / 100,
      freshRead: freshStats,
      refreshReadDeriveMs: stats(refresh),
      detectOnOpenConnectionMs: stats(detect),
      snapshotWriteMs: stats(sw),
      snapshotReadMs: stats(sr),
      hungReadMs: stats(hung),
      unreachableReadMs: stats(unreachable),
      meetsTarget: freshStats.totalMs.median < 100,
    };
  } finally {
    if (!o.keep) await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
    await admin.end();
  }
}

function table(results: ShapeResult[]): string {
  const rows: Array<[string, (r: ShapeResult) => string]> = [
    ['targets (skipped)', (r) => `${r.targets} (${r.skipped})`],
    ['first read in process (cold JIT), ms', (r) => r.coldReadMs.toFixed(1)],
    ['fresh read total, median / p95 ms', (r) => `${r.freshRead.totalMs.median} / ${r.freshRead.totalMs.p95}`],
    ['  connect + session setup, median ms', (r) => String(r.freshRead.connectMs.median)],
    ['  schema detection, median ms', (r) => String(r.freshRead.detectMs.median)],
    ['  floating_ips + networks queries, median ms', (r) => String(r.freshRead.readMs.median)],
    ['  derive targets, median ms', (r) => String(r.freshRead.deriveMs.median)],
    ['refresh read+derive (open conn), median / p95 ms', (r) => `${r.refreshReadDeriveMs.median} / ${r.refreshReadDeriveMs.p95}`],
    ['schema detection alone (open conn), median ms', (r) => String(r.detectOnOpenConnectionMs.median)],
    ['snapshot write (fsync) / read, median ms', (r) => `${r.snapshotWriteMs.median} / ${r.snapshotReadMs.median}`],
    [`locked table, ${HANG_BOUND_MS} ms bound: gives up after, median / max ms`, (r) => `${r.hungReadMs.median} / ${r.hungReadMs.max}`],
    [`unreachable address, ${HANG_BOUND_MS} ms bound: gives up after, median / max ms`, (r) => `${r.unreachableReadMs.median} / ${r.unreachableReadMs.max}`],
    ['fresh read < 100 ms target', (r) => (r.meetsTarget ? 'yes' : 'NO')],
  ];
  const w0 = Math.max(...rows.map(([l]) => l.length));
  const cols = results.map((r) => Math.max(r.shape.length, ...rows.map(([, f]) => f(r).length)));
  const line = (label: string, cells: string[]): string => `${label.padEnd(w0)}  ${cells.map((c, i) => c.padStart(cols[i] ?? 0)).join('  ')}`;
  return [line('', results.map((r) => r.shape)), ...rows.map(([l, f]) => line(l, results.map(f)))].join('\n');
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      server: { type: 'string' },
      'floating-ips': { type: 'string' },
      networks: { type: 'string' },
      iterations: { type: 'string' },
      shapes: { type: 'string' },
      out: { type: 'string' },
      keep: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  const server = new URL(values.server ?? process.env.NOVA_GARP_BENCH_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/');
  const o = {
    floatingIps: Number(values['floating-ips'] ?? 10_000),
    networks: Number(values.networks ?? 1000),
    iterations: Math.max(1, Number(values.iterations ?? 30)),
    keep: values.keep === true,
  };
  const shapes = (values.shapes ?? 'cactus,newton').split(',').map((s) => s.trim()) as Shape[];
  const results: ShapeResult[] = [];
  for (const shape of shapes) {
    process.stderr.write(`seeding ${shape}: ${o.floatingIps} floating IPs, ${o.networks} networks...\n`);
    results.push(await benchShape(server, shape, o));
  }
  const cpu = cpus()[0]?.model ?? 'unknown';
  const admin = await mysql.createConnection({ host: server.hostname, port: Number(server.port || 3306), user: decodeURIComponent(server.username), password: decodeURIComponent(server.password) });
  const [[ver]] = (await admin.query('SELECT VERSION() AS v')) as unknown as [[{ v: string }]];
  await admin.end();
  const report = {
    bench: 'inventory',
    at: new Date().toISOString(),
    machine: { cpu, cpus: cpus().length, node: process.version, server: ver.v },
    params: { ...o, shapes, server: `${server.protocol}//${server.hostname}:${server.port || 3306}` },
    results,
  };
  process.stdout.write(`\nnova-garp inventory benchmark: ${o.floatingIps} floating IPs, ${o.networks} networks, ${o.iterations} iterations\n`);
  process.stdout.write(`${cpu} x${cpus().length}, node ${process.version}, ${ver.v}\n\n${table(results)}\n`);
  const outDir = values.out ?? join(process.cwd(), 'bench', 'results');
  await mkdir(outDir, { recursive: true });
  const file = join(outDir, `inventory-${report.at.replace(/[:.]/g, '-')}.json`);
  await writeFile(file, JSON.stringify(report, null, 2) + '\n');
  process.stdout.write(`\nJSON: ${file}\n`);
  return results.every((r) => r.meetsTarget) ? 0 : 3;
}

process.exitCode = await main();
