import type { Kysely, Migration } from 'kysely';
import { MIGRATE_REPOSITORY_PATH, TABLE_OPTIONS, createMigrateVersion, withNovaBase } from './nova-columns.js';

/**
 * nova Cactus 2011.2 (sqlalchemy-migrate version 14: 001_austin, 002_bexar, 003 .. 014), reduced to
 * the tables nova-network's addresses live in. Boolean `deleted`; every string is String(255).
 * Column names and order follow nova-facts.md §2a (Cactus).
 */

const S = 'varchar(255)';

export const CACTUS_VERSION = 14;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations run against a schema that does not exist yet
type AnyDb = Kysely<any>;

async function up(db: AnyDb): Promise<void> {
  await withNovaBase(db.schema.createTable('instances'), 'boolean')
    .addColumn('internal_id', 'integer')
    .addColumn('admin_pass', S)
    .addColumn('user_id', S)
    .addColumn('project_id', S)
    .addColumn('image_id', S)
    .addColumn('kernel_id', S)
    .addColumn('ramdisk_id', S)
    .addColumn('server_name', S)
    .addColumn('launch_index', 'integer')
    .addColumn('key_name', S)
    .addColumn('key_data', 'text')
    .addColumn('state', 'integer')
    .addColumn('state_description', S)
    .addColumn('memory_mb', 'integer')
    .addColumn('vcpus', 'integer')
    .addColumn('local_gb', 'integer')
    .addColumn('hostname', S)
    .addColumn('host', S)
    .addColumn('user_data', 'text')
    .addColumn('reservation_id', S)
    .addColumn('mac_address', S)
    .addColumn('scheduled_at', 'datetime')
    .addColumn('launched_at', 'datetime')
    .addColumn('terminated_at', 'datetime')
    .addColumn('display_name', S)
    .addColumn('display_description', S)
    .addColumn('availability_zone', S)
    .addColumn('locked', 'boolean')
    .addColumn('os_type', S)
    .addColumn('launched_on', 'text')
    .addColumn('instance_type_id', S)
    .modifyEnd(TABLE_OPTIONS)
    .execute();

  await withNovaBase(db.schema.createTable('networks'), 'boolean')
    .addColumn('injected', 'boolean')
    .addColumn('cidr', S)
    .addColumn('netmask', S)
    .addColumn('bridge', S)
    .addColumn('gateway', S)
    .addColumn('broadcast', S)
    .addColumn('dns', S)
    .addColumn('vlan', 'integer')
    .addColumn('vpn_public_address', S)
    .addColumn('vpn_public_port', 'integer')
    .addColumn('vpn_private_address', S)
    .addColumn('dhcp_start', S)
    .addColumn('project_id', S)
    .addColumn('host', S)
    // 002_bexar added cidr_v6 and ra_server; 012 renamed ra_server to gateway_v6 and added netmask_v6.
    .addColumn('cidr_v6', S)
    .addColumn('gateway_v6', S)
    .addColumn('label', S)
    .addColumn('netmask_v6', S)
    .modifyEnd(TABLE_OPTIONS)
    .execute();

  await withNovaBase(db.schema.createTable('fixed_ips'), 'boolean')
    .addColumn('address', S)
    .addColumn('network_id', 'integer', (c) => c.references('networks.id'))
    .addColumn('instance_id', 'integer', (c) => c.references('instances.id'))
    .addColumn('allocated', 'boolean')
    .addColumn('leased', 'boolean')
    .addColumn('reserved', 'boolean')
    .modifyEnd(TABLE_OPTIONS)
    .execute();

  await withNovaBase(db.schema.createTable('floating_ips'), 'boolean')
    .addColumn('address', S)
    .addColumn('fixed_ip_id', 'integer', (c) => c.references('fixed_ips.id'))
    .addColumn('project_id', S)
    .addColumn('host', S)
    .modifyEnd(TABLE_OPTIONS)
    .execute();

  await withNovaBase(db.schema.createTable('services'), 'boolean')
    .addColumn('host', S)
    .addColumn('binary', S)
    .addColumn('topic', S)
    .addColumn('report_count', 'integer', (c) => c.notNull())
    .addColumn('disabled', 'boolean')
    .addColumn('availability_zone', S)
    .modifyEnd(TABLE_OPTIONS)
    .execute();

  await createMigrateVersion(db, MIGRATE_REPOSITORY_PATH.cactus, CACTUS_VERSION);
}

async function down(db: AnyDb): Promise<void> {
  for (const t of ['migrate_version', 'services', 'floating_ips', 'fixed_ips', 'networks', 'instances']) {
    await db.schema.dropTable(t).ifExists().execute();
  }
}

export const cactusMigrations: Record<string, Migration> = {
  'cactus_2011.2_014_nova_network_tables': { up, down },
};
