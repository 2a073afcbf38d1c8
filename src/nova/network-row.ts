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

/**
 * One `networks` row as nova-network writes it, in the Cactus shape (Boolean `deleted`, `dns`) or
 * the Newton one (Integer `deleted` = id when deleted, `dns1/2`, `uuid`, `dhcp_server`, ...).
 */
export function networkRow(spec: NetworkRowSpec, newton: boolean, createdAt: unknown): Record<string, unknown> {
  const { id, vlan, net, gatewayV6 } = spec;
  const row: Record<string, unknown> = {
    created_at: createdAt,
    updated_at: null,
    deleted_at: null,
    id,
    deleted: spec.deleted ? (newton ? id : true) : newton ? 0 : false,
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
  if (newton) {
    Object.assign(row, {
      dns1: '8.8.4.4',
      dns2: null,
      multi_host: spec.multiHost,
      bridge_interface: 'eth1',
      uuid: spec.uuid,
      priority: null,
      rxtx_base: null,
      mtu: null,
      dhcp_server: spec.dhcpServer,
      enable_dhcp: true,
      share_address: false,
    });
  } else {
    row.dns = '8.8.4.4';
  }
  return row;
}
