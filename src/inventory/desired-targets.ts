import type { ParsedIp } from '../net/ip-address.js';
import type { Inventory, Target } from '../targets/target.js';

export type Origin = 'inventory' | 'amqp';

export interface DesiredTarget {
  target: Target;
  /** The parsed address, cached by the reconciler. */
  ip?: ParsedIp;
  origin: Origin;
  /** Clock time it was learnt (AMQP) or read (inventory). */
  at: number;
}

export interface DesiredChange {
  added: DesiredTarget[];
  removed: Target[];
}

/**
 * The desired state: the last inventory read (database, snapshot or static file) with the
 * associations and disassociations RabbitMQ taught since. A database read may have started before
 * an association arrived and come back without it: what RabbitMQ taught after the read started
 * stays on top of that read, and only older lessons are superseded by it. One target per address
 * (derivation already refuses the same address on two interfaces).
 */
export class DesiredTargets {
  private base: Inventory | null = null;
  private baseAt = -Infinity;
  private readonly learned = new Map<string, { target: Target; at: number }>();
  private readonly unlearned = new Map<string, number>();
  private merged = new Map<string, DesiredTarget>();
  /** Bumped whenever the desired state changes (a sweep iterating it then re-reads each target). */
  version = 0;

  get inventory(): Inventory | null {
    return this.base;
  }

  get size(): number {
    return this.merged.size;
  }

  get(address: string): DesiredTarget | undefined {
    return this.merged.get(address);
  }

  values(): IterableIterator<DesiredTarget> {
    return this.merged.values();
  }

  /** `startedAt`: clock time the read began; lessons newer than it survive it. */
  setBase(inventory: Inventory, startedAt: number): DesiredChange {
    this.base = inventory;
    this.baseAt = startedAt;
    for (const [a, l] of this.learned) if (l.at < startedAt) this.learned.delete(a);
    for (const [a, at] of this.unlearned) if (at < startedAt) this.unlearned.delete(a);
    return this.remerge();
  }

  /** A floating IP associated over RabbitMQ. An address the inventory has as another kind keeps it. */
  learn(target: Target, at: number): DesiredChange {
    const prior = this.merged.get(target.address);
    if (prior !== undefined && prior.target.kind !== 'floating') return { added: [], removed: [] };
    this.learned.set(target.address, { target, at });
    this.unlearned.delete(target.address);
    return this.remerge();
  }

  /** A floating IP disassociated over RabbitMQ; other kinds are not RabbitMQ's to remove. */
  unlearn(address: string, at: number): DesiredChange {
    const prior = this.merged.get(address);
    if (prior === undefined || prior.target.kind !== 'floating') return { added: [], removed: [] };
    this.learned.delete(address);
    this.unlearned.set(address, at);
    return this.remerge();
  }

  /** The desired state as an inventory, for the snapshot and /v1/status. */
  toInventory(host: string, now: Date): Inventory {
    const base = this.base ?? { host, source: 'db' as const, schema: 'unknown', readAt: now.toISOString(), targets: [], skipped: [] };
    return { ...base, targets: [...this.merged.values()].map((d) => d.target) };
  }

  private remerge(): DesiredChange {
    const next = new Map<string, DesiredTarget>();
    for (const t of this.base?.targets ?? []) {
      if (t.kind === 'floating' && this.unlearned.has(t.address)) continue;
      next.set(t.address, { target: t, origin: 'inventory', at: this.baseAt });
    }
    for (const [address, l] of this.learned) {
      const prior = next.get(address);
      if (prior !== undefined && prior.target.kind !== 'floating') continue;
      next.set(address, { target: l.target, origin: 'amqp', at: l.at });
    }
    const added: DesiredTarget[] = [];
    const removed: Target[] = [];
    for (const [a, d] of next) {
      const old = this.merged.get(a);
      if (old === undefined) added.push(d);
      else if (old.target.interface !== d.target.interface || old.target.kind !== d.target.kind) {
        removed.push(old.target);
        added.push(d);
      }
    }
    for (const [a, old] of this.merged) if (!next.has(a)) removed.push(old.target);
    this.merged = next;
    this.version++;
    return { added, removed };
  }
}
