import { readFile } from 'node:fs/promises';
import { checkTarget } from '../targets/announceable.js';
import { targetKey } from '../targets/key.js';
import { TARGET_KINDS, type Inventory, type SkippedRow, type Target, type TargetKind } from '../targets/target.js';

/**
 * A hand-written inventory (`serve --inventory FILE`) for hosts without nova's database:
 * `{"targets":[{"kind":"floating","address":"203.0.113.5","interface":"eth0"}, ...]}`.
 * Bad entries are skipped with a reason, like odd database rows.
 */
export function parseStaticInventory(text: string, file: string, host: string, now: Date): Inventory {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file}: not JSON (${(err as Error).message})`);
  }
  const list = (raw as { targets?: unknown } | null)?.targets;
  if (!Array.isArray(list)) throw new Error(`${file}: expected {"targets": [...]}`);
  const targets: Target[] = [];
  const skipped: SkippedRow[] = [];
  const seen = new Set<string>();
  list.forEach((t: unknown, i) => {
    const where = `${file} targets[${i}]`;
    const o = (typeof t === 'object' && t !== null ? t : {}) as Record<string, unknown>;
    const kind = o.kind;
    if (typeof kind !== 'string' || !TARGET_KINDS.includes(kind as TargetKind)) {
      skipped.push({ source: where, reason: `kind must be one of ${TARGET_KINDS.join(', ')}` });
      return;
    }
    const check = checkTarget(kind as TargetKind, typeof o.address === 'string' ? o.address : String(o.address), typeof o.interface === 'string' ? o.interface : null);
    if (!check.ok) skipped.push({ source: where, reason: check.reason });
    else if (!seen.has(targetKey(check.target))) {
      seen.add(targetKey(check.target));
      targets.push(check.target);
    }
  });
  return { host, source: 'static', schema: 'static', readAt: now.toISOString(), targets, skipped };
}

export async function readStaticInventory(file: string, host: string): Promise<Inventory> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read --inventory ${file}: ${(err as Error).message}`);
  }
  return parseStaticInventory(text, file, host, new Date());
}
