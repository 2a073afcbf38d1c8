import type { IpFamily } from '../net/ip-address.js';
import { validInterfaceName } from '../net/interface-name.js';
import { checkTarget } from '../targets/announceable.js';
import { floatingInterface, type FloatingInterfaceRule } from '../targets/floating-interface.js';
import type { SkippedRow, Target, TargetKind } from '../targets/target.js';
import type { NetworkRow, NovaRows } from '../nova/inventory-reader.js';

/**
 * Pure: nova.conf values + nova rows → the addresses this host owns (design.md §3). Every value is
 * judged here; a value that cannot be an address this host may announce becomes a `skipped` entry
 * with a reason, never an exception, because one bad row must not stop the other 9,999.
 */

export interface TargetConfig {
  routingSourceIp: string;
  publicInterface: string;
  /** How this release picks a floating IP's interface (from the schema shape); Folsom's rule by default. */
  floatingInterfaceRule?: FloatingInterfaceRule;
}

export interface Derived {
  targets: Target[];
  skipped: SkippedRow[];
}

export { validInterfaceName };

class Collector {
  readonly targets: Target[] = [];
  readonly skipped: SkippedRow[] = [];
  private readonly seen = new Map<string, Target>();

  skip(source: string, reason: string): void {
    this.skipped.push({ source, reason });
  }

  /** Validates (the one rule of src/targets/announceable) and adds; `family` is what the column promises. */
  add(kind: TargetKind, raw: string | null | undefined, iface: string, source: string, family: IpFamily | null): void {
    const check = checkTarget(kind, raw, iface, family);
    if (!check.ok) {
      this.skip(source, check.reason);
      return;
    }
    const { ip, target } = check;
    const prior = this.seen.get(ip.text);
    if (prior !== undefined) {
      // The same address twice on one interface (dhcp_server = gateway, a duplicated row) is one
      // target; on two interfaces it is a conflict and the first claim stands.
      if (prior.interface !== target.interface) this.skip(source, `${ip.text} is already a ${prior.kind} target on ${prior.interface}`);
      return;
    }
    this.seen.set(ip.text, target);
    this.targets.push(target);
  }
}

function truthy(v: boolean | number | null | undefined): boolean {
  return v === true || (typeof v === 'number' && v !== 0);
}

function addNetwork(c: Collector, n: NetworkRow): void {
  const source = `networks.id=${n.id}`;
  if (truthy(n.multi_host)) {
    // Every compute host runs its own nova-network for a multi_host network and binds the gateway
    // (share_address) or its own address there; nothing moves at a network-host failover, and
    // announcing a shared gateway from here would pull other hosts' traffic.
    c.skip(source, 'multi_host network: its addresses belong to each compute host, not to the failed-over network host');
    return;
  }
  const bridge = (n.bridge ?? '').trim();
  if (bridge === '') {
    c.skip(source, 'empty bridge: nova-network has no device to bind the gateway on');
    return;
  }
  const dhcp = (n.dhcp_server ?? '').trim();
  // Juno on (the dhcp_server column): nova binds dhcp_server on the bridge, and a gateway that
  // differs from it is a router outside this host, not an address to announce.
  if (dhcp !== '' && dhcp !== (n.gateway ?? '').trim()) {
    c.skip(`${source} gateway`, `${(n.gateway ?? '').trim() || 'no gateway'} differs from dhcp_server ${dhcp}: nova binds dhcp_server, the gateway is an outside router`);
    c.add('gateway', dhcp, bridge, `${source} dhcp_server`, 4);
  } else {
    c.add('gateway', n.gateway, bridge, `${source} gateway`, 4);
  }
  if (n.gateway_v6 !== undefined && n.gateway_v6 !== null && n.gateway_v6.trim() !== '') {
    c.add('gateway_v6', n.gateway_v6, bridge, `${source} gateway_v6`, 6);
  }
}

/** The target nova.conf alone gives: the routing source IP on public_interface. */
export function deriveConfigTargets(config: TargetConfig): Derived {
  const c = new Collector();
  c.add('routing_source', config.routingSourceIp, config.publicInterface.trim(), 'nova.conf routing_source_ip', null);
  return { targets: c.targets, skipped: c.skipped };
}

export function deriveTargets(config: TargetConfig, rows: NovaRows): Derived {
  const c = new Collector();
  const publicInterface = config.publicInterface.trim();
  c.add('routing_source', config.routingSourceIp, publicInterface, 'nova.conf routing_source_ip', null);
  for (const n of rows.networks) addNetwork(c, n);
  for (const f of rows.floatingIps) {
    const iface = floatingInterface(publicInterface, f.interface, config.floatingInterfaceRule);
    if (iface === null) {
      c.skip(`floating_ips.id=${f.id}`, 'public_interface is empty and the row names no interface');
      continue;
    }
    c.add('floating', f.address, iface, `floating_ips.id=${f.id}`, null);
  }
  return { targets: c.targets, skipped: c.skipped };
}

export { placeRoutingSource } from '../targets/routing-source.js';
