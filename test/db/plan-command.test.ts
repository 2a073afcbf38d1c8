import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../tools/cli/main.js';
import { migrateToShape, type Shape } from '../../migrations/index.js';
import { openNovaDb } from '../../src/nova/db-connection.js';
import { parseDatabaseUrl } from '../../src/nova/database-url.js';
import { seedNova, type SeedSummary } from '../../tools/seed/seed.js';
import { createTestDatabase, missingMysql, stopTestServer, type TestDatabase } from '../helpers/mysql.js';
import { requirement } from '../helpers/requirements.js';

const run = requirement('nova-garp plan end-to-end tests', await missingMysql());
const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'nova-conf');

let dir: string;
const dbs: TestDatabase[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ng-plan-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
  while (dbs.length > 0) await dbs.pop()?.drop();
});
afterAll(async () => {
  await stopTestServer();
});

async function seeded(shape: Shape, host: string): Promise<{ url: string; summary: SeedSummary }> {
  const t = await createTestDatabase(`plan${shape}`);
  dbs.push(t);
  const h = openNovaDb(parseDatabaseUrl(t.url), { connectTimeoutMs: 5000, readOnly: false });
  try {
    await migrateToShape(h.db, shape);
    return { url: t.url, summary: await seedNova(h.db, { host, floatingIps: 300, networks: 50, oddRows: true }) };
  } finally {
    await h.close();
  }
}

