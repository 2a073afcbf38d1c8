import { sql, type CreateTableBuilder, type Kysely } from 'kysely';

/** Helpers shared by both shapes: nova's base model columns and its MySQL table options. */

export type DeletedType = 'boolean' | 'integer';

/**
 * NovaBase (every release): created_at/updated_at/deleted_at and `deleted`, a Boolean up to Folsom
 * and an Integer from Grizzly (0 live, the row id once soft-deleted).
 */
export type BaseColumn = 'created_at' | 'updated_at' | 'deleted_at' | 'deleted' | 'id';

export function withNovaBase<T extends string>(table: CreateTableBuilder<T, never>, deleted: DeletedType): CreateTableBuilder<T, BaseColumn> {
  return table
    .addColumn('created_at', 'datetime')
    .addColumn('updated_at', 'datetime')
    .addColumn('deleted_at', 'datetime')
    .addColumn('deleted', deleted, (c) => (deleted === 'integer' ? c.defaultTo(0) : c.defaultTo(false)))
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement().notNull());
}

/** nova's MySQL tables are InnoDB/utf8 (mysql_engine='InnoDB', mysql_charset='utf8' in the migrations). */
export const TABLE_OPTIONS = sql`ENGINE=InnoDB DEFAULT CHARSET=utf8`;

export const MIGRATE_REPOSITORY_PATH = {
  cactus: '/usr/lib/pymodules/python2.6/nova/db/sqlalchemy/migrate_repo',
  newton: '/usr/lib/python2.7/dist-packages/nova/db/sqlalchemy/migrate_repo',
} as const;

/** sqlalchemy-migrate's bookkeeping table with nova's row, which schema detection reads. */
export async function createMigrateVersion(
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations run before any typed schema exists
  db: Kysely<any>,
  repositoryPath: string,
  version: number,
): Promise<void> {
  await db.schema
    .createTable('migrate_version')
    .addColumn('repository_id', 'varchar(250)', (c) => c.primaryKey().notNull())
    .addColumn('repository_path', 'text')
    .addColumn('version', 'integer')
    .modifyEnd(TABLE_OPTIONS)
    .execute();
  await db.insertInto('migrate_version').values({ repository_id: 'nova', repository_path: repositoryPath, version }).execute();
}
