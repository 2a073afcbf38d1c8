import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { migrateToShape, type Shape } from '../../migrations/index.js';
import { readInventoryFromDatabase } from '../../src/inventory/load-inventory.js';
import { openNovaDb, type NovaDb } from '../../src/nova/db-connection.js';
import { parseDatabaseUrl } from '../../src/nova/database-url.js';
import { seedNova } from '../../tools/seed/seed.js';
import { createTestDatabase, missingMysql, stopTestServer, type TestDatabase } from '../helpers/mysql.js';
import { requirement } from '../helpers/requirements.js';

const run = requirement('nova inventory database tests', await missingMysql());

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanup.length > 0) await cleanup.pop()?.();
});
afterAll(async () => {
  await stopTestServer();
});

async function migrated(shape: Shape): Promise<{ t: TestDatabase; h: NovaDb }> {
  const t = await createTestDatabase(shape);
  const h = openNovaDb(parseDatabaseUrl(t.url), { connectTimeoutMs: 5000, readOnly: false });
  cleanup.push(() => t.drop(), () => h.close());
  await migrateToShape(h.db, shape);
  return { t, h };
}

const settingsFor = (url: string, host = 'net-a') => ({ host, routingSourceIp: '192.0.2.2', publicInterface: 'eth0', databaseUrl: url });

