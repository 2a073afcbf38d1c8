import { Migrator, type Kysely, type Migration, type MigrationResult } from 'kysely';
import { cactusMigrations, CACTUS_VERSION } from './cactus-2011.2.js';
import { DIABLO_VERSION, diabloMigrations, FOLSOM_VERSION, folsomMigrations, GRIZZLY_VERSION, grizzlyMigrations } from './middle-releases.js';
import { newtonMigrations, NEWTON_VERSION } from './newton-14.0.0.js';

/**
 * Lab/bench/test databases shaped like nova's, one shape per set of releases whose tables differ in
 * something nova-garp reads (docs/inventory.md, "Releases and shapes"):
 *
 * | shape     | version | releases it stands for                 | deleted | read columns that exist            |
 * |-----------|---------|----------------------------------------|---------|------------------------------------|
 * | `cactus`  | 14      | 2011.2                                 | Boolean | no multi_host, no interface         |
 * | `diablo`  | 46      | 2011.3                                 | Boolean | multi_host                          |
 * | `folsom`  | 133     | 2012.1 Essex, 2012.2 Folsom            | Boolean | multi_host, floating_ips.interface  |
 * | `grizzly` | 161     | 2013.1 Grizzly, 2013.2 Havana, 2014.1  | Integer | multi_host, interface               |
 * | `newton`  | 334     | 2014.2 Juno .. 20.x Train              | Integer | + dhcp_server, enable_dhcp, share_address |
 *
 * Kysely's own bookkeeping tables sit next to nova's; the reader never looks at them.
 */

/** The shapes the lab writes rows for (`lab --db-shape`). */
export const SHAPES = ['cactus', 'newton'] as const;
export type Shape = (typeof SHAPES)[number];

/** Every shape `db migrate --shape` and `db seed --shape` know, oldest first. */
export const ALL_SHAPES = ['cactus', 'diablo', 'folsom', 'grizzly', 'newton'] as const;
export type AnyShape = (typeof ALL_SHAPES)[number];

export const SHAPE_VERSION: Record<AnyShape, number> = {
  cactus: CACTUS_VERSION,
  diablo: DIABLO_VERSION,
  folsom: FOLSOM_VERSION,
  grizzly: GRIZZLY_VERSION,
  newton: NEWTON_VERSION,
};

/** Which nova releases each shape stands for (what nova-garp reads is the same within a shape). */
export const SHAPE_RELEASES: Record<AnyShape, string> = {
  cactus: '2011.2 (Cactus)',
  diablo: '2011.3 (Diablo)',
  folsom: '2012.1 (Essex), 2012.2 (Folsom)',
  grizzly: '2013.1 (Grizzly), 2013.2 (Havana), 2014.1 (Icehouse)',
  newton: '2014.2 (Juno) .. 20.x (Train)',
};

const MIGRATIONS: Record<AnyShape, Record<string, Migration>> = {
  cactus: cactusMigrations,
  diablo: diabloMigrations,
  folsom: folsomMigrations,
  grizzly: grizzlyMigrations,
  newton: newtonMigrations,
};

export function isShape(value: string): value is Shape {
  return (SHAPES as readonly string[]).includes(value);
}

export function isAnyShape(value: string): value is AnyShape {
  return (ALL_SHAPES as readonly string[]).includes(value);
}

export class MigrationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MigrationError';
  }
}

export interface MigrateOutcome {
  shape: AnyShape;
  applied: string[];
  alreadyCurrent: boolean;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the schema is what we are creating
export async function migrateToShape(db: Kysely<any>, shape: AnyShape): Promise<MigrateOutcome> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => MIGRATIONS[shape] },
    migrationTableName: 'kysely_migration',
    migrationLockTableName: 'kysely_migration_lock',
  });
  const { error, results } = await migrator.migrateToLatest();
  const applied = (results ?? []).filter((r: MigrationResult) => r.status === 'Success').map((r) => r.migrationName);
  if (error !== undefined) {
    const msg = (error as Error).message ?? String(error);
    if (/previously executed migration .* is missing/i.test(msg)) {
      const other = ALL_SHAPES.filter((s) => s !== shape).join(', ');
      throw new MigrationError(`this database was already migrated to another shape (one of ${other}); use an empty database`);
    }
    throw new MigrationError(msg);
  }
  return { shape, applied, alreadyCurrent: applied.length === 0 };
}
