import { createHash } from 'node:crypto';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { canonicalIp } from '../net/ip-address.js';
import { checkTarget } from '../targets/announceable.js';
import { TARGET_KINDS, type Inventory, type InventorySource, type SkippedRow, type Target } from '../targets/target.js';

/**
 * The last good inventory on disk. At failover the database may be failing over too, so the
 * sidecar announces from this file. It is written atomically (temp file, fsync, rename, fsync of
 * the directory) and checked on read (format, checksum, every field); a file that fails any check
 * is reported and ignored, because announcing a wrong address steals someone else's traffic.
 */

export const DEFAULT_STATE_DIR = '/var/lib/nova-garp';
export const SNAPSHOT_FILE = 'inventory.json';
const FORMAT = 'nova-garp-inventory';
const FORMAT_VERSION = 1;

export class SnapshotError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SnapshotError';
  }
}

interface SnapshotFile {
  format: typeof FORMAT;
  version: typeof FORMAT_VERSION;
  /** sha256 of JSON.stringify(inventory): catches truncation and hand edits alike. */
  sha256: string;
  inventory: Inventory;
}

export function snapshotPath(stateDir: string): string {
  return join(stateDir, SNAPSHOT_FILE);
}

function digest(inventory: Inventory): string {
  return createHash('sha256').update(JSON.stringify(inventory)).digest('hex');
}

/** Pure: the file body. The reader marks what it returns as source `snapshot`. */
export function serializeSnapshot(inventory: Inventory): string {
  const inv: Inventory = {
    host: inventory.host,
    // Re-saving a snapshot keeps where the data came from; readAt keeps its true age.
    source: inventory.source === 'snapshot' ? 'db' : inventory.source,
    schema: inventory.schema,
    readAt: inventory.readAt,
    targets: inventory.targets.map((t) => ({ kind: t.kind, address: t.address, interface: t.interface })),
    skipped: inventory.skipped.map((s) => ({ source: s.source, reason: s.reason })),
  };
  const file: SnapshotFile = { format: FORMAT, version: FORMAT_VERSION, sha256: digest(inv), inventory: inv };
  return JSON.stringify(file, null, 1) + '\n';
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(o: Record<string, unknown>, key: string, where: string): string {
  const v = o[key];
  if (typeof v !== 'string') throw new SnapshotError(`${where}.${key} is not a string`);
  return v;
}

/** Pure: validates a snapshot body; throws SnapshotError naming the first thing wrong. */
export function parseSnapshot(text: string): Inventory {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new SnapshotError(`not JSON (${(err as Error).message})`);
  }
  if (!isObject(raw) || raw.format !== FORMAT) throw new SnapshotError(`not a ${FORMAT} file`);
  if (raw.version !== FORMAT_VERSION) throw new SnapshotError(`format version ${String(raw.version)} is not ${FORMAT_VERSION}`);
  const inv = raw.inventory;
  if (!isObject(inv)) throw new SnapshotError('inventory is missing');
  const source = str(inv, 'source', 'inventory') as InventorySource;
  if (source !== 'db' && source !== 'static') throw new SnapshotError(`inventory.source '${source}' is not db or static`);
  const readAt = str(inv, 'readAt', 'inventory');
  if (Number.isNaN(Date.parse(readAt))) throw new SnapshotError(`inventory.readAt '${readAt}' is not a time`);
  if (!Array.isArray(inv.targets)) throw new SnapshotError('inventory.targets is not a list');
  if (!Array.isArray(inv.skipped)) throw new SnapshotError('inventory.skipped is not a list');
  const targets: Target[] = inv.targets.map((t: unknown, i: number) => {
    const where = `inventory.targets[${i}]`;
    if (!isObject(t)) throw new SnapshotError(`${where} is not an object`);
    const kind = str(t, 'kind', where);
    if (!(TARGET_KINDS as readonly string[]).includes(kind)) throw new SnapshotError(`${where}.kind '${kind}' is unknown`);
    const address = str(t, 'address', where);
    if (canonicalIp(address) !== address) throw new SnapshotError(`${where}.address '${address}' is not a canonical IP address`);
    const check = checkTarget(kind as Target['kind'], address, str(t, 'interface', where));
    if (!check.ok) throw new SnapshotError(`${where}: ${check.reason}`);
    return check.target;
  });
  const skipped: SkippedRow[] = inv.skipped.map((s: unknown, i: number) => {
    if (!isObject(s)) throw new SnapshotError(`inventory.skipped[${i}] is not an object`);
    return { source: str(s, 'source', `inventory.skipped[${i}]`), reason: str(s, 'reason', `inventory.skipped[${i}]`) };
  });
  const inventory: Inventory = { host: str(inv, 'host', 'inventory'), source, schema: str(inv, 'schema', 'inventory'), readAt, targets, skipped };
  if (raw.sha256 !== digest(inventory)) throw new SnapshotError('checksum mismatch (truncated or edited)');
  return inventory;
}

/** Atomic replace: readers see the old file or the new one, never a torn one, even across a crash. */
export async function writeSnapshot(stateDir: string, inventory: Inventory): Promise<string> {
  await mkdir(stateDir, { recursive: true, mode: 0o750 });
  const path = snapshotPath(stateDir);
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  const body = serializeSnapshot(inventory);
  const fh = await open(tmp, 'w', 0o640);
  try {
    await fh.writeFile(body, 'utf8');
    await fh.sync();
  } catch (err) {
    await fh.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await fh.close();
  try {
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  // The rename is durable only once the directory entry is on disk.
  const dir = await open(stateDir, 'r');
  try {
    await dir.sync().catch(() => undefined);
  } finally {
    await dir.close();
  }
  return path;
}

export type SnapshotRead =
  | { ok: true; path: string; inventory: Inventory; ageMs: number }
  | { ok: false; path: string; reason: 'missing' | 'unreadable' | 'corrupt' | 'other-host'; message: string };

/** Reads and validates; never throws. `host` rejects a snapshot written for another nova host. */
export async function readSnapshot(stateDir: string, opts: { host?: string; now?: Date } = {}): Promise<SnapshotRead> {
  const path = snapshotPath(stateDir);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { ok: false, path, reason: 'missing', message: `no snapshot at ${path}` };
    return { ok: false, path, reason: 'unreadable', message: `cannot read ${path}: ${code ?? (err as Error).message}` };
  }
  let inventory: Inventory;
  try {
    inventory = parseSnapshot(text);
  } catch (err) {
    return { ok: false, path, reason: 'corrupt', message: `corrupt snapshot ${path} ignored: ${(err as Error).message}` };
  }
  if (opts.host !== undefined && inventory.host !== opts.host) {
    return { ok: false, path, reason: 'other-host', message: `snapshot ${path} is for host '${inventory.host}', not '${opts.host}'; ignored` };
  }
  const now = opts.now ?? new Date();
  const ageMs = Math.max(0, now.getTime() - Date.parse(inventory.readAt));
  return { ok: true, path, inventory: { ...inventory, source: 'snapshot' }, ageMs };
}
