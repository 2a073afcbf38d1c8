import type { Target } from './target.js';

/**
 * design.md §3: the routing source IP lives on "the interface that holds it". nova.conf names
 * public_interface, but a dedicated SNAT VLAN may hold it instead: announce it where it is bound.
 * public_interface wins when it holds the address; loopback never counts (no ARP there).
 */
export function routingSourceInterface(configured: string, holding: readonly string[]): string {
  if (holding.includes(configured)) return configured;
  return holding.find((i) => i !== 'lo') ?? configured;
}

/** `plan`'s view: every target with the routing source placed where it is bound now. */
export function placeRoutingSource(targets: readonly Target[], boundByInterface: ReadonlyMap<string, ReadonlySet<string>>): Target[] {
  return targets.map((t) => {
    if (t.kind !== 'routing_source') return t;
    const holding = [...boundByInterface].filter(([, addrs]) => addrs.has(t.address)).map(([i]) => i);
    const iface = routingSourceInterface(t.interface, holding);
    return iface === t.interface ? t : { ...t, interface: iface };
  });
}
