import { sql } from 'kysely';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { migrateToShape } from '../../migrations/index.js';
import { openNovaDb, type NovaDb } from '../../src/nova/db-connection.js';
import { parseDatabaseUrl } from '../../src/nova/database-url.js';
import { detectSchema } from '../../src/nova/schema-shape.js';
import { createTestDatabase, missingMysql, stopTestServer, type TestDatabase } from '../helpers/mysql.js';
import { requirement } from '../helpers/requirements.js';

const run = requirement('database schema tests', await missingMysql());

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanup.length > 0) await cleanup.pop()?.();
});
afterAll(async () => {
  await stopTestServer();
});

async function fresh(label: string): Promise<{ t: TestDatabase; h: NovaDb }> {
  const t = await createTestDatabase(label);
  const h = openNovaDb(parseDatabaseUrl(t.url), { connectTimeoutMs: 5000, readOnly: false });
  cleanup.push(() => t.drop(), () => h.close());
  return { t, h };
}

async function columnType(h: NovaDb, table: string, column: string): Promise<string | undefined> {
  const r = await sql<{ COLUMN_TYPE: string }>`SELECT COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ${table} AND COLUMN_NAME = ${column}`.execute(h.db);
  return r.rows[0]?.COLUMN_TYPE;
}

describe.runIf(run)('migrations (real MySQL/MariaDB)', () => {
  it('cactus: version 14, Boolean deleted, no floating_ips.interface, gateway_v6 present', async () => {
    const { h } = await fresh('cactus');
    const out = await migrateToShape(h.db, 'cactus');
    expect(out.applied).toHaveLength(1);
    const shape = await detectSchema(h.db);
    expect(shape).toMatchObject({ release: 'cactus', version: 14, deleted: 'boolean', floatingIps: { interface: false }, networks: { dhcpServer: false, gatewayV6: true, multiHost: false } });
    expect(await columnType(h, 'networks', 'deleted')).toMatch(/^tinyint\(1\)/);
    expect(await columnType(h, 'networks', 'gateway')).toBe('varchar(255)');
    expect(await columnType(h, 'instances', 'mac_address')).toBe('varchar(255)');
    expect(await columnType(h, 'fixed_ips', 'instance_id')).toMatch(/^int/);
    expect(await columnType(h, 'services', 'availability_zone')).toBe('varchar(255)');
    // A second run is a no-op, a different shape is refused.
    expect((await migrateToShape(h.db, 'cactus')).alreadyCurrent).toBe(true);
    await expect(migrateToShape(h.db, 'newton')).rejects.toThrowError(/already migrated to another shape/);
  });

  it('newton: version 334, Integer deleted, interface/dhcp_server/multi_host, String(39) IPs', async () => {
    const { h } = await fresh('newton');
    await migrateToShape(h.db, 'newton');
    const shape = await detectSchema(h.db);
    expect(shape).toMatchObject({ release: 'newton', version: 334, deleted: 'integer', floatingIps: { interface: true }, networks: { dhcpServer: true, gatewayV6: true, multiHost: true } });
    expect(await columnType(h, 'floating_ips', 'deleted')).toMatch(/^int/);
    expect(await columnType(h, 'floating_ips', 'address')).toBe('varchar(39)');
    expect(await columnType(h, 'networks', 'cidr')).toBe('varchar(43)');
    expect(await columnType(h, 'fixed_ips', 'instance_uuid')).toBe('varchar(36)');
    expect(await columnType(h, 'instances', 'mac_address')).toBeUndefined();
    const mv = await h.db.selectFrom('migrate_version').selectAll().execute();
    expect(mv).toEqual([{ repository_id: 'nova', repository_path: expect.stringContaining('migrate_repo'), version: 334 }]);
  });
});
