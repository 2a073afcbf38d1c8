import { stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { UsageError } from './exit-codes.js';
import { parseIp } from '../net/ip-address.js';

/**
 * Checks on flag values that need the file system or a little parsing, shared by the commands, all
 * run before any work starts and all failing as "<what is wrong>; <what to do>" (exit 2).
 */

/** The database-read bound, one name (`--db-timeout-ms`) and one range for plan and serve. */
export const DB_TIMEOUT_MIN_MS = 50;
export const DB_TIMEOUT_MAX_MS = 600_000;

async function kind(path: string): Promise<'dir' | 'other' | 'missing'> {
  try {
    return (await stat(path)).isDirectory() ? 'dir' : 'other';
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw new UsageError(`cannot look at ${path}: ${(err as Error).message}; check its permissions`);
  }
}

/**
 * serve creates at most one directory level: the control socket's directory and the state
 * directory themselves (as systemd's RuntimeDirectory/StateDirectory would: /run/nova-garp,
 * /var/lib/nova-garp), never a missing parent, so a typo in a path is an error, not a new tree.
 * Returns true when `dir` does not exist yet and may be created.
 */
export async function checkDirectory(label: string, dir: string): Promise<boolean> {
  const abs = resolve(dir);
  const here = await kind(abs);
  if (here === 'dir') return false;
  if (here === 'other') throw new UsageError(`${label}: ${abs} exists and is not a directory; give a directory`);
  const parent = dirname(abs);
  const up = await kind(parent);
  if (up === 'dir') return true;
  if (up === 'other') throw new UsageError(`${label}: ${parent} is not a directory; give a path inside a directory`);
  throw new UsageError(`${label}: neither ${abs} nor its parent ${parent} exists; create ${parent} first (serve creates only the last level, e.g. /run/nova-garp)`);
}

/** `--inventory FILE` must be a readable regular file before serve starts. */
export async function checkFile(label: string, path: string): Promise<void> {
  let st;
  try {
    st = await stat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(code === 'ENOENT' ? `${label}: no file ${path}; give an existing file` : `${label}: cannot read ${path}: ${(err as Error).message}`);
  }
  if (!st.isFile()) throw new UsageError(`${label}: ${path} is not a regular file; give a file`);
}

/** `host:port` (IPv6 in brackets) or `off`, as the metrics endpoint takes it. */
export function checkListen(label: string, value: string): void {
  if (value === 'off') return;
  const m = /^(.*):(\d+)$/.exec(value);
  const host = m?.[1] ?? '';
  const port = Number(m?.[2] ?? NaN);
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  const hostOk = host !== '' && (parseIp(bare) !== null || /^[A-Za-z0-9.-]+$/.test(host));
  if (m === null || !hostOk || !(port >= 0 && port <= 65535)) {
    throw new UsageError(`${label} '${value}' is not host:port; give e.g. 127.0.0.1:9469, [::1]:9469 or off`);
  }
}
