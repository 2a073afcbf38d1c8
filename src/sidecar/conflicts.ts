/** Split brain: another MAC claims one of the addresses this host holds. */
export interface Conflict {
  address: string;
  interface: string;
  /** The other claimant's MAC (ARP sender hardware address). */
  mac: string;
  firstSeen: string;
  lastSeen: string;
  count: number;
}

/** RFC 5227 §2.4: at most one defence per address within DEFEND_INTERVAL. */
export const DEFEND_INTERVAL_MS = 10_000;
export const DEFAULT_CONFLICT_EXPIRE_MS = 60_000;

interface Entry extends Conflict {
  lastSeenMs: number;
}

/**
 * The conflicts seen on the wire, pure: one entry per (address, interface, MAC), cleared when not
 * seen for `expireMs`, and the defence rate limit per address.
 */
export class ConflictTable {
  private readonly entries = new Map<string, Entry>();
  private readonly defended = new Map<string, number>();

  constructor(
    private readonly expireMs = DEFAULT_CONFLICT_EXPIRE_MS,
    private readonly wall: () => Date = () => new Date(),
  ) {}

  /** Records a sighting at `nowMs`; returns the entry and whether it is new. */
  seen(address: string, ifname: string, mac: string, nowMs: number): { conflict: Conflict; fresh: boolean } {
    const key = `${address}|${ifname}|${mac}`;
    const at = this.wall().toISOString();
    const e = this.entries.get(key);
    if (e !== undefined) {
      e.lastSeen = at;
      e.lastSeenMs = nowMs;
      e.count++;
      return { conflict: strip(e), fresh: false };
    }
    const fresh: Entry = { address, interface: ifname, mac, firstSeen: at, lastSeen: at, count: 1, lastSeenMs: nowMs };
    this.entries.set(key, fresh);
    return { conflict: strip(fresh), fresh: true };
  }

  /** Removes the entries not seen for expireMs; returns them. */
  expire(nowMs: number): Conflict[] {
    const gone: Conflict[] = [];
    for (const [k, e] of this.entries) {
      if (nowMs - e.lastSeenMs >= this.expireMs) {
        this.entries.delete(k);
        gone.push(strip(e));
      }
    }
    for (const [a, t] of this.defended) if (nowMs - t >= DEFEND_INTERVAL_MS) this.defended.delete(a);
    return gone;
  }

  /** Whether a defence of `address` may go now (and if so, books it). */
  mayDefend(address: string, nowMs: number): boolean {
    const last = this.defended.get(address);
    if (last !== undefined && nowMs - last < DEFEND_INTERVAL_MS) return false;
    this.defended.set(address, nowMs);
    return true;
  }

  get size(): number {
    return this.entries.size;
  }

  list(): Conflict[] {
    return [...this.entries.values()].map(strip);
  }
}

function strip(e: Entry): Conflict {
  return { address: e.address, interface: e.interface, mac: e.mac, firstSeen: e.firstSeen, lastSeen: e.lastSeen, count: e.count };
}
