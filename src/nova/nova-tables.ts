import type { Generated } from 'kysely';

/**
 * The nova tables nova-garp touches, as the union of the columns of every release it reads
 * (Cactus 2011.2 .. Newton 14.0.0). Columns absent from a release are optional here; the reader
 * asks information_schema before selecting any of them.
 */

export interface FloatingIpsTable {
  id: Generated<number>;
  created_at: Date | null;
  updated_at: Date | null;
  deleted_at: Date | null;
  /** Boolean (tinyint(1)) up to Folsom, Integer from Grizzly (0 = live, id when soft-deleted). */
  deleted: number | boolean | null;
  address: string | null;
  fixed_ip_id: number | null;
  project_id: string | null;
  host: string | null;
  auto_assigned?: boolean | null;
  pool?: string | null;
  /** Folsom and later: where nova-network bound the address; empty means public_interface. */
  interface?: string | null;
}

export interface FixedIpsTable {
  id: Generated<number>;
  created_at: Date | null;
  updated_at: Date | null;
  deleted_at: Date | null;
  deleted: number | boolean | null;
  address: string | null;
  network_id: number | null;
  instance_id?: number | null;
  instance_uuid?: string | null;
  virtual_interface_id?: number | null;
  allocated: boolean | null;
  leased: boolean | null;
  reserved: boolean | null;
  host?: string | null;
}

export interface NetworksTable {
  id: Generated<number>;
  created_at: Date | null;
  updated_at: Date | null;
  deleted_at: Date | null;
  deleted: number | boolean | null;
  injected: boolean | null;
  cidr: string | null;
  netmask: string | null;
  bridge: string | null;
  gateway: string | null;
  broadcast: string | null;
  dns?: string | null;
  dns1?: string | null;
  dns2?: string | null;
  vlan: number | null;
  vpn_public_address: string | null;
  vpn_public_port: number | null;
  vpn_private_address: string | null;
  dhcp_start: string | null;
  project_id: string | null;
  host: string | null;
  cidr_v6: string | null;
  gateway_v6: string | null;
  label: string | null;
  netmask_v6: string | null;
  multi_host?: boolean | null;
  bridge_interface?: string | null;
  uuid?: string | null;
  priority?: number | null;
  rxtx_base?: number | null;
  mtu?: number | null;
  dhcp_server?: string | null;
  enable_dhcp?: boolean | null;
  share_address?: boolean | null;
}

export interface InstancesTable {
  id: Generated<number>;
  created_at: Date | null;
  updated_at: Date | null;
  deleted_at: Date | null;
  deleted: number | boolean | null;
  uuid?: string | null;
  internal_id?: number | null;
  hostname: string | null;
  host: string | null;
  project_id: string | null;
  display_name?: string | null;
  mac_address?: string | null;
  state?: number | null;
  state_description?: string | null;
  vm_state?: string | null;
  power_state?: number | null;
  node?: string | null;
}

export interface ServicesTable {
  id: Generated<number>;
  created_at: Date | null;
  updated_at: Date | null;
  deleted_at: Date | null;
  deleted: number | boolean | null;
  host: string | null;
  binary: string | null;
  topic: string | null;
  report_count: number;
  disabled: boolean | null;
}

/** sqlalchemy-migrate's bookkeeping table; one row per repository (`nova`). */
export interface MigrateVersionTable {
  repository_id: string;
  repository_path: string | null;
  version: number | null;
}

export interface InformationSchemaColumns {
  TABLE_SCHEMA: string;
  TABLE_NAME: string;
  COLUMN_NAME: string;
  DATA_TYPE: string;
  COLUMN_TYPE: string;
}

export interface NovaDatabase {
  floating_ips: FloatingIpsTable;
  fixed_ips: FixedIpsTable;
  networks: NetworksTable;
  instances: InstancesTable;
  services: ServicesTable;
  migrate_version: MigrateVersionTable;
  'information_schema.COLUMNS': InformationSchemaColumns;
}