async function cli(argv: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((stdout += String(chunk)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((stderr += String(chunk)), true));
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    return { code: await main(argv), stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
    process.env = saved;
  }
}

interface PlanJson {
  host: string;
  source: string;
  schema: string;
  targets: Array<{ kind: string; address: string; interface: string; bound: boolean | null }>;
  skipped: Array<{ source: string; reason: string }>;
}

function countKinds(p: PlanJson): Record<string, number> {
  const c: Record<string, number> = {};
  for (const t of p.targets) c[t.kind] = (c[t.kind] ?? 0) + 1;
  return c;
}

describe.runIf(run)('nova-garp plan against real databases', () => {
  it('Cactus-shaped database with a Cactus flagfile nova.conf (with --flagfile include)', async () => {
    const { url, summary } = await seeded('cactus', 'nova-net-1');
    const conf = (await readFile(join(FIXTURES, 'cactus', 'nova.conf'), 'utf8')).replace(/^--sql_connection=.*$/m, `--sql_connection=${url}`);
    await writeFile(join(dir, 'nova.conf'), conf);
    await copyFile(join(FIXTURES, 'cactus', 'nova-network.conf'), join(dir, 'nova-network.conf'));
    const r = await cli(['plan', '--nova-config', join(dir, 'nova.conf'), '--state-dir', join(dir, 'state'), '--json']);
    expect(r.code).toBe(0);
    const plan = JSON.parse(r.stdout) as PlanJson;
    expect(plan).toMatchObject({ host: 'nova-net-1', source: 'db', schema: 'cactus' });
    expect(countKinds(plan)).toEqual({ routing_source: 1, floating: summary.expected.floating, gateway: summary.expected.gateway, gateway_v6: summary.expected.gatewayV6 });
    expect(plan.targets[0]).toMatchObject({ kind: 'routing_source', address: '10.0.0.2', interface: 'eth0' });
    expect(plan.skipped).toHaveLength(summary.expected.skipped);
    expect(plan.targets.every((t) => typeof t.bound === 'boolean' || t.bound === null)).toBe(true);
  });

  it('Newton-shaped database with a Newton INI nova.conf; then the snapshot when the DB is gone', async () => {
    const { url, summary } = await seeded('newton', 'network-1');
    const conf = (await readFile(join(FIXTURES, 'newton.conf'), 'utf8')).replace(/^connection = mysql\+pymysql:\/\/nova:NOVA_DBPASS@controller\/nova\?charset=utf8$/m, `connection = ${url.replace('mysql://', 'mysql+pymysql://')}?charset=utf8`);
    await writeFile(join(dir, 'nova.conf'), conf);
    const args = ['plan', '--nova-config', join(dir, 'nova.conf'), '--state-dir', join(dir, 'state'), '--json'];
    const r = await cli(args);
    expect(r.code).toBe(0);
    const plan = JSON.parse(r.stdout) as PlanJson;
    expect(plan).toMatchObject({ host: 'network-1', source: 'db', schema: 'newton' });
    expect(countKinds(plan)).toEqual({ routing_source: 1, floating: summary.expected.floating, gateway: summary.expected.gateway, gateway_v6: summary.expected.gatewayV6 });
    expect(plan.targets[0]).toMatchObject({ kind: 'routing_source', address: '10.0.0.11', interface: 'bond0' });
    // public_interface (bond0) wins over floating_ips.interface, as in nova.
    expect(summary.expected.floatingOnOverride).toBeGreaterThan(0);
    expect(plan.targets.filter((t) => t.kind === 'floating' && t.interface !== 'bond0')).toHaveLength(0);

    await dbs.pop()?.drop();
    const fallback = await cli(args);
    expect(fallback.code).toBe(0);
    const snap = JSON.parse(fallback.stdout) as PlanJson & { snapshotAgeSeconds: number; databaseError: string };
    expect(snap.source).toBe('snapshot');
    expect(snap.databaseError).toMatch(/Unknown database/);
    expect(snap.targets.map((t) => t.address)).toEqual(plan.targets.map((t) => t.address));

    const text = await cli(args.filter((a) => a !== '--json'));
    expect(text.stdout).toMatch(/using snapshot .* s old/);
    expect(text.stdout).toMatch(/KIND\s+ADDRESS\s+INTERFACE\s+BOUND\s+SOURCE/);
  });

  it('exit 4 with the failed URL and why when neither DB nor snapshot exist', async () => {
    const r = await cli(['plan', '--nova-config', join(FIXTURES, 'folsom.conf'), '--state-dir', join(dir, 'none'), '--db-url', 'mysql://nova:pw@127.0.0.1:1/nova', '--db-timeout', '500']);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/mysql:\/\/nova:\*\*\*@127\.0\.0\.1:1\/nova: .*ECONNREFUSED/);
    expect(r.stderr).toMatch(/no snapshot at/);
  });

  it('exit 2 for config and usage errors, naming file and line', async () => {
    await writeFile(join(dir, 'bad.conf'), '[DEFAULT]\nhost = a\nrouting_source_ip = $undefined_option\n');
    const r = await cli(['plan', '--nova-config', join(dir, 'bad.conf'), '--state-dir', dir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${join(dir, 'bad.conf')}:3`);
    expect((await cli(['plan', '--bogus'])).code).toBe(2);
    expect((await cli(['plan', '--nova-config', join(FIXTURES, 'folsom.conf'), '--db-url', 'sqlite:///x'])).code).toBe(2);
    const help = await cli(['plan', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Exit codes:/);
  });

  it('db migrate/seed/schema commands', async () => {
    const t = await createTestDatabase('cli');
    dbs.push(t);
    expect((await cli(['db', 'migrate', '--shape', 'newton', '--url', t.url])).code).toBe(0);
    const seed = await cli(['db', 'seed', '--url', t.url, '--host', 'h1', '--floating-ips', '50', '--networks', '10', '--json']);
    expect(seed.code).toBe(0);
    expect(JSON.parse(seed.stdout)).toMatchObject({ shape: 'newton', rows: { floatingIps: 50, networks: 10 } });
    const schema = await cli(['db', 'schema', '--url', t.url, '--json']);
    expect(JSON.parse(schema.stdout)).toMatchObject({ release: 'newton', version: 334, deleted: 'integer' });
    expect((await cli(['db', 'migrate', '--shape', 'folsom', '--url', t.url])).code).toBe(1);
    expect((await cli(['db', 'migrate', '--shape', 'essex', '--url', t.url])).code).toBe(2);
    expect((await cli(['db', 'seed', '--url', t.url])).code).toBe(2);
    expect((await cli(['db', 'schema', '--url', 'mysql://root@127.0.0.1:1/x'])).code).toBe(1);
  });
});
