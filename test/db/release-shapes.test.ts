import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ALL_SHAPES, migrateToShape, SHAPE_VERSION, type AnyShape } from '../../migrations/index.js';
import { main } from '../../tools/cli/main.js';
import { openNovaDb, type NovaDb } from '../../src/nova/db-connection.js';
import { parseDatabaseUrl } from '../../src/nova/database-url.js';
import { readNovaRows } from '../../src/nova/inventory-reader.js';
import { networkRow } from '../../tools/seed/nova-rows.js';
import { detectSchema } from '../../src/nova/schema-shape.js';
import { seedNova } from '../../tools/seed/seed.js';
import { createTestDatabase, missingMysql, stopTestServer, type TestDatabase } from '../helpers/mysql.js';
import { requirement } from '../helpers/requirements.js';

/**
 * Every `db migrate --shape` shape, i.e. every set of nova releases whose tables differ in what
 * nova-garp reads: the schema as that release left it is detected right, the reader selects exactly
 * the live rows of this host with the columns that exist, and `plan` prints the exact targets.
 */

const run = requirement('nova release shape tests', await missingMysql());

let dir: string;
const cleanup: Array<() => Promise<void>> = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ng-shapes-'));
});
afterEach(async () => {
  while (cleanup.length > 0) await cleanup.pop()?.();
  await rm(dir, { recursive: true, force: true });
});
afterAll(async () => {
  await stopTestServer();
});

async function migrated(shape: AnyShape): Promise<{ t: TestDatabase; h: NovaDb }> {
  const t = await createTestDatabase(shape);
  const h = openNovaDb(parseDatabaseUrl(t.url), { connectTimeoutMs: 5000, readOnly: false });
  cleanup.push(() => t.drop(), () => h.close());
  await migrateToShape(h.db, shape);
  return { t, h };
}

async function columnType(h: NovaDb, table: string, column: string): Promise<string | undefined> {
  const r = await sql<{ COLUMN_TYPE: string }>`SELECT COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ${table} AND COLUMN_NAME = ${column}`.execute(h.db);
  return r.rows[0]?.COLUMN_TYPE;
}

/** What each release left in the tables nova-garp reads (nova's models.py and migrations per tag). */
const EXPECTED: Record<
  AnyShape,
  {
    release: string;
    deleted: 'boolean' | 'integer';
    deletedType: RegExp;
    addressType: string;
    interface: boolean;
    interfaceRule: string;
    multiHost: boolean;
    dhcpServer: boolean;
    juno: boolean;
  }
> = {
  cactus: { release: 'cactus', deleted: 'boolean', deletedType: /^tinyint\(1\)/, addressType: 'varchar(255)', interface: false, interfaceRule: 'public_interface', multiHost: false, dhcpServer: false, juno: false },
  diablo: { release: 'diablo', deleted: 'boolean', deletedType: /^tinyint\(1\)/, addressType: 'varchar(255)', interface: false, interfaceRule: 'public_interface', multiHost: true, dhcpServer: false, juno: false },
  folsom: { release: 'folsom', deleted: 'boolean', deletedType: /^tinyint\(1\)/, addressType: 'varchar(255)', interface: true, interfaceRule: 'public_interface-or-row', multiHost: true, dhcpServer: false, juno: false },
  grizzly: { release: 'grizzly', deleted: 'integer', deletedType: /^int/, addressType: 'varchar(39)', interface: true, interfaceRule: 'public_interface-or-row', multiHost: true, dhcpServer: false, juno: false },
  newton: { release: 'newton', deleted: 'integer', deletedType: /^int/, addressType: 'varchar(39)', interface: true, interfaceRule: 'public_interface-or-row', multiHost: true, dhcpServer: true, juno: true },
};

const HOST = 'net-a';

/**
 * A small hand-written set of rows in the shape's own columns: this host's live network (with an
 * IPv6 gateway), another host's, a soft-deleted one (Boolean true, or Integer = id), a multi_host
 * one (Diablo on) and one with a distinct dhcp_server (Juno on); this host's associated floating
 * IP, an unassociated one, a deleted one, another host's, and (Folsom on) one whose row names
 * another interface.
 */
