import type { Kysely, Migration } from 'kysely';
import { MIGRATE_REPOSITORY_PATH, TABLE_OPTIONS, createMigrateVersion, withNovaBase, type DeletedType } from './nova-columns.js';

/**
 * The shapes between Cactus and Newton that differ in something nova-garp reads (docs/inventory.md,
 * "Releases and shapes"), reduced like the other two to the tables nova-network's addresses live in.
 * Column names, types and order follow each release's models.py and migrations:
 *
 * - `diablo`  2011.3, version 46: Boolean `deleted`; networks gain `multi_host` (033_ha_network),
 *   `dns1/dns2`, `bridge_interface`, `priority`, `uuid`; fixed_ips gain `host` and
 *   `virtual_interface_id`; floating_ips gain `auto_assigned` (015) but have no `interface` yet.
 * - `folsom`  2012.2, version 133 (also what Essex 2012.1, version 82, reads like): floating_ips gain
 *   `pool` and `interface` (067), networks `rxtx_base`; fixed_ips/virtual_interfaces key on
 *   `instance_uuid` (113). Still Boolean `deleted` and String(255) everywhere.
 * - `grizzly` 2013.1, version 161 (Havana 216 and Icehouse 233 read the same): `deleted` becomes the
 *   Integer of `id` (152), IP columns String(39) (159) and CIDRs String(43) (156) on MySQL,
 *   services lose `availability_zone` (147). No `dhcp_server` yet: that is Juno's 245 (the `newton` shape).
 */

const S = 'varchar(255)' as const;
const UUID = 'varchar(36)' as const;

export const DIABLO_VERSION = 46;
export const FOLSOM_VERSION = 133;
export const GRIZZLY_VERSION = 161;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations run against a schema that does not exist yet
type AnyDb = Kysely<any>;

interface Spec {
  deleted: DeletedType;
  ip: 'varchar(255)' | 'varchar(39)';
  cidr: 'varchar(255)' | 'varchar(43)';
  /** floating_ips.pool/interface, networks.rxtx_base, instance_uuid keys (Essex/Folsom on). */
  folsomColumns: boolean;
  servicesZone: boolean;
  repositoryPath: string;
  version: number;
}

