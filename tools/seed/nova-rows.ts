import mysql from 'mysql2/promise';
import type { Kysely } from 'kysely';
import { mysql2Options } from '../../src/nova/db-connection.js';
import type { DatabaseUrl } from '../../src/nova/database-url.js';
import type { NovaDatabase } from '../../src/nova/nova-tables.js';

/**
 * The one builder of nova's rows, as nova-network's releases write them, for everything that fills
 * a nova-shaped database: `nova-garp db seed` (tools/seed/seed.ts), the failover lab's database
 * (tools/lab/lab-database.ts) and the database tests. What varies between the writers (addresses,
 * hosts, which rows are deleted) is in the specs; what a release's columns are is here.
 */

/** What varies between the `networks` rows that the seed and the lab write. */
export interface NetworkRowSpec {
  id: number;
  vlan: number;
  /** First three octets of the /24, e.g. `10.1.0`. */
  net: string;
  bridge: string;
  gateway: string;
  gatewayV6: string | null;
  host: string | null;
  deleted: boolean;
  projectId: string;
  vpnPort: number;
  uuid: string;
  multiHost: boolean;
  dhcpServer: string | null;
}

/** The `db migrate --shape` shapes (migrations/index.ts ALL_SHAPES), oldest first. */
export type RowShape = 'cactus' | 'diablo' | 'folsom' | 'grizzly' | 'newton';

const ORDER: readonly RowShape[] = ['cactus', 'diablo', 'folsom', 'grizzly', 'newton'];
const since = (shape: RowShape, first: RowShape): boolean => ORDER.indexOf(shape) >= ORDER.indexOf(first);

/** What each shape's tables hold, as far as the written rows go. */
export function rowFeatures(shape: RowShape): {
  integerDeleted: boolean;
  multiHost: boolean;
  dhcpServer: boolean;
  interface: boolean;
  instanceUuid: boolean;
  fixedHost: boolean;
} {
  return {
    integerDeleted: since(shape, 'grizzly'),
    multiHost: since(shape, 'diablo'),
    dhcpServer: shape === 'newton',
    interface: since(shape, 'folsom'),
    instanceUuid: since(shape, 'folsom'),
    fixedHost: since(shape, 'diablo'),
  };
}

/** The tables the writers fill. */
export type NovaRowTable = 'networks' | 'instances' | 'fixed_ips' | 'floating_ips' | 'services';
/** Insertion order (foreign keys: fixed_ips → networks, instances; floating_ips → fixed_ips). */
export const INSERT_ORDER: readonly NovaRowTable[] = ['networks', 'instances', 'fixed_ips', 'floating_ips', 'services'];
export const DELETE_ORDER: readonly NovaRowTable[] = ['floating_ips', 'fixed_ips', 'networks', 'instances', 'services'];

/** `created_at` as nova writes it: UTC, seconds, no zone. */
export const rowTimestamp = (now: Date = new Date()): string => now.toISOString().slice(0, 19).replace('T', ' ');

/** The `deleted` value of a live row, and of row `id` deleted (Boolean up to Folsom, Integer = id from Grizzly). */
function deletedValue(shape: RowShape, id: number, deleted: boolean): number | boolean {
  const integer = rowFeatures(shape).integerDeleted;
  return deleted ? (integer ? id : true) : integer ? 0 : false;
}

const common = (createdAt: unknown, shape: RowShape, id: number, deleted = false): Record<string, unknown> => ({
  created_at: createdAt,
  updated_at: null,
  deleted_at: null,
  id,
  deleted: deletedValue(shape, id, deleted),
});

const hex2 = (n: number): string => (n & 0xff).toString(16).padStart(2, '0');

export interface InstanceRowSpec {
  id: number;
  uuid: string;
  host: string;
  projectId: string;
}

/** One running `instances` row: Cactus (internal_id, state, MAC), Diablo on (uuid, vm_state), Newton (+ node). */
export function instanceRow(spec: InstanceRowSpec, shape: RowShape, createdAt: unknown): Record<string, unknown> {
  const { id, uuid, host, projectId } = spec;
  const row = common(createdAt, shape, id);
  if (shape === 'cactus') {
    const mac = `02:16:3e:${hex2(id >> 16)}:${hex2(id >> 8)}:${hex2(id)}`;
    return Object.assign(row, { internal_id: id, hostname: `i-${id.toString(16).padStart(8, '0')}`, host, project_id: projectId, state: 1, state_description: 'running', mac_address: mac });
  }
  return Object.assign(row, { uuid, hostname: `vm-${id}`, host, ...(shape === 'newton' ? { node: host } : {}), project_id: projectId, vm_state: 'active', power_state: 1 });
}

export interface FixedIpRowSpec {
  id: number;
  address: string;
  networkId: number;
  instanceId: number;
  instanceUuid: string;
}