async function insertRows(h: NovaDb, shape: AnyShape): Promise<void> {
  const e = EXPECTED[shape];
  const integer = e.deleted === 'integer';
  const gone = (id: number): number | boolean => (integer ? id : true);
  const live = integer ? 0 : false;
  const ts = '2013-04-04 10:00:00';
  const spec = (id: number, host: string | null, over: Partial<Parameters<typeof networkRow>[0]> = {}): Parameters<typeof networkRow>[0] => ({
    id,
    vlan: 100 + id,
    net: `10.0.${id}`,
    bridge: `br${100 + id}`,
    gateway: `10.0.${id}.1`,
    gatewayV6: null,
    host,
    deleted: false,
    projectId: 'p',
    vpnPort: 1000 + id,
    uuid: `00000000-0000-4000-8000-00000000000${id}`,
    multiHost: false,
    dhcpServer: null,
    ...over,
  });
  const nets = [
    networkRow(spec(1, HOST, { gatewayV6: 'fd00:0:0:1::1', dhcpServer: '10.0.1.1' }), shape, ts),
    networkRow(spec(2, 'net-b'), shape, ts),
    networkRow(spec(3, HOST, { deleted: true }), shape, ts),
  ];
  if (e.multiHost) nets.push(networkRow(spec(4, HOST, { multiHost: true }), shape, ts));
  if (e.dhcpServer) nets.push(networkRow(spec(5, HOST, { dhcpServer: '10.0.5.9' }), shape, ts));
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- rows are in the shape's own columns
  await h.db.insertInto('networks').values(nets as any).execute();
  const fixed = [1, 2, 3, 4].map((id) => ({ created_at: ts, deleted: live, id, address: `10.0.1.${10 + id}`, network_id: 1, allocated: true, leased: true, reserved: false }));
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- as above
  await h.db.insertInto('fixed_ips').values(fixed as any).execute();
  const fip = (id: number, fixed: number | null, host: string, deleted: boolean, iface?: string): Record<string, unknown> => ({
    created_at: ts,
    id,
    deleted: deleted ? gone(id) : live,
    address: `203.0.113.${id}`,
    fixed_ip_id: fixed,
    project_id: 'p',
    host,
    ...(e.multiHost ? { auto_assigned: false } : {}),
    ...(e.interface ? { pool: 'nova', interface: iface ?? 'eth0' } : {}),
  });
  const fips = [fip(1, 1, HOST, false), fip(2, null, HOST, false), fip(3, 2, HOST, true), fip(4, 3, 'net-b', false)];
  if (e.interface) fips.push(fip(5, 4, HOST, false, 'eth2'));
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- as above
  await h.db.insertInto('floating_ips').values(fips as any).execute();
}

/** nova.conf in the release's own format: a gflags flagfile up to Diablo, INI from Essex. */
function novaConf(shape: AnyShape, url: string): string {
  if (shape === 'cactus' || shape === 'diablo') {
    return ['--verbose', `--host=${HOST}`, '--my_ip=192.0.2.2', '--public_interface=eth0', `--sql_connection=${url}`, '--network_manager=nova.network.manager.VlanManager', ''].join('\n');
  }
  const db = shape === 'newton' ? `[database]\nconnection = ${url.replace('mysql://', 'mysql+pymysql://')}?charset=utf8\n` : '';
  const legacy = shape === 'newton' ? '' : `sql_connection = ${url}\n`;
  return `[DEFAULT]\nhost = ${HOST}\nmy_ip = 192.0.2.2\npublic_interface = eth0\nnetwork_manager = nova.network.manager.VlanManager\n${legacy}${db}`;
}

