import { deleteRows, fixedIpRow, floatingIpRow, INSERT_ORDER, insertRows, instanceRow, networkRow, rowFeatures, rowTimestamp, serviceRow, type NovaRowTable, type RowShape } from './nova-rows.js';
import type { Kysely } from 'kysely';
import type { NovaDatabase } from '../../src/nova/nova-tables.js';
import { detectSchema, type SchemaShape } from '../../src/nova/schema-shape.js';

/**
 * Realistic rows for a nova-shaped lab database: the seeded host's networks and floating IPs mixed
 * with other network hosts' rows, deleted and unassociated floating IPs, unclaimed and multi_host
 * networks, IPv6 gateways, Folsom+ `interface` overrides and distinct `dhcp_server`s, and on request
 * a few impossible rows. Deterministic (index-driven), so the expected targets are known exactly.
 */

/** Every `db migrate --shape` shape (migrations/index.ts ALL_SHAPES). */
export type SeedShape = RowShape;

/** The shape whose columns a detected schema has (the oldest one that fits). */
function shapeOf(schema: SchemaShape): SeedShape {
  if (schema.deleted !== 'boolean') return schema.networks.dhcpServer ? 'newton' : 'grizzly';
  if (schema.floatingIps.interface) return 'folsom';
  return schema.networks.multiHost ? 'diablo' : 'cactus';
}

export interface SeedOptions {
  host: string;
  /** Total floating_ips rows (all hosts, all states). */
  floatingIps: number;
  /** Total networks rows (all hosts, all states). */
  networks: number;
  /** Default: detected from the `deleted` column type. */
  shape?: SeedShape;
  /** Add rows derive-targets must skip (bad address, empty bridge, bad gateway). */
  oddRows?: boolean;
  /** Other network hosts that own rows (default network-b, network-c). */
  otherHosts?: string[];
  /** Delete existing rows of the seeded tables first. */
  replace?: boolean;
}

export interface SeedSummary {
  shape: SeedShape;
  host: string;
  rows: { instances: number; networks: number; fixedIps: number; floatingIps: number; services: number };
  /** What derive-targets must find for `host` (routing source excluded: it comes from nova.conf). */
  expected: { floating: number; floatingOnOverride: number; gateway: number; gatewayV6: number; skipped: number };
}

export class SeedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SeedError';
  }
}

const OVERRIDE_INTERFACES = ['eth1', 'bond0.200'];

/** Address n (0-based) of the floating range 172.16.0.0/12, skipping .0 and .255. */
function floatingAddress(n: number): string {
  const host = Math.floor(n / 254) * 256 + (n % 254) + 1;
  return `172.${16 + ((host >> 16) & 0x0f)}.${(host >> 8) & 0xff}.${host & 0xff}`;
}

function uuidFor(kind: number, n: number): string {
  const hex = (kind * 0x10000000 + n).toString(16).padStart(12, '0');
  return `5eed0000-0000-4000-8000-${hex.slice(-12)}`;
}

