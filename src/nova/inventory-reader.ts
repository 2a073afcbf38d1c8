import type { Kysely } from 'kysely';
import type { NovaDatabase } from './nova-tables.js';
import type { SchemaShape } from './schema-shape.js';

/**
 * The two read-only queries behind the inventory: this host's live, associated floating IPs and
 * this host's live networks. Filtering happens in SQL (indexes on host in every release from
 * Grizzly on); judging the values is derive-targets' job, so odd rows come back as they are.
 */

export interface FloatingIpRow {
  id: number;
  address: string | null;
  /** Folsom and later; undefined when the column does not exist. */
  interface?: string | null;
}

export interface NetworkRow {
  id: number;
  bridge: string | null;
  gateway: string | null;
  gateway_v6?: string | null;
  dhcp_server?: string | null;
  multi_host?: boolean | number | null;
  label?: string | null;
}

export interface NovaRows {
  floatingIps: FloatingIpRow[];
  networks: NetworkRow[];
}

export async function readNovaRows(db: Kysely<NovaDatabase>, host: string, shape: SchemaShape): Promise<NovaRows> {
  const fipCols: Array<'id' | 'address' | 'interface'> = ['id', 'address'];
  if (shape.floatingIps.interface) fipCols.push('interface');
  let fips = db.selectFrom('floating_ips').select(fipCols).where('host', '=', host).where('fixed_ip_id', 'is not', null);
  // Boolean false and Integer 0 both mean live; NULL is not live, as in nova's own filter.
  if (shape.deleted !== 'absent') fips = fips.where('deleted', '=', 0);

  const netCols: Array<'id' | 'bridge' | 'gateway' | 'gateway_v6' | 'dhcp_server' | 'multi_host' | 'label'> = ['id', 'bridge', 'gateway'];
  if (shape.networks.gatewayV6) netCols.push('gateway_v6');
  if (shape.networks.dhcpServer) netCols.push('dhcp_server');
  if (shape.networks.multiHost) netCols.push('multi_host');
  if (shape.networks.columns.includes('label')) netCols.push('label');
  let nets = db.selectFrom('networks').select(netCols).where('host', '=', host);
  if (shape.deleted !== 'absent') nets = nets.where('deleted', '=', 0);

  // Sequential on purpose: one connection, and MySQL serialises statements on it anyway.
  const floatingIps = (await fips.orderBy('id').execute()) as FloatingIpRow[];
  const networks = (await nets.orderBy('id').execute()) as NetworkRow[];
  return { floatingIps, networks };
}
