import { createDatabase, deleteRows, fixedIpRow, floatingIpRow, INSERT_ORDER, insertRows, instanceRow, networkRow, rowTimestamp, serviceRow, type NovaRowTable } from '../seed/nova-rows.js';
import { migrateToShape, type Shape } from '../../migrations/index.js';
import { openNovaDb } from '../../src/nova/db-connection.js';
import type { DatabaseUrl } from '../../src/nova/database-url.js';
import { NOVA_HOST, type AddressLayout } from './addressing.js';

/**
 * `--db URL`: nova's rows for exactly the lab's topology, as nova-network's database would hold
 * them for the lab's host, plus a few rows the sidecar must not take (another host's floating
 * IPs and network, a deleted floating IP and network, an unassociated floating IP). The routing
 * source IP is not a row: it comes from nova.conf. `labRows` is pure; `writeLabDatabase` creates,
 * migrates and fills the database.
 */

export type LabTable = NovaRowTable;
export type LabRows = Record<LabTable, Array<Record<string, unknown>>>;

export interface LabRowSet {
  rows: LabRows;
  /** Rows that must not become targets, in words (notes and progress). */
  distractors: string[];
  /** An unassociated floating IP of the lab host, not bound anywhere: the AMQP associate demo's address. */
  spareFloating: string;
}

/** Another network host's rows: present in the same database, never this host's targets. */
export const OTHER_HOST = 'network-b';
/** Addresses of the distractor floating IPs (TEST-NET-2, never bound in the lab). */
const DISTRACTOR_NET = '198.51.100';

/** The first floating IP after the layout's: unassociated in the database, bound only by the AMQP demo. */
export function spareFloatingIp(layout: AddressLayout): string {
  const last = layout.floating.length;
  return `172.20.${1 + Math.floor(last / 250)}.${1 + (last % 250)}`;
}

export function labRows(layout: AddressLayout, shape: Shape, now: Date = new Date()): LabRowSet {
  const ts = rowTimestamp(now);
  const distractors: string[] = [];

  const networks: Array<Record<string, unknown>> = [];
  const network = (id: number, vlan: number, net: string, gateway: string, gatewayV6: string | null, host: string | null, deleted: boolean): void => {
    networks.push(
      networkRow(
        {
          id,
          vlan,
          net,
          bridge: `br${vlan}`,
          gateway,
          gatewayV6,
          host,
          deleted,
          projectId: `lab-project-${vlan}`,
          vpnPort: 1000 + vlan,
          uuid: `1ab00000-0000-4000-8000-${id.toString(16).padStart(12, '0')}`,
          multiHost: false,
          // nova-network binds dhcp_server first on the bridge; the gateway, as usual.
          dhcpServer: gateway,
        },
        shape,
        ts,
      ),
    );
  };
  for (const n of layout.networks) network(n.index + 1, n.vlan, `10.1.${n.index}`, n.gateway, n.gatewayV6, NOVA_HOST, false);
  const otherNetId = layout.networks.length + 1;
  network(otherNetId, 3000, '10.2.0', '10.2.0.1', null, OTHER_HOST, false);
  distractors.push(`networks.id=${otherNetId} (host ${OTHER_HOST})`);
  const deletedNetId = layout.networks.length + 2;
  network(deletedNetId, 3001, '10.2.1', '10.2.1.1', null, NOVA_HOST, true);
  distractors.push(`networks.id=${deletedNetId} (deleted)`);

  const instances: Array<Record<string, unknown>> = [];
  const fixedIps: Array<Record<string, unknown>> = [];
  const floatingIps: Array<Record<string, unknown>> = [];
  /** An instance with a fixed IP, as an associated floating IP has; returns the fixed IP's id. */
  const fixedFor = (): number => {
    const id = fixedIps.length + 1;
    const k = id - 1;
    const uuid = `1ab00000-0000-4000-8001-${id.toString(16).padStart(12, '0')}`;
    instances.push(instanceRow({ id, uuid, host: 'compute-1', projectId: 'lab-project' }, shape, ts));
    // Unique per row; the lab's instances do not use them, nova's rows just have them.
    const address = `100.64.${(k >> 8) & 0xff}.${k & 0xff}`;
    fixedIps.push(fixedIpRow({ id, address, networkId: layout.networks.length > 0 ? 1 + (k % layout.networks.length) : otherNetId, instanceId: id, instanceUuid: uuid }, shape, ts));
    return id;
  };
  const floating = (address: string, host: string, fixedId: number | null, deleted: boolean): number => {
    const id = floatingIps.length + 1;
    floatingIps.push(floatingIpRow({ id, address, host, fixedIpId: fixedId, projectId: fixedId === null ? null : 'lab-project', deleted }, shape, ts));
    return id;
  };
  for (const a of layout.floating) floating(a, NOVA_HOST, fixedFor(), false);
  for (let i = 1; i <= 3; i++) distractors.push(`floating_ips.id=${floating(`${DISTRACTOR_NET}.${i}`, OTHER_HOST, fixedFor(), false)} (host ${OTHER_HOST})`);
  distractors.push(`floating_ips.id=${floating(`${DISTRACTOR_NET}.10`, NOVA_HOST, fixedFor(), true)} (deleted)`);
  const spare = spareFloatingIp(layout);
  distractors.push(`floating_ips.id=${floating(spare, NOVA_HOST, null, false)} (unassociated)`);

  const services = [NOVA_HOST, OTHER_HOST].map((host, i) => serviceRow({ id: i + 1, host, reportCount: 100 + i }, shape, ts));
  return { rows: { networks, instances, fixed_ips: fixedIps, floating_ips: floatingIps, services }, distractors, spareFloating: spare };
}

