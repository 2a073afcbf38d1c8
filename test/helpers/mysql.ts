import mysql from 'mysql2/promise';
import { parseDatabaseUrl } from '../../src/nova/database-url.js';
import { createDatabase } from '../../tools/seed/nova-rows.js';
import { chooseServices, report, startContainer, until } from './services.js';

/**
 * A throw-away database per test on a real server: a nova-garp-mariadb container started by
 * testcontainers for this test file, or the machine's MariaDB/MySQL on 127.0.0.1:3306 (override
 * with NOVA_GARP_TEST_MYSQL_URL, a server URL without database). services.ts decides which
 * (NOVA_GARP_TEST_SERVICES). A file that uses it calls stopTestServer() in afterAll.
 */
export const MARIADB_IMAGE = 'nova-garp-mariadb';

export interface TestDatabase {
  name: string;
  /** mysql://user:password@host:port/name, the form nova.conf uses. */
  url: string;
  drop(): Promise<void>;
}

interface Server {
  host: string;
  port: number;
  user: string;
  password: string;
  stop?: () => Promise<unknown>;
}

let serverPromise: Promise<Server> | null = null;
let counter = 0;

async function startServer(): Promise<Server> {
  const choice = process.env.NOVA_GARP_TEST_MYSQL_URL === undefined ? await chooseServices(MARIADB_IMAGE) : { mode: 'local' as const, why: 'NOVA_GARP_TEST_MYSQL_URL is set' };
  if (choice.mode === null) throw new Error(choice.why);
  if (choice.mode === 'containers') {
    const password = 'nova-garp-test';
    const c = await startContainer({ image: MARIADB_IMAGE, port: 3306, env: { MARIADB_ROOT_PASSWORD: password }, ready: /ready for connections/ });
    const s: Server = { host: c.host, port: c.port, user: 'root', password, stop: () => c.stop() };
    try {
      await until('MariaDB container accepts root over TCP', async () => (await admin(s)).end());
    } catch (err) {
      await c.stop();
      throw err;
    }
    report(`MySQL tests use MariaDB in container ${c.id.slice(0, 12)} at ${c.host}:${c.port} (${choice.why})`);
    return s;
  }
  const u = new URL(process.env.NOVA_GARP_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/');
  const s = { host: u.hostname, port: Number(u.port || 3306), user: decodeURIComponent(u.username), password: decodeURIComponent(u.password) };
  report(`MySQL tests use the machine's server at ${s.host}:${s.port} (local: ${choice.why})`);
  return s;
}

function server(): Promise<Server> {
  serverPromise ??= startServer();
  return serverPromise;
}

async function admin(s: Server): Promise<mysql.Connection> {
  return mysql.createConnection({ host: s.host, port: s.port, user: s.user, password: s.password, connectTimeout: 3000 });
}

/** null when a server answers, else why not (for requirement()). */
export async function missingMysql(): Promise<string | null> {
  try {
    const s = await server();
    const c = await admin(s);
    await c.end();
    return null;
  } catch (err) {
    return `no MySQL/MariaDB server reachable (${(err as Error).message}); set NOVA_GARP_TEST_MYSQL_URL or start one`;
  }
}

export async function createTestDatabase(label = 't'): Promise<TestDatabase> {
  const s = await server();
  const name = `ngt_${label.replace(/[^a-z0-9]/gi, '').slice(0, 16)}_${process.pid}_${Date.now().toString(36)}_${counter++}`;
  const cred = s.password === '' ? encodeURIComponent(s.user) : `${encodeURIComponent(s.user)}:${encodeURIComponent(s.password)}`;
  const url = `mysql://${cred}@${s.host}:${s.port}/${name}`;
  await createDatabase(parseDatabaseUrl(url), 10_000);
  return {
    name,
    url,
    drop: async () => {
      const d = await admin(s);
      try {
        await d.query(`DROP DATABASE IF EXISTS \`${name}\``);
      } finally {
        await d.end();
      }
    },
  };
}

/** Stops the container started for this test file (no-op for the machine's server). */
export async function stopTestServer(): Promise<void> {
  const s = await serverPromise?.catch(() => null);
  await s?.stop?.();
  serverPromise = null;
}
