import type { Inventory, Target } from '../../src/targets/target.js';
import { canonicalIp } from '../../src/net/ip-address.js';

/**
 * The lab's address layout: which address lives where, on both network hosts. Pure, so the layout a
 * run uses is the layout the tests check, and the sidecar's snapshot is derived from the same data.
 *
 * Interface names are the same in `primary` and `standby` (as on two real nova-network hosts) and
 * never exist in the root namespace, so they need no per-run prefix.
 */

export const PUBLIC_IF = 'pub0';
export const LAPTOP_IP = '192.168.77.2';
export const ROUTER_LAN_IP = '192.168.77.1';
export const ROUTER_PUBLIC_IP = '172.20.0.1';
export const ROUTING_SOURCE_IP = '172.20.0.2';
export const PRIMARY_HOST_IP = '172.20.0.11';
export const STANDBY_HOST_IP = '172.20.0.12';
export const PUBLIC_PREFIX = 16;
/** nova's `--host`: both network hosts run nova-network with the same one, as heartbeat setups do. */
export const NOVA_HOST = 'network-ha';

export const MAX_FLOATING_IPS = 10_000;
export const MAX_NETWORKS = 250;

export interface LabNetwork {
  index: number;
  vlan: number;
  /** nova's `networks.bridge`, e.g. br100. */
  bridge: string;
  /** The VLAN interface enslaved to the bridge (nova's `vlan100`). */
  vlanIf: string;
  gateway: string;
  gatewayPrefix: number;
  gatewayV6: string | null;
  instanceIp: string;
  instanceIpV6: string | null;
}

export interface AddressLayout {
  routingSource: string;
  floating: string[];
  networks: LabNetwork[];
  ipv6: boolean;
}

/** Floating IP k (0-based): 172.20.1.1 upwards, 250 per /24, skipping .0 and .251–.255. */
export function floatingIp(k: number): string {
  return `172.20.${1 + Math.floor(k / 250)}.${1 + (k % 250)}`;
}

// The snapshot (and the sidecar) only take canonical text: fd00:1:0::1 is fd00:1::1.
const v6 = (text: string): string => canonicalIp(text)!;

export function makeLayout(floatingIps: number, networks: number, ipv6: boolean): AddressLayout {
  if (!Number.isInteger(floatingIps) || floatingIps < 0 || floatingIps > MAX_FLOATING_IPS) {
    throw new RangeError(`floating IPs must be 0..${MAX_FLOATING_IPS}`);
  }
  if (!Number.isInteger(networks) || networks < 0 || networks > MAX_NETWORKS) throw new RangeError(`networks must be 0..${MAX_NETWORKS}`);
  return {
    routingSource: ROUTING_SOURCE_IP,
    floating: Array.from({ length: floatingIps }, (_, k) => floatingIp(k)),
    networks: Array.from({ length: networks }, (_, n) => ({
      index: n,
      vlan: 100 + n,
      bridge: `br${100 + n}`,
      vlanIf: `vlan${100 + n}`,
      gateway: `10.1.${n}.1`,
      gatewayPrefix: 24,
      gatewayV6: ipv6 ? v6(`fd00:1:${n.toString(16)}::1`) : null,
      instanceIp: `10.1.${n}.2`,
      instanceIpV6: ipv6 ? v6(`fd00:1:${n.toString(16)}::2`) : null,
    })),
    ipv6,
  };
}

/** Every address that moves at failover, as the sidecar sees them. */
export function layoutTargets(layout: AddressLayout): Target[] {
  const targets: Target[] = [{ kind: 'routing_source', address: layout.routingSource, interface: PUBLIC_IF }];
  for (const a of layout.floating) targets.push({ kind: 'floating', address: a, interface: PUBLIC_IF });
  for (const n of layout.networks) {
    targets.push({ kind: 'gateway', address: n.gateway, interface: n.bridge });
    if (n.gatewayV6 !== null) targets.push({ kind: 'gateway_v6', address: n.gatewayV6, interface: n.bridge });
  }
  return targets;
}

/** The inventory the lab hands the sidecar as its snapshot (what nova's database would say). */
export function layoutInventory(layout: AddressLayout, readAt: Date): Inventory {
  return { host: NOVA_HOST, source: 'static', schema: 'static', readAt: readAt.toISOString(), targets: layoutTargets(layout), skipped: [] };
}

/**
 * `ip -batch` lines that bind the moving addresses, in nova-network's init_host order: gateways on
 * the bridges (`_setup_network_on_host`), then floating IPs (`init_host_floating_ips`, /32 as
 * nova's `bind_floating_ip`). The routing source IP comes first: heartbeat's IP resource is
 * started before nova-network. IPv6 gateways use `nodad` (see docs/lab.md).
 */
export function bindRoutingSource(layout: AddressLayout): string[] {
  return [`address add ${layout.routingSource}/32 dev ${PUBLIC_IF}`];
}

export function bindGateways(layout: AddressLayout): string[] {
  const lines: string[] = [];
  for (const n of layout.networks) {
    lines.push(`address add ${n.gateway}/${n.gatewayPrefix} dev ${n.bridge}`);
    if (n.gatewayV6 !== null) lines.push(`address add ${n.gatewayV6}/64 dev ${n.bridge} nodad`);
  }
  return lines;
}

export function bindFloating(address: string): string {
  return `address add ${address}/32 dev ${PUBLIC_IF}`;
}

export function bindAll(layout: AddressLayout): string[] {
  return [...bindRoutingSource(layout), ...bindGateways(layout), ...layout.floating.map(bindFloating)];
}

/** Where each probed address is probed from: the laptop for public ones, an instance for gateways. */
export interface ProbeGroupLayout {
  /** Role of the namespace the probes start in (`laptop`, `inst0`, ...). */
  role: string;
  addresses: string[];
}

export function probeGroups(layout: AddressLayout): ProbeGroupLayout[] {
  return [
    { role: 'laptop', addresses: [layout.routingSource, ...layout.floating] },
    ...layout.networks.map((n) => ({ role: instanceRole(n.index), addresses: n.gatewayV6 === null ? [n.gateway] : [n.gateway, n.gatewayV6] })),
  ];
}

export const instanceRole = (n: number): string => `inst${n}`;
