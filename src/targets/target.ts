/** The addresses a nova-network host owns, as the rest of nova-garp sees them. */
export type TargetKind = 'routing_source' | 'floating' | 'gateway' | 'gateway_v6';

export const TARGET_KINDS: readonly TargetKind[] = ['routing_source', 'floating', 'gateway', 'gateway_v6'];

export interface Target {
  kind: TargetKind;
  /** Canonical text form (IPv4 dotted quad, IPv6 compressed lower case). */
  address: string;
  /** The interface nova-network binds the address on. */
  interface: string;
}

export interface SkippedRow {
  /** Where the row came from, e.g. `floating_ips.id=17` or `nova.conf routing_source_ip`. */
  source: string;
  reason: string;
}

export type InventorySource = 'db' | 'snapshot' | 'static';

export interface Inventory {
  host: string;
  source: InventorySource;
  /** Schema shape the targets were read from, e.g. `cactus` or `newton`, or `static`. */
  schema: string;
  /** ISO time of the read that produced the targets. */
  readAt: string;
  targets: Target[];
  skipped: SkippedRow[];
}