/** One allocated `fixed_ips` row of an instance (by id up to Diablo, by uuid from Folsom). */
export function fixedIpRow(spec: FixedIpRowSpec, shape: RowShape, createdAt: unknown): Record<string, unknown> {
  const f = rowFeatures(shape);
  return Object.assign(common(createdAt, shape, spec.id), {
    address: spec.address,
    network_id: spec.networkId,
    allocated: true,
    leased: true,
    reserved: false,
    ...(f.instanceUuid ? { instance_uuid: spec.instanceUuid } : { instance_id: spec.instanceId }),
    ...(f.fixedHost ? { host: null, virtual_interface_id: null } : {}),
  });
}

export interface FloatingIpRowSpec {
  id: number;
  address: string;
  host: string;
  /** null: unassociated. */
  fixedIpId: number | null;
  projectId: string | null;
  deleted: boolean;
  /** Folsom on: the `interface` column (null: public_interface). */
  interface?: string | null;
}

export function floatingIpRow(spec: FloatingIpRowSpec, shape: RowShape, createdAt: unknown): Record<string, unknown> {
  const f = rowFeatures(shape);
  return Object.assign(common(createdAt, shape, spec.id, spec.deleted), {
    address: spec.address,
    fixed_ip_id: spec.fixedIpId,
    project_id: spec.projectId,
    host: spec.host,
    ...(f.multiHost ? { auto_assigned: false } : {}),
    ...(f.interface ? { pool: 'public', interface: spec.interface ?? null } : {}),
  });
}

/** The `services` row of a nova-network host. */
export function serviceRow(spec: { id: number; host: string; reportCount: number }, shape: RowShape, createdAt: unknown): Record<string, unknown> {
  return Object.assign(common(createdAt, shape, spec.id), { host: spec.host, binary: 'nova-network', topic: 'network', report_count: spec.reportCount, disabled: false });
}

/** Inserts rows in batches of 500 (one statement each). */
export async function insertRows(db: Kysely<NovaDatabase>, table: NovaRowTable, rows: readonly Record<string, unknown>[]): Promise<void> {
  for (let i = 0; i < rows.length; i += 500) {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- rows are shaped per release at run time
    await db.insertInto(table).values(rows.slice(i, i + 500) as any).execute();
  }
}

/** Deletes every row of the written tables (foreign keys first). */
export async function deleteRows(db: Kysely<NovaDatabase>): Promise<void> {
  for (const t of DELETE_ORDER) await db.deleteFrom(t).execute();
}

/** CREATE DATABASE IF NOT EXISTS, on a server connection without a default database. */
export async function createDatabase(url: DatabaseUrl, timeoutMs: number): Promise<void> {
  const { database: _omit, ...serverOpts } = mysql2Options(url, timeoutMs);
  const c = await mysql.createConnection(serverOpts);
  try {
    await c.query(`CREATE DATABASE IF NOT EXISTS ${mysql.escapeId(url.database)} CHARACTER SET utf8`);
  } finally {
    await c.end();
  }
}

/**
 * One `networks` row as nova-network writes it, in the given shape: Cactus (Boolean `deleted`,
 * `dns`), Diablo (`dns1/2`, `multi_host`, `uuid`...), Folsom (+ `rxtx_base`), Grizzly (Integer
 * `deleted` = id when deleted) or Newton (+ `mtu`, `dhcp_server`, `enable_dhcp`, `share_address`).
 * `true`/`false` mean `newton`/`cactus`, as before the middle shapes existed.
 */
export function networkRow(spec: NetworkRowSpec, shapeOrNewton: boolean | RowShape, createdAt: unknown): Record<string, unknown> {
  const shape: RowShape = shapeOrNewton === true ? 'newton' : shapeOrNewton === false ? 'cactus' : shapeOrNewton;
  const newton = shape === 'newton';
  const { id, vlan, net, gatewayV6 } = spec;
  const row: Record<string, unknown> = {
    ...common(createdAt, shape, id, spec.deleted),
    injected: false,
    cidr: `${net}.0/24`,
    netmask: '255.255.255.0',
    bridge: spec.bridge,
    gateway: spec.gateway,
    broadcast: `${net}.255`,
    vlan,
    vpn_public_address: '192.0.2.10',
    vpn_public_port: spec.vpnPort,
    vpn_private_address: `${net}.2`,
    dhcp_start: `${net}.3`,
    project_id: spec.projectId,
    host: spec.host,
    cidr_v6: gatewayV6 === null ? null : gatewayV6.replace(/::1$/, '::/64'),
    gateway_v6: gatewayV6,
    label: `vlan${vlan}`,
    netmask_v6: gatewayV6 === null ? null : '64',
  };
  if (shape === 'cactus') {
    row.dns = '8.8.4.4';
    return row;
  }
  Object.assign(row, {
    dns1: '8.8.4.4',
    dns2: null,
    multi_host: spec.multiHost,
    bridge_interface: 'eth1',
    uuid: spec.uuid,
    priority: null,
  });
  if (shape !== 'diablo') row.rxtx_base = null;
  if (newton) {
    Object.assign(row, {
      mtu: null,
      dhcp_server: spec.dhcpServer,
      enable_dhcp: true,
      share_address: false,
    });
  }
  return row;
}
