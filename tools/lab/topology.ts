import { NamespaceGroup } from '../netns/namespaces.js';
import { run } from '../../src/shell.js';
import {
  LAPTOP_IP,
  PRIMARY_HOST_IP,
  PUBLIC_IF,
  PUBLIC_PREFIX,
  ROUTER_LAN_IP,
  ROUTER_PUBLIC_IP,
  STANDBY_HOST_IP,
  bindAll,
  instanceRole,
  type AddressLayout,
} from './addressing.js';

/**
 * The failover topology, built fresh for every mode so no cache survives from one mode to the
 * next:
 *
 *   laptop ── router ── switch:pub ─┬─ primary:pub0   (routing source IP, floating IPs)
 *                                   └─ standby:pub0
 *   instN ── switch:vN ─┬─ primary:vlanN ⊂ brN  (gateway N)
 *                       └─ standby:vlanN ⊂ brN
 *
 * The switch is a namespace with one Linux bridge per segment (a bridge per VLAN stands in for a
 * VLAN-aware switch). The router keeps Linux's default neighbour settings: its stale ARP entries
 * are the outage the lab measures. Nothing is ever created in the root namespace.
 */

export interface Topology {
  group: NamespaceGroup;
  ns: Record<string, string>;
  layout: AddressLayout;
}

export const nsPath = (name: string): string => `/var/run/netns/${name}`;

async function sysctl(group: NamespaceGroup, ns: string, settings: string[]): Promise<void> {
  await group.exec(ns, ['sysctl', '-q', '-w', ...settings]);
}

/** `bindPrimary: false`: the primary's HA manager binds the addresses when it starts nova-network. */
export async function buildTopology(prefix: string, layout: AddressLayout, opts: { bindPrimary: boolean; routerDropsGarp?: boolean } = { bindPrimary: true }): Promise<Topology> {
  const group = new NamespaceGroup(prefix);
  try {
    const roles = ['sw', 'router', 'laptop', 'primary', 'standby', ...layout.networks.map((n) => instanceRole(n.index))];
    const ns: Record<string, string> = {};
    for (const r of roles) ns[r] = await group.add(r);
    const sw = ns.sw!;
    // The switch needs no addresses; without IPv6 its ports stay quiet (no DAD, no MLD).
    await sysctl(group, sw, ['net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
    await sysctl(group, ns.router!, ['net.ipv4.ip_forward=1']);
    // --router-drops-garp: a router configured to ignore gratuitous ARP (both forms); it still
    // learns from ARP requests addressed to it.
    if (opts.routerDropsGarp === true) await sysctl(group, ns.router!, ['net.ipv4.conf.all.drop_gratuitous_arp=1', 'net.ipv4.conf.default.drop_gratuitous_arp=1']);

    const swLines = ['link add pub type bridge', 'link set pub up'];
    const port = (name: string, peer: string, peerNs: string, bridge: string): void => {
      swLines.push(`link add ${name} type veth peer name ${peer} netns ${peerNs}`, `link set ${name} master ${bridge}`, `link set ${name} up`);
    };
    port('r0', 'wan0', ns.router!, 'pub');
    port('p0', PUBLIC_IF, ns.primary!, 'pub');
    port('s0', PUBLIC_IF, ns.standby!, 'pub');
    for (const n of layout.networks) {
      swLines.push(`link add v${n.index} type bridge`, `link set v${n.index} up`);
      port(`pv${n.index}`, n.vlanIf, ns.primary!, `v${n.index}`);
      port(`sv${n.index}`, n.vlanIf, ns.standby!, `v${n.index}`);
      port(`iv${n.index}`, 'eth0', ns[instanceRole(n.index)]!, `v${n.index}`);
    }
    await group.batch(sw, swLines);
    await group.batch(ns.laptop!, [`link add eth0 type veth peer name lan0 netns ${ns.router}`]);

    await group.batch(ns.laptop!, [`address add ${LAPTOP_IP}/24 dev eth0`, 'link set eth0 up', `route add default via ${ROUTER_LAN_IP}`]);
    await group.batch(ns.router!, [
      `address add ${ROUTER_LAN_IP}/24 dev lan0`,
      'link set lan0 up',
      `address add ${ROUTER_PUBLIC_IP}/${PUBLIC_PREFIX} dev wan0`,
      'link set wan0 up',
    ]);
    for (const [role, hostIp] of [
      ['primary', PRIMARY_HOST_IP],
      ['standby', STANDBY_HOST_IP],
    ] as const) {
      const lines = [`address add ${hostIp}/${PUBLIC_PREFIX} dev ${PUBLIC_IF}`, `link set ${PUBLIC_IF} up`, `route add default via ${ROUTER_PUBLIC_IP}`];
      // Both hosts have their VLAN bridges (nova's ensure_bridge); only the active one has addresses.
      for (const n of layout.networks) {
        lines.push(`link add ${n.bridge} type bridge`, `link set ${n.vlanIf} master ${n.bridge}`, `link set ${n.vlanIf} up`, `link set ${n.bridge} up`);
      }
      await group.batch(ns[role]!, lines);
    }
    for (const n of layout.networks) {
      const lines = [`address add ${n.instanceIp}/24 dev eth0`, 'link set eth0 up', `route add default via ${n.gateway}`];
      if (n.instanceIpV6 !== null) lines.push(`address add ${n.instanceIpV6}/64 dev eth0 nodad`);
      await group.batch(ns[instanceRole(n.index)]!, lines);
    }
    if (opts.bindPrimary) await group.batch(ns.primary!, bindAll(layout));
    return { group, ns, layout };
  } catch (err) {
    await group.cleanup();
    throw err;
  }
}

/** t0: the primary's NICs lose their link, as when the machine dies. */
export async function killPrimary(t: Topology): Promise<void> {
  await t.group.batch(t.ns.primary!, [`link set ${PUBLIC_IF} down`, ...t.layout.networks.map((n) => `link set ${n.vlanIf} down`)]);
}

/** The floating IPs a split-brain primary keeps (every fifth, at least one). */
export function splitBrainShare(layout: AddressLayout): string[] {
  return layout.floating.filter((_, i) => i % 5 === 0);
}

/**
 * --split-brain: t0 without a clean death. The primary's VLAN links go down and it lets go of
 * every public address except `keep`, which it goes on holding (and answering ARP for) on a live
 * link, as a half-dead old primary does.
 */
export async function splitPrimary(t: Topology, keep: readonly string[]): Promise<void> {
  const held = new Set(keep);
  const drop = [t.layout.routingSource, ...t.layout.floating].filter((a) => !held.has(a));
  await t.group.batch(t.ns.primary!, [...t.layout.networks.map((n) => `link set ${n.vlanIf} down`), ...drop.map((a) => `address del ${a}/32 dev ${PUBLIC_IF}`)]);
}

export async function standbyBatch(t: Topology, lines: string[]): Promise<void> {
  await t.group.batch(t.ns.standby!, lines);
}

/** The standby's MAC on an interface (tests and notes). */
export async function linkMac(ns: string, ifname: string): Promise<string> {
  const out = JSON.parse(await run(['ip', '-n', ns, '-j', 'link', 'show', 'dev', ifname])) as Array<{ address: string }>;
  return out[0]?.address ?? '';
}
