import { Migrator, type Kysely, type MigrationResult } from 'kysely';
import { cactusMigrations, CACTUS_VERSION } from './cactus-2011.2.js';
import { newtonMigrations, NEWTON_VERSION } from './newton-14.0.0.js';

/**
 * Lab/bench/test databases shaped like nova's: `cactus` (2011.2, version 14, Boolean deleted) or
 * `newton` (14.0.0, version 334, Integer deleted). Kysely's own bookkeeping tables sit next to
 * nova's; the reader never looks at them.
 */

export const SHAPES = ['cactus', 'newton'] as const;
export type Shape = (typeof SHAPES)[number];

export const SHAPE_VERSION: Record<Shape, number> = { cactus: CACTUS_VERSION, newton: NEWTON_VERSION };

const MIGRATIONS = { cactus: cactusMigrations, newton: newtonMigrations };

export function isShape(value: string): value is Shape {
  return (SHAPES as readonly string[]).includes(value);
}

export class MigrationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MigrationError';
  }
}

export interface MigrateOutcome {
  shape: Shape;
  applied: string[];
  alreadyCurrent: boolean;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the schema is what we are creating
export async function migrateToShape(db: Kysely<any>, shape: Shape): Promise<MigrateOutcome> {
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
      const other = SHAPES.find((s) => s !== shape);
      throw new MigrationError(`this database was already migrated to another shape (${other}); use an empty database`);
    }
    throw new MigrationError(msg);
  }
  return { shape, applied, alreadyCurrent: applied.length === 0 };
}