describe.runIf(run)('inventory from a seeded database (real MySQL/MariaDB)', () => {
  for (const shape of ['cactus', 'newton'] as const) {
    it(`${shape}: exactly this host's live associated floating IPs and live networks' gateways`, async () => {
      const { t, h } = await migrated(shape);
      const seeded = await seedNova(h.db, { host: 'net-a', floatingIps: 400, networks: 60, oddRows: true });
      expect(seeded.shape).toBe(shape);
      const { inventory, shape: detected } = await readInventoryFromDatabase(settingsFor(t.url));
      expect(detected.release).toBe(shape);
      expect(inventory.schema).toBe(shape);
      const count = (k: string): number => inventory.targets.filter((x) => x.kind === k).length;
      expect(count('routing_source')).toBe(1);
      expect(count('floating')).toBe(seeded.expected.floating);
      expect(count('gateway')).toBe(seeded.expected.gateway);
      expect(count('gateway_v6')).toBe(seeded.expected.gatewayV6);
      expect(inventory.skipped).toHaveLength(seeded.expected.skipped);
      // Rows naming another interface exist, but nova binds on `public_interface or row.interface`.
      if (shape === 'newton') expect(seeded.expected.floatingOnOverride).toBeGreaterThan(0);
      expect(inventory.targets.filter((x) => x.kind === 'floating' && x.interface !== 'eth0')).toHaveLength(0);

      // Cross-check against SQL written independently of the reader.
      const own = await h.db
        .selectFrom('floating_ips')
        .select('address')
        .where('host', '=', 'net-a')
        .where('deleted', '=', 0)
        .where('fixed_ip_id', 'is not', null)
        .execute();
      const valid = own.map((r) => r.address).filter((a): a is string => a !== null && /^172\./.test(a));
      expect(new Set(inventory.targets.filter((x) => x.kind === 'floating').map((x) => x.address))).toEqual(new Set(valid));
      const foreign = await h.db.selectFrom('floating_ips').select('address').where('host', '!=', 'net-a').execute();
      const addresses = new Set(inventory.targets.map((x) => x.address));
      expect(foreign.filter((r) => addresses.has(r.address ?? ''))).toEqual([]);
      const gone = await h.db.selectFrom('floating_ips').select('address').where('deleted', '!=', 0).execute();
      expect(gone.length).toBeGreaterThan(0);
      expect(gone.filter((r) => addresses.has(r.address ?? ''))).toEqual([]);
      const unassociated = await h.db.selectFrom('floating_ips').select('address').where('fixed_ip_id', 'is', null).execute();
      expect(unassociated.length).toBeGreaterThan(0);
      expect(unassociated.filter((r) => addresses.has(r.address ?? ''))).toEqual([]);
      expect(inventory.skipped.map((s) => s.reason).join('\n')).toMatch(/not-an-ip[\s\S]*999\.1\.1\.1|empty bridge/);
    });
  }

  it('cactus: Boolean soft delete hides rows; other hosts and unclaimed networks are not ours', async () => {
    const { t, h } = await migrated('cactus');
    await h.db.insertInto('networks').values([
      { id: 1, deleted: false, bridge: 'br100', gateway: '10.0.0.1', gateway_v6: 'fd00::1', host: 'net-a', vlan: 100 },
      { id: 2, deleted: true, bridge: 'br101', gateway: '10.0.1.1', host: 'net-a', vlan: 101 },
      { id: 3, deleted: false, bridge: 'br102', gateway: '10.0.2.1', host: 'net-b', vlan: 102 },
      { id: 4, deleted: false, bridge: 'br103', gateway: '10.0.3.1', host: null, vlan: 103 },
    ] as never).execute();
    await h.db.insertInto('fixed_ips').values([{ id: 1, deleted: false, address: '10.0.0.5', network_id: 1 }] as never).execute();
    await h.db.insertInto('floating_ips').values([
      { id: 1, deleted: false, address: '203.0.113.1', fixed_ip_id: 1, host: 'net-a' },
      { id: 2, deleted: true, address: '203.0.113.2', fixed_ip_id: 1, host: 'net-a' },
      { id: 3, deleted: false, address: '203.0.113.3', fixed_ip_id: null, host: 'net-a' },
      { id: 4, deleted: false, address: '203.0.113.4', fixed_ip_id: 1, host: 'net-b' },
    ] as never).execute();
    const { inventory } = await readInventoryFromDatabase(settingsFor(t.url));
    expect(inventory.targets).toEqual([
      { kind: 'routing_source', address: '192.0.2.2', interface: 'eth0' },
      { kind: 'gateway', address: '10.0.0.1', interface: 'br100' },
      { kind: 'gateway_v6', address: 'fd00::1', interface: 'br100' },
      { kind: 'floating', address: '203.0.113.1', interface: 'eth0' },
    ]);
  });

  it('newton: Integer soft delete (deleted = id), public_interface over floating_ips.interface, dhcp_server, multi_host', async () => {
    const { t, h } = await migrated('newton');
    await h.db.insertInto('networks').values([
      { id: 1, deleted: 0, bridge: 'br100', gateway: '10.0.0.1', dhcp_server: '10.0.0.1', host: 'net-a', vlan: 100, multi_host: false },
      { id: 2, deleted: 0, bridge: 'br101', gateway: '10.0.1.1', dhcp_server: '10.0.1.9', gateway_v6: '2001:db8:0:1::1', host: 'net-a', vlan: 101, multi_host: false },
      { id: 3, deleted: 3, bridge: 'br102', gateway: '10.0.2.1', host: 'net-a', vlan: 102, multi_host: false },
      { id: 4, deleted: 0, bridge: 'br103', gateway: '10.0.3.1', host: 'net-a', vlan: 103, multi_host: true },
    ] as never).execute();
    await h.db.insertInto('floating_ips').values([
      { id: 1, deleted: 0, address: '203.0.113.1', fixed_ip_id: 11, host: 'net-a', interface: 'eth2' },
      { id: 2, deleted: 2, address: '203.0.113.2', fixed_ip_id: 12, host: 'net-a', interface: null },
      { id: 3, deleted: 0, address: '203.0.113.3', fixed_ip_id: 13, host: 'net-a', interface: '' },
      { id: 4, deleted: 0, address: '203.0.113.4', fixed_ip_id: 14, host: 'net-a', interface: ' ' },
    ] as never).execute();
    const { inventory } = await readInventoryFromDatabase(settingsFor(t.url));
    expect(inventory.targets).toEqual([
      { kind: 'routing_source', address: '192.0.2.2', interface: 'eth0' },
      { kind: 'gateway', address: '10.0.0.1', interface: 'br100' },
      // nova binds dhcp_server on the bridge (Juno on); the differing gateway 10.0.1.1 is outside.
      { kind: 'gateway', address: '10.0.1.9', interface: 'br101' },
      { kind: 'gateway_v6', address: '2001:db8:0:1::1', interface: 'br101' },
      { kind: 'floating', address: '203.0.113.1', interface: 'eth0' }, // public_interface or floating_ips.interface
      { kind: 'floating', address: '203.0.113.3', interface: 'eth0' },
      { kind: 'floating', address: '203.0.113.4', interface: 'eth0' },
    ]);
    expect(inventory.skipped).toEqual([
      { source: 'networks.id=2 gateway', reason: expect.stringMatching(/differs from dhcp_server 10\.0\.1\.9/) },
      { source: 'networks.id=4', reason: expect.stringMatching(/multi_host/) },
    ]);
  });

  it('queries only columns that exist: a Folsom-like table without dhcp_server still reads', async () => {
    const { t, h } = await migrated('newton');
    await h.db.schema.alterTable('networks').dropColumn('dhcp_server').execute();
    await h.db.schema.alterTable('networks').dropColumn('multi_host').execute();
    await h.db.updateTable('migrate_version').set({ version: 133 }).execute();
    await h.db.insertInto('networks').values([{ id: 1, deleted: 0, bridge: 'br100', gateway: '10.0.0.1', host: 'net-a', vlan: 100 }] as never).execute();
    const { inventory, shape } = await readInventoryFromDatabase(settingsFor(t.url));
    expect(shape).toMatchObject({ release: 'folsom', networks: { dhcpServer: false, multiHost: false } });
    expect(inventory.targets.map((x) => x.address)).toEqual(['192.0.2.2', '10.0.0.1']);
  });

  it('seeding refuses a populated database unless told to replace', async () => {
    const { h } = await migrated('newton');
    await seedNova(h.db, { host: 'net-a', floatingIps: 20, networks: 20 });
    await expect(seedNova(h.db, { host: 'net-a', floatingIps: 20, networks: 20 })).rejects.toThrowError(/--replace/);
    const again = await seedNova(h.db, { host: 'net-b', floatingIps: 40, networks: 20, replace: true });
    expect(again.rows.floatingIps).toBe(40);
  });
});