function build(spec: Spec): Migration {
  const { ip, cidr, deleted } = spec;
  async function up(db: AnyDb): Promise<void> {
    await withNovaBase(db.schema.createTable('instances'), deleted)
      .addColumn('user_id', S)
      .addColumn('project_id', S)
      .addColumn('image_ref', S)
      .addColumn('power_state', 'integer')
      .addColumn('vm_state', S)
      .addColumn('task_state', S)
      .addColumn('hostname', S)
      .addColumn('host', S)
      .addColumn('availability_zone', S)
      .addColumn('display_name', S)
      .addColumn('launched_on', 'text')
      .addColumn('uuid', UUID)
      .modifyEnd(TABLE_OPTIONS)
      .execute();
    await db.schema.createIndex('instances_uuid_idx').on('instances').column('uuid').execute();

    let networks = withNovaBase(db.schema.createTable('networks'), deleted)
      .addColumn('injected', 'boolean')
      .addColumn('cidr', cidr)
      .addColumn('netmask', ip)
      .addColumn('bridge', S)
      .addColumn('gateway', ip)
      .addColumn('broadcast', ip)
      .addColumn('dns1', ip)
      .addColumn('vlan', 'integer')
      .addColumn('vpn_public_address', ip)
      .addColumn('vpn_public_port', 'integer')
      .addColumn('vpn_private_address', ip)
      .addColumn('dhcp_start', ip)
      .addColumn('project_id', S)
      .addColumn('host', S)
      .addColumn('cidr_v6', cidr)
      .addColumn('gateway_v6', ip)
      .addColumn('label', S)
      .addColumn('netmask_v6', ip)
      .addColumn('bridge_interface', S)
      .addColumn('multi_host', 'boolean', (c) => c.defaultTo(false))
      .addColumn('dns2', ip)
      .addColumn('uuid', UUID)
      .addColumn('priority', 'integer');
    if (spec.folsomColumns) networks = networks.addColumn('rxtx_base', 'integer');
    await networks.modifyEnd(TABLE_OPTIONS).execute();
    if (deleted === 'integer') {
      // 158_add_networks_uc (Grizzly).
      await db.schema.createIndex('uniq_vlan0deleted').on('networks').columns(['vlan', 'deleted']).unique().execute();
    }

    let vifs = withNovaBase(db.schema.createTable('virtual_interfaces'), deleted)
      .addColumn('address', S, (c) => c.unique())
      .addColumn('network_id', 'integer')
      .addColumn('uuid', UUID);
    vifs = spec.folsomColumns ? vifs.addColumn('instance_uuid', UUID) : vifs.addColumn('instance_id', 'integer', (c) => c.references('instances.id'));
    await vifs.modifyEnd(TABLE_OPTIONS).execute();

    let fixed = withNovaBase(db.schema.createTable('fixed_ips'), deleted)
      .addColumn('address', ip)
      .addColumn('network_id', 'integer')
      .addColumn('virtual_interface_id', 'integer')
      .addColumn('allocated', 'boolean')
      .addColumn('leased', 'boolean')
      .addColumn('reserved', 'boolean')
      .addColumn('host', S);
    fixed = spec.folsomColumns ? fixed.addColumn('instance_uuid', UUID) : fixed.addColumn('instance_id', 'integer', (c) => c.references('instances.id'));
    await fixed.modifyEnd(TABLE_OPTIONS).execute();
    await db.schema.createIndex('fixed_ips_host_idx').on('fixed_ips').column('host').execute();

    let floating = withNovaBase(db.schema.createTable('floating_ips'), deleted)
      .addColumn('address', ip)
      .addColumn('fixed_ip_id', 'integer')
      .addColumn('project_id', S)
      .addColumn('host', S)
      .addColumn('auto_assigned', 'boolean', (c) => c.notNull().defaultTo(false));
    if (spec.folsomColumns) floating = floating.addColumn('pool', S).addColumn('interface', S);
    await floating.modifyEnd(TABLE_OPTIONS).execute();
    await db.schema.createIndex('floating_ips_host_idx').on('floating_ips').column('host').execute();

    let services = withNovaBase(db.schema.createTable('services'), deleted)
      .addColumn('host', S)
      .addColumn('binary', S)
      .addColumn('topic', S)
      .addColumn('report_count', 'integer', (c) => c.notNull())
      .addColumn('disabled', 'boolean');
    if (spec.servicesZone) services = services.addColumn('availability_zone', S);
    await services.modifyEnd(TABLE_OPTIONS).execute();

    await createMigrateVersion(db, spec.repositoryPath, spec.version);
  }
  async function down(db: AnyDb): Promise<void> {
    for (const t of ['migrate_version', 'services', 'floating_ips', 'fixed_ips', 'virtual_interfaces', 'networks', 'instances']) {
      await db.schema.dropTable(t).ifExists().execute();
    }
  }
  return { up, down };
}

export const diabloMigrations: Record<string, Migration> = {
  'diablo_2011.3_046_nova_network_tables': build({
    deleted: 'boolean',
    ip: S,
    cidr: S,
    folsomColumns: false,
    servicesZone: true,
    repositoryPath: MIGRATE_REPOSITORY_PATH.cactus.replace('python2.6', 'python2.7'),
    version: DIABLO_VERSION,
  }),
};

export const folsomMigrations: Record<string, Migration> = {
  'folsom_2012.2_133_nova_network_tables': build({
    deleted: 'boolean',
    ip: S,
    cidr: S,
    folsomColumns: true,
    servicesZone: true,
    repositoryPath: MIGRATE_REPOSITORY_PATH.newton,
    version: FOLSOM_VERSION,
  }),
};

export const grizzlyMigrations: Record<string, Migration> = {
  'grizzly_2013.1_161_nova_network_tables': build({
    deleted: 'integer',
    ip: 'varchar(39)',
    cidr: 'varchar(43)',
    folsomColumns: true,
    servicesZone: false,
    repositoryPath: MIGRATE_REPOSITORY_PATH.newton,
    version: GRIZZLY_VERSION,
  }),
};
