import { sql } from 'kysely';
import { describeDbError, openNovaDb, withDeadline } from '../nova/db-connection.js';
import { parseDatabaseUrl, redactUrl } from '../nova/database-url.js';
import { deriveTargets } from './derive-targets.js';
import { targetConfig, withCurrentConfig, type InventorySettings } from './current-config.js';
import { readNovaRows } from '../nova/inventory-reader.js';
import { detectSchema, type SchemaShape } from '../nova/schema-shape.js';
import { DEFAULT_STATE_DIR, readSnapshot, writeSnapshot } from './snapshot.js';
import type { Inventory } from '../targets/target.js';

/**
 * The inventory the rest of nova-garp announces from: nova's database within a short bound, else
 * the last snapshot. Never waits on MySQL longer than `timeoutMs` in total (connect, schema
 * detection and both queries), so the failover path falls back to the snapshot fast.
 */

export const DEFAULT_DB_TIMEOUT_MS = 2000;

export type { InventorySettings };
export { withCurrentConfig };

export interface DbTimings {
  /** TCP + handshake + session setup. */
  connectMs: number;
  /** information_schema + migrate_version. */
  detectMs: number;
  /** The floating_ips and networks queries. */
  readMs: number;
  /** Pure target derivation. */
  deriveMs: number;
  totalMs: number;
}

export interface DbInventory {
  inventory: Inventory;
  shape: SchemaShape;
  timings: DbTimings;
}

export interface ReadDbOptions {
  timeoutMs?: number;
  now?: () => Date;
  /** Reuse a shape detected earlier (refreshes against the same database skip two queries). */
  shape?: SchemaShape;
}

/** One bounded read from nova's database. Throws (with the redacted URL in the message) on any failure. */
export async function readInventoryFromDatabase(settings: InventorySettings, opts: ReadDbOptions = {}): Promise<DbInventory> {
  if (settings.databaseUrl === null) throw new Error('no database URL configured ([database] connection / sql_connection / --db-url)');
  const url = parseDatabaseUrl(settings.databaseUrl);
  const timeoutMs = opts.timeoutMs ?? DEFAULT_DB_TIMEOUT_MS;
  const started = performance.now();
  const handle = openNovaDb(url, { connectTimeoutMs: timeoutMs, readOnly: true, statementTimeoutMs: timeoutMs });
  // Named in the timeout message: "connecting" and "reading floating_ips" call for different fixes.
  let stage = 'connecting';
  const work = async (): Promise<DbInventory> => {
    // A trivial statement makes connect time visible apart from detection in the timings.
    await sql`SELECT 1`.execute(handle.db);
    const t1 = performance.now();
    stage = 'detecting the schema';
    const shape = opts.shape ?? (await detectSchema(handle.db));
    const t2 = performance.now();
    stage = 'reading floating_ips and networks';
    const rows = await readNovaRows(handle.db, settings.host, shape);
    const t3 = performance.now();
    const derived = deriveTargets({ ...targetConfig(settings), floatingInterfaceRule: shape.floatingIps.interfaceRule }, rows);
    const t4 = performance.now();
    const inventory: Inventory = {
      host: settings.host,
      source: 'db',
      schema: shape.release,
      readAt: (opts.now?.() ?? new Date()).toISOString(),
      targets: derived.targets,
      skipped: derived.skipped,
    };
    return { inventory, shape, timings: { connectMs: t1 - started, detectMs: t2 - t1, readMs: t3 - t2, deriveMs: t4 - t3, totalMs: t4 - started } };
  };
  try {
    return await withDeadline(work(), timeoutMs, () => stage, () => handle.destroy());
  } catch (err) {
    throw new Error(`${url.redacted}: ${describeDbError(err)}`, { cause: err });
  } finally {
    void handle.close();
  }
}

export interface LoadInventoryOptions {
  settings: InventorySettings;
  /** Default /var/lib/nova-garp. */
  stateDir?: string;
  /** Bound on the whole database read; default 2000 ms. */
  timeoutMs?: number;
  /** Write the snapshot after a successful DB read (default true). A failed write is reported, not fatal. */
  writeSnapshot?: boolean;
  now?: () => Date;
}

export interface LoadInventoryResult {
  /** Null when neither the database nor a valid snapshot gave one (CLI exit 4). */
  inventory: Inventory | null;
  /** One sentence for logs and stderr: where the inventory came from, or why there is none. */
  why: string;
  shape: SchemaShape | null;
  database: { url: string | null; ok: boolean; error?: string; elapsedMs: number; timings?: DbTimings };
  snapshot: { path: string | null; used: boolean; ageMs?: number; error?: string; written?: boolean; writeError?: string };
}

export async function loadInventory(opts: LoadInventoryOptions): Promise<LoadInventoryResult> {
  const stateDir = opts.stateDir ?? DEFAULT_STATE_DIR;
  const now = opts.now ?? (() => new Date());
  const url = opts.settings.databaseUrl === null ? null : redactUrl(opts.settings.databaseUrl);
  const started = performance.now();
  let dbError: string;
  try {
    const fromDb = await readInventoryFromDatabase(opts.settings, { timeoutMs: opts.timeoutMs ?? DEFAULT_DB_TIMEOUT_MS, now });
    const result: LoadInventoryResult = {
      inventory: fromDb.inventory,
      why: `read from ${url ?? 'the database'} (${fromDb.shape.release} schema, version ${fromDb.shape.version ?? 'unknown'}) in ${Math.round(fromDb.timings.totalMs)} ms`,
      shape: fromDb.shape,
      database: { url, ok: true, elapsedMs: performance.now() - started, timings: fromDb.timings },
      snapshot: { path: null, used: false },
    };
    if (opts.writeSnapshot !== false) {
      try {
        result.snapshot = { path: await writeSnapshot(stateDir, fromDb.inventory), used: false, written: true };
      } catch (err) {
        result.snapshot = { path: null, used: false, written: false, writeError: `cannot write snapshot in ${stateDir}: ${(err as Error).message}` };
      }
    }
    return result;
  } catch (err) {
    dbError = (err as Error).message;
  }
  const elapsedMs = performance.now() - started;
  const snap = await readSnapshot(stateDir, { host: opts.settings.host, now: now() });
  const database = { url, ok: false, error: dbError, elapsedMs };
  if (snap.ok) {
    const ageS = Math.round(snap.ageMs / 1000);
    return {
      inventory: withCurrentConfig(snap.inventory, opts.settings),
      why: `database unavailable (${dbError}); using snapshot ${snap.path} from ${snap.inventory.readAt} (${ageS} s old)`,
      shape: null,
      database,
      snapshot: { path: snap.path, used: true, ageMs: snap.ageMs },
    };
  }
  return {
    inventory: null,
    why: `no inventory: database failed (${dbError}) and ${snap.message}`,
    shape: null,
    database,
    snapshot: { path: snap.path, used: false, error: snap.message },
  };
}