/** What nova-garp's reader selects from these rows for `host` (readNovaRows' filter, in memory). */
export function selectHostRows(rows: LabRows, host: string): { floatingIps: Array<{ id: number; address: string; interface?: string | null }>; networks: Array<{ id: number; bridge: string; gateway: string; gateway_v6?: string | null; dhcp_server?: string | null; multi_host?: boolean | null }> } {
  const liveRow = (r: Record<string, unknown>): boolean => r.deleted === 0 || r.deleted === false;
  return {
    floatingIps: rows.floating_ips.filter((r) => r.host === host && r.fixed_ip_id !== null && liveRow(r)) as Array<{ id: number; address: string; interface?: string | null }>,
    networks: rows.networks.filter((r) => r.host === host && liveRow(r)) as Array<{ id: number; bridge: string; gateway: string }>,
  };
}

export class LabDatabaseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LabDatabaseError';
  }
}

export interface LabDatabaseSummary {
  shape: Shape;
  applied: string[];
  replaced: boolean;
  rows: Record<LabTable, number>;
  distractors: string[];
  spareFloating: string;
}

/**
 * Creates the database when needed, migrates it to `shape` and replaces nova's rows with the
 * lab's. Rows from an earlier lab run (or `nova-garp db seed --host network-ha`) are replaced;
 * a database with other nova rows is refused, so a real nova database is never emptied.
 */
export async function writeLabDatabase(url: DatabaseUrl, shape: Shape, layout: AddressLayout, timeoutMs = 5000): Promise<LabDatabaseSummary> {
  await createDatabase(url, timeoutMs);
  const handle = openNovaDb(url, { connectTimeoutMs: timeoutMs, readOnly: false });
  try {
    const db = handle.db;
    const { applied } = await migrateToShape(db, shape);
    const existing = await db.selectFrom('floating_ips').select('id').limit(1).execute();
    const existingNets = await db.selectFrom('networks').select('id').limit(1).execute();
    let replaced = false;
    if (existing.length > 0 || existingNets.length > 0) {
      const ours = await db.selectFrom('services').select('id').where('host', '=', NOVA_HOST).where('binary', '=', 'nova-network').limit(1).execute();
      if (ours.length === 0) {
        throw new LabDatabaseError(`${url.redacted} already has nova rows that no lab run wrote (no nova-network service for host ${NOVA_HOST}); use another database`);
      }
      await deleteRows(db);
      replaced = true;
    }
    const set = labRows(layout, shape);
    for (const t of INSERT_ORDER) await insertRows(db, t, set.rows[t]);
    const rows = Object.fromEntries(INSERT_ORDER.map((t) => [t, set.rows[t].length])) as Record<LabTable, number>;
    return { shape, applied, replaced, rows, distractors: set.distractors, spareFloating: set.spareFloating };
  } finally {
    await handle.close();
  }
}
