import { parseIp, type IpFamily } from '../net/ip-address.js';
import { validInterfaceName } from '../net/interface-name.js';
import type { SkippedRow, Target, TargetKind } from '../inventory/target.js';
import type { NetworkRow, NovaRows } from './inventory-reader.js';

/**
 * Pure: nova.conf values + nova rows → the addresses this host owns (design.md §3). Every value is
 * judged here; a value that cannot be an address this host may announce becomes a `skipped` entry
 * with a reason, never an exception, because one bad row must not stop the other 9,999.
 */

export interface TargetConfig {
  routingSourceIp: string;
  publicInterface: string;
}

export interface Derived {
  targets: Target[];
  skipped: SkippedRow[];
}

export { validInterfaceName };

/** Why an address may not be announced by anybody, or null when it may. */
function unannounceable(bytes: Uint8Array, family: IpFamily): string | null {
  if (family === 4) {
    const [a = 0, b = 0, c = 0, d = 0] = bytes;
    if (a === 0) return 'is in 0.0.0.0/8';
    if (a === 127) return 'is a loopback address';
    if (a >= 224 && a <= 239) return 'is a multicast address';
    if (a === 255 && b === 255 && c === 255 && d === 255) return 'is the broadcast address';
    return null;
  }
  if (bytes.every((x) => x === 0)) return 'is the unspecified address';
  if (bytes.slice(0, 15).every((x) => x === 0) && bytes[15] === 1) return 'is the loopback address';
  if (bytes[0] === 0xff) return 'is a multicast address';
  return null;
}

class Collector {
  readonly targets: Target[] = [];
  readonly skipped: SkippedRow[] = [];
  private readonly seen = new Map<string, Target>();

  skip(source: string, reason: string): void {
    this.skipped.push({ source, reason });
  }

  /** Validates and adds; `family` is what the column promises (null: either). */
  add(kind: TargetKind, raw: string | null | undefined, iface: string, source: string, family: IpFamily | null): void {
    if (raw === null || raw === undefined || raw.trim() === '') {
      this.skip(source, 'no address');
      return;
    }
    const ip = parseIp(raw);
    if (ip === null) {
      this.skip(source, `'${clip(raw)}' is not an IP address`);
      return;
    }
    if (family !== null && ip.family !== family) {
      this.skip(source, `${ip.text} is IPv${ip.family}, the column holds IPv${family} addresses`);
      return;
    }
    const bad = unannounceable(ip.bytes, ip.family);
    if (bad !== null) {
      this.skip(source, `${ip.text} ${bad}`);
      return;
    }
    if (!validInterfaceName(iface)) {
      this.skip(source, `interface '${clip(iface)}' is not a valid Linux interface name`);
      return;
    }
    const prior = this.seen.get(ip.text);
    if (prior !== undefined) {
      // The same address twice on one interface (dhcp_server = gateway, a duplicated row) is one
      // target; on two interfaces it is a conflict and the first claim stands.
      if (prior.interface !== iface) this.skip(source, `${ip.text} is already a ${prior.kind} target on ${prior.interface}`);
      return;
    }
    const target: Target = { kind, address: ip.text, interface: iface };
    this.seen.set(ip.text, target);
    this.targets.push(target);
  }
}

function clip(text: string): string {
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
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
  c.add('gateway', n.gateway, bridge, `${source} gateway`, 4);
  // Folsom on: nova binds dhcp_server first on the bridge; usually equal to gateway (then deduped).
  if (n.dhcp_server !== undefined && n.dhcp_server !== null && n.dhcp_server.trim() !== '') {
    c.add('gateway', n.dhcp_server, bridge, `${source} dhcp_server`, 4);
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
    // nova binds a floating IP on `public_interface or floating_ip.interface` (Folsom's
    // init_host_floating_ips, Newton's associate path): the row's own interface only counts when
    // public_interface is configured empty.
    const iface = publicInterface !== '' ? publicInterface : (f.interface ?? '').trim();
    if (iface === '') {
      c.skip(`floating_ips.id=${f.id}`, 'public_interface is empty and the row names no interface');
      continue;
    }
    c.add('floating', f.address, iface, `floating_ips.id=${f.id}`, null);
  }
  return { targets: c.targets, skipped: c.skipped };
}

/**
 * design.md §3: the routing source IP lives on "the interface that holds it". When it is bound on
 * another interface than public_interface (e.g. a dedicated SNAT VLAN), announce it there.
 */
export function placeRoutingSource(targets: readonly Target[], boundByInterface: ReadonlyMap<string, ReadonlySet<string>>): Target[] {
  return targets.map((t) => {
    if (t.kind !== 'routing_source' || boundByInterface.get(t.interface)?.has(t.address) === true) return t;
    // Loopback carries no ARP; an address parked there is not announceable from it.
    for (const [iface, addrs] of boundByInterface) if (iface !== 'lo' && addrs.has(t.address)) return { ...t, interface: iface };
    return t;
  });
}
