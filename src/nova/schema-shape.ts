import type { Kysely } from 'kysely';
import type { NovaDatabase } from './nova-tables.js';

/**
 * Which nova schema we are looking at, from `migrate_version` and information_schema, so the
 * reader selects only columns that exist. Release names are a label for people; decisions are
 * made on the columns themselves (a Folsom DB half-way through an upgrade is still readable).
 */

export type DeletedKind = 'boolean' | 'integer' | 'absent';

/**
 * Which interface the release's init_host binds a floating IP on:
 * - `public_interface`: Cactus, Diablo (no `floating_ips.interface` column);
 * - `row`: Essex 2012.1, `floating_ips.interface` alone (`l3driver.add_floating_ip(..., floating_ip['interface'])`);
 * - `public_interface-or-row`: Folsom and later, `public_interface or floating_ip.interface`.
 */
import type { FloatingInterfaceRule } from '../targets/floating-interface.js';

export type { FloatingInterfaceRule };

export interface SchemaShape {
  /** Release whose migrations end at or after `version` (`cactus`, `folsom`, `newton`...), or `unknown`. */
  release: string;
  /** sqlalchemy-migrate version of the `nova` repository, null when not version-controlled. */
  version: number | null;
  deleted: DeletedKind;
  floatingIps: { columns: string[]; interface: boolean; interfaceRule: FloatingInterfaceRule };
  networks: {
    columns: string[];
    dhcpServer: boolean;
    gatewayV6: boolean;
    multiHost: boolean;
    /** Juno (245) on; they only matter for multi_host networks, which nova-garp does not announce. */
    enableDhcp: boolean;
    shareAddress: boolean;
  };
}

export interface CatalogColumn {
  table: string;
  column: string;
  /** information_schema DATA_TYPE, e.g. `tinyint`, `int`, `varchar`. */
  dataType: string;
  /** information_schema COLUMN_TYPE, e.g. `tinyint(1)`. */
  columnType: string;
}

export class SchemaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SchemaError';
  }
}

// Highest main-repo migration per release (nova-facts §2a).
const RELEASES: ReadonlyArray<readonly [number, string]> = [
  [14, 'cactus'],
  [46, 'diablo'],
  [82, 'essex'],
  [133, 'folsom'],
  [161, 'grizzly'],
  [216, 'havana'],
  [233, 'icehouse'],
  [254, 'juno'],
  [280, 'kilo'],
  [302, 'liberty'],
  [319, 'mitaka'],
  [334, 'newton'],
  [347, 'ocata'],
];

export function releaseForVersion(version: number | null): string {
  if (version === null) return 'unknown';
  for (const [max, name] of RELEASES) if (version <= max) return name;
  return 'post-ocata';
}

export const CATALOG_TABLES = ['floating_ips', 'networks'] as const;

const REQUIRED: Record<(typeof CATALOG_TABLES)[number], string[]> = {
  floating_ips: ['id', 'address', 'host', 'fixed_ip_id'],
  networks: ['id', 'host', 'bridge', 'gateway'],
};

/** Pure: catalog rows + version → shape. Throws SchemaError when this is not a nova database. */
export function shapeFromCatalog(columns: readonly CatalogColumn[], version: number | null): SchemaShape {
  const byTable = new Map<string, Map<string, CatalogColumn>>();
  for (const c of columns) {
    const t = c.table.toLowerCase();
    let m = byTable.get(t);
    if (m === undefined) byTable.set(t, (m = new Map()));
    m.set(c.column.toLowerCase(), c);
  }
  for (const table of CATALOG_TABLES) {
    const cols = byTable.get(table);
    if (cols === undefined) throw new SchemaError(`table ${table} does not exist: not a nova database (or nova-manage db sync never ran)`);
    const missing = REQUIRED[table].filter((c) => !cols.has(c));
    if (missing.length > 0) throw new SchemaError(`${table} lacks column(s) ${missing.join(', ')}: not a nova-network schema`);
  }
  const fip = byTable.get('floating_ips') as Map<string, CatalogColumn>;
  const net = byTable.get('networks') as Map<string, CatalogColumn>;
  const del = fip.get('deleted');
  const deleted: DeletedKind =
    del === undefined ? 'absent' : del.dataType.toLowerCase() === 'bit' || /^tinyint\(1\)/i.test(del.columnType) || del.dataType.toLowerCase() === 'boolean' ? 'boolean' : 'integer';
  const release = releaseForVersion(version);
  const interfaceRule: FloatingInterfaceRule = !fip.has('interface') ? 'public_interface' : release === 'essex' ? 'row' : 'public_interface-or-row';
  return {
    release,
    version,
    deleted,
    floatingIps: { columns: [...fip.keys()].sort(), interface: fip.has('interface'), interfaceRule },
    networks: {
      columns: [...net.keys()].sort(),
      dhcpServer: net.has('dhcp_server'),
      gatewayV6: net.has('gateway_v6'),
      multiHost: net.has('multi_host'),
      enableDhcp: net.has('enable_dhcp'),
      shareAddress: net.has('share_address'),
    },
  };
}

/** Two small queries: the columns of the tables we read, and migrate_version when it exists. */
export async function detectSchema(db: Kysely<NovaDatabase>): Promise<SchemaShape> {
  const rows = await db
    .selectFrom('information_schema.COLUMNS')
    .select(['TABLE_NAME', 'COLUMN_NAME', 'DATA_TYPE', 'COLUMN_TYPE'])
    .where(({ eb, fn }) => eb('TABLE_SCHEMA', '=', fn<string>('DATABASE', [])))
    .where('TABLE_NAME', 'in', [...CATALOG_TABLES, 'migrate_version'])
    .execute();
  const columns: CatalogColumn[] = rows.map((r) => ({
    table: String(r.TABLE_NAME),
    column: String(r.COLUMN_NAME),
    dataType: String(r.DATA_TYPE),
    columnType: String(r.COLUMN_TYPE),
  }));
  let version: number | null = null;
  const mv = new Set(columns.filter((c) => c.table.toLowerCase() === 'migrate_version').map((c) => c.column.toLowerCase()));
  if (mv.has('version') && mv.has('repository_id')) {
    const versions = await db.selectFrom('migrate_version').select(['repository_id', 'version']).execute();
    // The main repository is `nova`; Newton keeps `nova_api` in another database, but be exact.
    const main = versions.find((v) => v.repository_id === 'nova') ?? versions[0];
    version = main?.version === undefined || main.version === null ? null : Number(main.version);
  }
  return shapeFromCatalog(columns, version);
}