async function plan(confPath: string): Promise<{ code: number; json: { schema: string; source: string; targets: Array<{ kind: string; address: string; interface: string }>; skipped: Array<{ source: string; reason: string }> } }> {
  let stdout = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((stdout += String(chunk)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    const code = await main(['plan', '--nova-config', confPath, '--state-dir', join(dir, 'state'), '--json']);
    return { code, json: JSON.parse(stdout) };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

describe.runIf(run)('every release shape (real MySQL/MariaDB)', () => {
  for (const shape of ALL_SHAPES) {
    const e = EXPECTED[shape];

    it(`${shape}: migrate creates the release's columns and detection reads them`, async () => {
      const { h } = await migrated(shape);
      const detected = await detectSchema(h.db);
      expect(detected).toMatchObject({
        release: e.release,
        version: SHAPE_VERSION[shape],
        deleted: e.deleted,
        floatingIps: { interface: e.interface, interfaceRule: e.interfaceRule },
        networks: { gatewayV6: true, multiHost: e.multiHost, dhcpServer: e.dhcpServer, enableDhcp: e.juno, shareAddress: e.juno },
      });
      expect(await columnType(h, 'floating_ips', 'deleted')).toMatch(e.deletedType);
      expect(await columnType(h, 'networks', 'deleted')).toMatch(e.deletedType);
      expect(await columnType(h, 'floating_ips', 'address')).toBe(e.addressType);
      expect(await columnType(h, 'networks', 'gateway')).toBe(e.addressType);
      expect(await columnType(h, 'floating_ips', 'host')).toBe('varchar(255)');
      expect((await migrateToShape(h.db, shape)).alreadyCurrent).toBe(true);
    });

    it(`${shape}: the reader selects this host's live rows with the columns that exist`, async () => {
      const { h } = await migrated(shape);
      await insertRows(h, shape);
      const rows = await readNovaRows(h.db, HOST, await detectSchema(h.db));
      expect(rows.floatingIps.map((r) => r.id)).toEqual(e.interface ? [1, 5] : [1]);
      expect(rows.floatingIps[0]).toEqual({ id: 1, address: '203.0.113.1', ...(e.interface ? { interface: 'eth0' } : {}) });
      expect(rows.networks.map((r) => r.id)).toEqual([1, ...(e.multiHost ? [4] : []), ...(e.dhcpServer ? [5] : [])]);
      expect(rows.networks[0]).toEqual({
        id: 1,
        bridge: 'br101',
        gateway: '10.0.1.1',
        gateway_v6: 'fd00:0:0:1::1',
        label: 'vlan101',
        ...(e.dhcpServer ? { dhcp_server: '10.0.1.1' } : {}),
        ...(e.multiHost ? { multi_host: 0 } : {}),
      });
    });

    it(`${shape}: plan prints exactly the host's targets`, async () => {
      const { t, h } = await migrated(shape);
      await insertRows(h, shape);
      const confPath = join(dir, 'nova.conf');
      await writeFile(confPath, novaConf(shape, t.url));
      const r = await plan(confPath);
      expect(r.code).toBe(0);
      expect(r.json).toMatchObject({ schema: e.release, source: 'db' });
      expect(r.json.targets.map(({ kind, address, interface: iface }) => ({ kind, address, interface: iface }))).toEqual([
        { kind: 'routing_source', address: '192.0.2.2', interface: 'eth0' },
        { kind: 'gateway', address: '10.0.1.1', interface: 'br101' },
        { kind: 'gateway_v6', address: 'fd00:0:0:1::1', interface: 'br101' },
        // Juno on: nova binds dhcp_server on the bridge; the differing gateway is an outside router.
        ...(e.dhcpServer ? [{ kind: 'gateway', address: '10.0.5.9', interface: 'br105' }] : []),
        { kind: 'floating', address: '203.0.113.1', interface: 'eth0' },
        // The row names eth2, but nova binds on `public_interface or interface` (Folsom on).
        ...(e.interface ? [{ kind: 'floating', address: '203.0.113.5', interface: 'eth0' }] : []),
      ]);
      expect(r.json.skipped).toEqual([
        ...(e.multiHost ? [{ source: 'networks.id=4', reason: expect.stringMatching(/multi_host/) }] : []),
        ...(e.dhcpServer ? [{ source: 'networks.id=5 gateway', reason: expect.stringMatching(/differs from dhcp_server/) }] : []),
      ]);
    });

    it(`${shape}: db seed fills it and plan finds what the seed says`, async () => {
      const { t, h } = await migrated(shape);
      const seeded = await seedNova(h.db, { host: HOST, floatingIps: 120, networks: 40, oddRows: true });
      expect(seeded.shape).toBe(shape);
      const confPath = join(dir, 'nova.conf');
      await writeFile(confPath, novaConf(shape, t.url));
      const r = await plan(confPath);
      expect(r.code).toBe(0);
      const count = (k: string): number => r.json.targets.filter((x) => x.kind === k).length;
      expect([count('routing_source'), count('floating'), count('gateway'), count('gateway_v6')]).toEqual([1, seeded.expected.floating, seeded.expected.gateway, seeded.expected.gatewayV6]);
      expect(r.json.skipped).toHaveLength(seeded.expected.skipped);
    });
  }

  it('an Essex database (Folsom columns, migrate_version 82) binds floating IPs on the row interface', async () => {
    const { h } = await migrated('folsom');
    await h.db.updateTable('migrate_version').set({ version: 82 }).execute();
    expect(await detectSchema(h.db)).toMatchObject({ release: 'essex', floatingIps: { interface: true, interfaceRule: 'row' } });
  });

  it('db migrate --shape takes every shape and refuses others', async () => {
    const t = await createTestDatabase('cli');
    cleanup.push(() => t.drop());
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(await main(['db', 'migrate', '--shape', 'essex', '--url', t.url])).toBe(2);
      expect(await main(['db', 'migrate', '--shape', 'grizzly', '--url', t.url])).toBe(0);
      // Another shape on the same database is a migration failure, not a usage error.
      expect(await main(['db', 'migrate', '--shape', 'diablo', '--url', t.url])).toBe(1);
      expect(await main(['db', 'seed', '--shape', 'folsom', '--url', t.url, '--host', HOST, '--floating-ips', '5', '--networks', '2'])).toBe(1);
      expect(await main(['db', 'seed', '--url', t.url, '--host', HOST, '--floating-ips', '5', '--networks', '2'])).toBe(0);
    } finally {
      out.mockRestore();
      err.mockRestore();
    }
  });
});
