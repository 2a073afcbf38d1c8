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

/**
 * One `networks` row as nova-network writes it, in the given shape: Cactus (Boolean `deleted`,
 * `dns`), Diablo (`dns1/2`, `multi_host`, `uuid`...), Folsom (+ `rxtx_base`), Grizzly (Integer
 * `deleted` = id when deleted) or Newton (+ `mtu`, `dhcp_server`, `enable_dhcp`, `share_address`).
 * `true`/`false` mean `newton`/`cactus`, as before the middle shapes existed.
 */
export function networkRow(spec: NetworkRowSpec, shapeOrNewton: boolean | RowShape, createdAt: unknown): Record<string, unknown> {
  const shape: RowShape = shapeOrNewton === true ? 'newton' : shapeOrNewton === false ? 'cactus' : shapeOrNewton;
  const newton = shape === 'newton';
  const integerDeleted = shape === 'grizzly' || newton;
  const { id, vlan, net, gatewayV6 } = spec;
  const row: Record<string, unknown> = {
    created_at: createdAt,
    updated_at: null,
    deleted_at: null,
    id,
    deleted: spec.deleted ? (integerDeleted ? id : true) : integerDeleted ? 0 : false,
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
