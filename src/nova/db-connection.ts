import { CompiledQuery, Kysely, MysqlDialect, type MysqlPool, type MysqlPoolConnection } from 'kysely';
import mysql, { type Connection, type ConnectionOptions } from 'mysql2';
import type { DatabaseUrl } from './database-url.js';
import type { NovaDatabase } from './nova-tables.js';

/**
 * One MySQL connection behind kysely, with hard bounds. At failover nova's database is often
 * failing over too; a half-open TCP connection must cost us the bound, never a hang. A pool would
 * keep sockets we cannot kill on a deadline, so this is a single connection we can destroy.
 */

export interface NovaDbOptions {
  /** TCP connect + handshake bound. */
  connectTimeoutMs: number;
  /** Read-only session and a server-side statement time limit (best effort: old servers lack both). */
  readOnly: boolean;
  /** Server-side statement limit in ms when readOnly; default connectTimeoutMs. */
  statementTimeoutMs?: number;
}

export interface NovaDb {
  db: Kysely<NovaDatabase>;
  url: DatabaseUrl;
  /** Kills the socket now; safe to call any number of times, also mid-query. */
  destroy(): void;
  /** Polite QUIT, falling back to destroy() if the server does not answer quickly. */
  close(): Promise<void>;
}

export class DatabaseTimeoutError extends Error {
  constructor(what: string, ms: number) {
    super(`${what}: no answer within ${ms} ms`);
    this.name = 'DatabaseTimeoutError';
  }
}

export function mysql2Options(url: DatabaseUrl, connectTimeoutMs: number): ConnectionOptions {
  return {
    host: url.host,
    port: url.port,
    user: url.user,
    password: url.password,
    database: url.database,
    ...(url.socketPath === undefined ? {} : { socketPath: url.socketPath }),
    ...(url.charset === undefined ? {} : { charset: url.charset }),
    ...(url.ssl === undefined ? {} : { ssl: url.ssl }),
    connectTimeout: connectTimeoutMs,
    // Dates are never read for targets; strings skip the parse.
    dateStrings: true,
    supportBigNumbers: true,
  };
}

export function openNovaDb(url: DatabaseUrl, opts: NovaDbOptions): NovaDb {
  let conn: Connection | null = null;
  let ready: Promise<void> | null = null;
  let destroyed = false;

  const destroy = (): void => {
    destroyed = true;
    if (conn !== null) {
      try {
        conn.destroy();
      } catch {
        // already gone
      }
    }
  };

  const pool: MysqlPool = {
    getConnection(callback) {
      if (destroyed) {
        callback(new Error('database connection was closed'), undefined as unknown as MysqlPoolConnection);
        return;
      }
      if (conn === null) {
        const c = mysql.createConnection(mysql2Options(url, opts.connectTimeoutMs));
        // Without a listener a server-side disconnect would be an uncaught 'error' event.
        c.on('error', () => undefined);
        conn = c;
        ready = new Promise<void>((resolve, reject) => c.connect((err) => (err ? reject(err) : resolve())));
      }
      const c = conn;
      (ready as Promise<void>).then(
        () => callback(null, { query: c.query.bind(c), release: () => undefined } as unknown as MysqlPoolConnection),
        (err: unknown) => callback(err, undefined as unknown as MysqlPoolConnection),
      );
    },
    end(callback) {
      if (conn === null || destroyed) {
        callback(null);
        return;
      }
      const c = conn;
      const timer = setTimeout(() => {
        destroy();
        callback(null);
      }, 250);
      c.end(() => {
        clearTimeout(timer);
        callback(null);
      });
    },
  };

  const db = new Kysely<NovaDatabase>({
    dialect: new MysqlDialect({
      pool,
      onCreateConnection: opts.readOnly
        ? async (c) => {
            const limitMs = opts.statementTimeoutMs ?? opts.connectTimeoutMs;
            // Each is tolerated on servers that predate it (MySQL 5.1 on a Cactus cloud).
            for (const stmt of [
              'SET SESSION TRANSACTION READ ONLY',
              `SET SESSION max_statement_time = ${(limitMs / 1000).toFixed(3)}`,
              `SET SESSION max_execution_time = ${Math.ceil(limitMs)}`,
            ]) {
              try {
                await c.executeQuery(CompiledQuery.raw(stmt));
              } catch {
                // not supported by this server
              }
            }
          }
        : undefined,
    }),
  });

  return {
    db,
    url,
    destroy,
    close: async () => {
      await db.destroy().catch(() => destroy());
    },
  };
}

/** Races work against a deadline; on timeout runs onTimeout (kill the socket) and rejects. */
export async function withDeadline<T>(work: Promise<T>, ms: number, what: string | (() => string), onTimeout: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout();
      reject(new DatabaseTimeoutError(typeof what === 'string' ? what : what(), ms));
    }, ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
    // The loser may still reject after the race (socket killed mid-query); nobody awaits it.
    work.catch(() => undefined);
  }
}

/** One line for an error from mysql2/kysely: code and message, no stack. */
export function describeDbError(err: unknown): string {
  const e = err as { code?: string; message?: string; errors?: unknown[] };
  if (Array.isArray(e.errors)) {
    const inner = (e.errors ?? []).map((x) => describeDbError(x)).filter((s) => s !== '');
    if (inner.length > 0) return inner.join('; ');
  }
  const msg = (e.message ?? String(err)).trim();
  if (e.code !== undefined && !msg.includes(e.code)) return `${e.code}: ${msg || 'connection failed'}`;
  return msg || (e.code ?? 'unknown error');
}
