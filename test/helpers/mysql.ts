import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';

/**
 * A throw-away database per test on a real server: the machine's MariaDB/MySQL on 127.0.0.1:3306
 * (override with NOVA_GARP_TEST_MYSQL_URL, a server URL without database), or a MySQL container
 * from testcontainers when a Docker engine answers.
 */

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

async function dockerAnswers(): Promise<boolean> {
  try {
    await promisify(execFile)('docker', ['info'], { timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}

async function startServer(): Promise<Server> {
  if (process.env.NOVA_GARP_TEST_MYSQL_URL === undefined && (await dockerAnswers())) {
    const { MySqlContainer } = await import('@testcontainers/mysql');
    const c = await new MySqlContainer('mysql:8.0').withRootPassword('test').start();
    return { host: c.getHost(), port: c.getPort(), user: 'root', password: 'test', stop: () => c.stop() };
  }
  const u = new URL(process.env.NOVA_GARP_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/');
  return { host: u.hostname, port: Number(u.port || 3306), user: decodeURIComponent(u.username), password: decodeURIComponent(u.password) };
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
  const c = await admin(s);
  try {
    await c.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8`);
  } finally {
    await c.end();
  }
  const cred = s.password === '' ? encodeURIComponent(s.user) : `${encodeURIComponent(s.user)}:${encodeURIComponent(s.password)}`;
  return {
    name,
    url: `mysql://${cred}@${s.host}:${s.port}/${name}`,
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

/** Stops a container started for this run (no-op for the machine's server). */
export async function stopTestServer(): Promise<void> {
  const s = await serverPromise?.catch(() => null);
  await s?.stop?.();
  serverPromise = null;
}
