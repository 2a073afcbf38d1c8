import { deriveConfigTargets, type TargetConfig } from './derive-targets.js';
import type { NovaSettings } from '../nova/settings.js';
import type { Inventory } from '../targets/target.js';

/*
 * Apart from load-inventory.ts so that `serve` with a static inventory or a snapshot does not load
 * the MySQL client (kysely, mysql2: about 20 MB of RSS) to put nova.conf's targets on an inventory.
 */

export type InventorySettings = Pick<NovaSettings, 'host' | 'routingSourceIp' | 'publicInterface' | 'databaseUrl'>;

export function targetConfig(settings: InventorySettings): TargetConfig {
  return { routingSourceIp: settings.routingSourceIp, publicInterface: settings.publicInterface };
}

/**
 * A snapshot knows the DB's targets as of its write; nova.conf is local and readable now, so the
 * routing source IP always comes from the current settings.
 */
export function withCurrentConfig(inventory: Inventory, settings: InventorySettings): Inventory {
  const fromConfig = deriveConfigTargets(targetConfig(settings));
  const taken = new Set(fromConfig.targets.map((t) => t.address));
  return {
    ...inventory,
    targets: [...fromConfig.targets, ...inventory.targets.filter((t) => t.kind !== 'routing_source' && !taken.has(t.address))],
    skipped: [...fromConfig.skipped, ...inventory.skipped.filter((s) => !s.source.startsWith('nova.conf '))],
  };
}
