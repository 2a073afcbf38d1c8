import type { Kysely, Migration } from 'kysely';
import { MIGRATE_REPOSITORY_PATH, TABLE_OPTIONS, createMigrateVersion, withNovaBase } from './nova-columns.js';

/**
 * nova Newton 14.0.0 (sqlalchemy-migrate version 334: 216_havana baseline .. 334), reduced to the
 * tables nova-network's addresses live in. Integer `deleted` (Grizzly's 152); IP columns are
 * types.IPAddress = String(39) on MySQL and CIDRs String(43). Names per nova-facts.md §2a (Newton).
 */

const S = 'varchar(255)';
const IP = 'varchar(39)';
const CIDR = 'varchar(43)';
const UUID = 'varchar(36)';

export const NEWTON_VERSION = 334;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations run against a schema that does not exist yet
type AnyDb = Kysely<any>;

async function up(db: AnyDb): Promise<void> {
  await withNovaBase(db.schema.createTable('instances'), 'integer')
    .addColumn('uuid', UUID, (c) => c.notNull())
    .addColumn('user_id', S)
    .addColumn('project_id', S)
    .addColumn('hostname', S)
    .addColumn('host', S)
    .addColumn('node', S)
    .addColumn('display_name', S)
    .addColumn('vm_state', S)
    .addColumn('task_state', S)
    .addColumn('power_state', 'integer')
    .addColumn('launched_on', 'text')
    .addColumn('availability_zone', S)
    .addColumn('cell_name', S)
    .addUniqueConstraint('uniq_instances0uuid', ['uuid'])
    .modifyEnd(TABLE_OPTIONS)
    .execute();
  await db.schema.createIndex('instances_host_deleted_idx').on('instances').columns(['host', 'deleted']).execute();

  await withNovaBase(db.schema.createTable('networks'), 'integer')
    .addColumn('injected', 'boolean')
    .addColumn('cidr', CIDR)
    .addColumn('netmask', IP)
    .addColumn('bridge', S)
    .addColumn('gateway', IP)
    .addColumn('broadcast', IP)
    .addColumn('dns1', IP)
    .addColumn('vlan', 'integer')
    .addColumn('vpn_public_address', IP)
    .addColumn('vpn_public_port', 'integer')
    .addColumn('vpn_private_address', IP)
    .addColumn('dhcp_start', IP)
    .addColumn('project_id', S)
    .addColumn('host', S)
    .addColumn('cidr_v6', CIDR)
    .addColumn('gateway_v6', IP)
    .addColumn('label', S)
    .addColumn('netmask_v6', IP)
    .addColumn('bridge_interface', S)
    .addColumn('multi_host', 'boolean')
    .addColumn('dns2', IP)
    .addColumn('uuid', UUID)
    .addColumn('priority', 'integer')
    .addColumn('rxtx_base', 'integer')
    .addColumn('mtu', 'integer')
    .addColumn('dhcp_server', IP)
    .addColumn('enable_dhcp', 'boolean', (c) => c.defaultTo(true))
    .addColumn('share_address', 'boolean', (c) => c.defaultTo(false))
    .addUniqueConstraint('uniq_networks0vlan0deleted', ['vlan', 'deleted'])
    .modifyEnd(TABLE_OPTIONS)
    .execute();
  await db.schema.createIndex('networks_host_idx').on('networks').column('host').execute();
  await db.schema.createIndex('networks_bridge_deleted_idx').on('networks').columns(['bridge', 'deleted']).execute();

  await withNovaBase(db.schema.createTable('virtual_interfaces'), 'integer')
    .addColumn('address', S)
    .addColumn('network_id', 'integer')
    .addColumn('uuid', UUID)
    .addColumn('instance_uuid', UUID, (c) => c.references('instances.uuid'))
    .addColumn('tag', S)
    .addUniqueConstraint('uniq_virtual_interfaces0address0deleted', ['address', 'deleted'])
    .modifyEnd(TABLE_OPTIONS)
    .execute();

  await withNovaBase(db.schema.createTable('fixed_ips'), 'integer')
    .addColumn('address', IP)
    .addColumn('network_id', 'integer')
    .addColumn('allocated', 'boolean')
    .addColumn('leased', 'boolean')
    .addColumn('reserved', 'boolean')
    .addColumn('virtual_interface_id', 'integer')
    .addColumn('host', S)
    .addColumn('instance_uuid', UUID, (c) => c.references('instances.uuid'))
    .addUniqueConstraint('uniq_fixed_ips0address0deleted', ['address', 'deleted'])
    .modifyEnd(TABLE_OPTIONS)
    .execute();
  await db.schema.createIndex('fixed_ips_host_idx').on('fixed_ips').column('host').execute();
  await db.schema.createIndex('fixed_ips_network_id_host_deleted_idx').on('fixed_ips').columns(['network_id', 'host', 'deleted']).execute();

  await withNovaBase(db.schema.createTable('floating_ips'), 'integer')
    .addColumn('address', IP)
    .addColumn('fixed_ip_id', 'integer')
    .addColumn('project_id', S)
    .addColumn('host', S)
    .addColumn('auto_assigned', 'boolean')
    .addColumn('pool', S)
    .addColumn('interface', S)
    .addUniqueConstraint('uniq_floating_ips0address0deleted', ['address', 'deleted'])
    .modifyEnd(TABLE_OPTIONS)
    .execute();
  await db.schema.createIndex('floating_ips_host_idx').on('floating_ips').column('host').execute();
  await db.schema.createIndex('floating_ips_project_id_idx').on('floating_ips').column('project_id').execute();
  await db.schema.createIndex('fixed_ip_id').on('floating_ips').column('fixed_ip_id').execute();

  await withNovaBase(db.schema.createTable('services'), 'integer')
    .addColumn('host', S)
    .addColumn('binary', S)
    .addColumn('topic', S)
    .addColumn('report_count', 'integer', (c) => c.notNull())
    .addColumn('disabled', 'boolean')
    .addColumn('disabled_reason', S)
    .addColumn('last_seen_up', 'datetime')
    .addColumn('forced_down', 'boolean')
    .addColumn('version', 'integer')
    .addUniqueConstraint('uniq_services0host0topic0deleted', ['host', 'topic', 'deleted'])
    .addUniqueConstraint('uniq_services0host0binary0deleted', ['host', 'binary', 'deleted'])
    .modifyEnd(TABLE_OPTIONS)
    .execute();

  await createMigrateVersion(db, MIGRATE_REPOSITORY_PATH.newton, NEWTON_VERSION);
}

async function down(db: AnyDb): Promise<void> {
  for (const t of ['migrate_version', 'services', 'floating_ips', 'fixed_ips', 'virtual_interfaces', 'networks', 'instances']) {
    await db.schema.dropTable(t).ifExists().execute();
  }
}

export const newtonMigrations: Record<string, Migration> = {
  'newton_14.0.0_334_nova_network_tables': { up, down },
};