export async function seedNova(db: Kysely<NovaDatabase>, opts: SeedOptions): Promise<SeedSummary> {
  if (!Number.isInteger(opts.floatingIps) || opts.floatingIps < 0) throw new SeedError('floating IP count must be a whole number >= 0');
  if (!Number.isInteger(opts.networks) || opts.networks < 1 || opts.networks > 3800) throw new SeedError('network count must be between 1 and 3800 (one VLAN each)');
  const schema = await detectSchema(db);
  const detected = shapeOf(schema);
  const shape: SeedShape = opts.shape ?? detected;
  if (shape !== detected) {
    if (shape === 'newton' && !schema.floatingIps.interface) throw new SeedError('the database has no floating_ips.interface: it is not Newton-shaped (use --shape cactus)');
    if (shape === 'cactus' && schema.deleted !== 'boolean') throw new SeedError('the database has an Integer deleted column: it is not Cactus-shaped (use --shape newton)');
    throw new SeedError(`the database's columns are ${detected}-shaped, not ${shape}-shaped (use --shape ${detected})`);
  }
  const f = rowFeatures(shape);
  const others = opts.otherHosts ?? ['network-b', 'network-c'];
  const oddRows = opts.oddRows === true;

  const existing = await db.selectFrom('floating_ips').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst();
  if (Number(existing?.n ?? 0) > 0 || (await db.selectFrom('networks').select('id').limit(1).execute()).length > 0) {
    if (opts.replace !== true) throw new SeedError('the database already has nova rows; pass --replace to delete them first');
    await deleteRows(db);
  }

  const now = rowTimestamp();
  const expected = { floating: 0, floatingOnOverride: 0, gateway: 0, gatewayV6: 0, skipped: 0 };

  // Networks: per 20 rows, 2 other hosts', 2 multi_host (Diablo on; unclaimed on Cactus), 1 deleted,
  // 1 unclaimed (host NULL, waiting for set_network_host); the rest are this host's.
  const networks: Record<string, unknown>[] = [];
  for (let i = 0; i < opts.networks; i++) {
    const id = i + 1;
    const vlan = 100 + i;
    const slot = i % 20;
    const net = `10.${16 + (i >> 8)}.${i & 0xff}`;
    let host: string | null = opts.host;
    let multiHost = false;
    let deleted = false;
    if (slot === 3 || slot === 13) host = others[i % others.length] ?? 'network-b';
    else if (slot === 5 || slot === 15) {
      multiHost = f.multiHost;
      // Half the multi_host rows name this host, as a network created before switching to multi_host would.
      host = f.multiHost && slot === 5 ? opts.host : null;
    } else if (slot === 7) deleted = true;
    else if (slot === 9) host = null;
    const v6 = i % 3 === 0;
    const distinctDhcp = f.dhcpServer && i % 10 === 1;
    let bridge = `br${vlan}`;
    let gateway = `${net}.1`;
    if (oddRows && i === 1) bridge = '';
    if (oddRows && i === 2) gateway = 'garbage';
    const row = networkRow(
      {
        id,
        vlan,
        net,
        bridge,
        gateway,
        gatewayV6: v6 ? `fd00:0:0:${i.toString(16)}::1` : null,
        host,
        deleted,
        projectId: `project-${i % 37}`,
        vpnPort: 1000 + i,
        uuid: uuidFor(1, i),
        multiHost,
        dhcpServer: distinctDhcp ? `${net}.4` : gateway === 'garbage' ? null : gateway,
      },
      shape,
      now,
    );
    networks.push(row);
    if (host !== opts.host || deleted) continue;
    if (multiHost || bridge === '') {
      expected.skipped++;
      continue;
    }
    if (gateway === 'garbage') expected.skipped++;
    // nova binds dhcp_server on the bridge; a gateway that differs is a router outside the host.
    else if (distinctDhcp) {
      expected.gateway++;
      expected.skipped++;
    } else expected.gateway++;
    if (v6) expected.gatewayV6++;
  }

  // Floating IPs: per 20 rows, 5 other hosts', 2 unassociated, 1 deleted; the rest this host's and
  // associated. Every associated row gets an instance and a fixed IP, as nova would have them.
  const instances: Record<string, unknown>[] = [];
  const fixedIps: Record<string, unknown>[] = [];
  const floatingIps: Record<string, unknown>[] = [];
  for (let i = 0; i < opts.floatingIps; i++) {
    const id = i + 1;
    const slot = i % 20;
    const host = slot < 5 ? (others[i % others.length] ?? 'network-b') : opts.host;
    const associated = slot !== 6 && slot !== 16;
    const deleted = slot === 8;
    let fixedId: number | null = null;
    if (associated) {
      fixedId = fixedIps.length + 1;
      const instanceId = instances.length + 1;
      // Fixed IPs fill each network's .10-.249 in turn; past that (tiny --networks) they spill into
      // 100.64/10 so (address, deleted) stays unique.
      const k = fixedId - 1;
      const netIndex = Math.floor(k / 240) % opts.networks;
      const net = `10.${16 + (netIndex >> 8)}.${netIndex & 0xff}`;
      const fixedAddress = k < opts.networks * 240 ? `${net}.${10 + (k % 240)}` : `100.${64 + ((k >> 16) & 0x3f)}.${(k >> 8) & 0xff}.${k & 0xff}`;
      const uuid = uuidFor(2, instanceId);
      instances.push(instanceRow({ id: instanceId, uuid, host: `compute-${instanceId % 50}`, projectId: `project-${i % 37}` }, shape, now));
      fixedIps.push(fixedIpRow({ id: fixedId, address: fixedAddress, networkId: netIndex + 1, instanceId, instanceUuid: uuid }, shape, now));
    }
    let address = floatingAddress(i);
    if (oddRows && i === 10) address = 'not-an-ip';
    if (oddRows && i === 11) address = '999.1.1.1';
    let iface: string | null = null;
    if (f.interface) iface = i % 20 === 12 ? (OVERRIDE_INTERFACES[i % 2] ?? 'eth1') : i % 20 === 13 ? '' : null;
    floatingIps.push(floatingIpRow({ id, address, host, fixedIpId: fixedId, projectId: associated ? `project-${i % 37}` : null, deleted, interface: iface }, shape, now));
    if (host !== opts.host || !associated || deleted) continue;
    if (address === 'not-an-ip' || address === '999.1.1.1') {
      expected.skipped++;
      continue;
    }
    expected.floating++;
    if (iface !== null && iface !== '') expected.floatingOnOverride++;
  }

  const services = [opts.host, ...others].map((h, i) => serviceRow({ id: i + 1, host: h, reportCount: 1000 + i }, shape, now));

  const rows: Record<NovaRowTable, Record<string, unknown>[]> = { networks, instances, fixed_ips: fixedIps, floating_ips: floatingIps, services };
  for (const t of INSERT_ORDER) await insertRows(db, t, rows[t]);
  return {
    shape,
    host: opts.host,
    rows: { instances: instances.length, networks: networks.length, fixedIps: fixedIps.length, floatingIps: floatingIps.length, services: services.length },
    expected,
  };
}
