import type { Logger } from 'pino';
import type { Inventory, Target } from '../inventory/target.js';
import { writeSnapshot } from '../state/snapshot.js';

export const targetKey = (t: { interface: string; address: string }): string => `${t.interface}|${t.address}`;

export interface InventoryChange {
  added: Target[];
  removed: Target[];
}

/**
 * The sidecar's current inventory: where it came from, a by-key index, the changes that RabbitMQ
 * teaches between database reads, and the snapshot on disk that lets all of it survive a restart
 * while the database is away.
 */
export class InventoryState {
  current: Inventory | null = null;
  why = 'not loaded';
  private byKey = new Map<string, Target>();
  private writes: Promise<void> = Promise.resolve();

  constructor(
    private readonly host: () => string,
    /** Null: never written (a static --inventory file is the operator's, not ours). */
    private readonly stateDir: string | null,
    private readonly log: Logger,
  ) {}

  get targets(): readonly Target[] {
    return this.current?.targets ?? [];
  }

  target(ifname: string, address: string): Target | undefined {
    return this.byKey.get(targetKey({ interface: ifname, address }));
  }

  replace(inv: Inventory, why: string, fresh = true): InventoryChange {
    const before = this.byKey;
    this.current = inv;
    this.why = why;
    this.byKey = new Map(inv.targets.map((t) => [targetKey(t), t]));
    if (fresh) for (const s of inv.skipped) this.log.warn({ row: s.source, reason: s.reason }, 'inventory row skipped');
    return {
      added: inv.targets.filter((t) => !before.has(targetKey(t))),
      removed: [...before].filter(([k]) => !this.byKey.has(k)).map(([, t]) => t),
    };
  }

  /** A floating IP learnt from RabbitMQ; replaces an older entry for the same address. */
  addFloating(t: Target): InventoryChange {
    const inv = this.current ?? { host: this.host(), source: 'db' as const, schema: 'unknown', readAt: new Date().toISOString(), targets: [], skipped: [] };
    const change = this.replace({ ...inv, targets: [...inv.targets.filter((x) => !(x.kind === 'floating' && x.address === t.address)), t] }, this.why, false);
    this.persist();
    return change;
  }

  removeFloating(address: string): InventoryChange {
    if (this.current === null) return { added: [], removed: [] };
    const change = this.replace({ ...this.current, targets: this.current.targets.filter((t) => !(t.kind === 'floating' && t.address === address)) }, this.why, false);
    this.persist();
    return change;
  }

  /**
   * Writes run one at a time and each writes the inventory as it is when it starts, so the last
   * one on disk is the latest (concurrent renames could otherwise land an older inventory last).
   */
  persist(): void {
    const dir = this.stateDir;
    if (dir === null) return;
    this.writes = this.writes.then(async () => {
      if (this.current === null) return;
      await writeSnapshot(dir, this.current).catch((err: Error) => this.log.error({ err: err.message, stateDir: dir }, 'cannot write snapshot'));
    });
  }
}
