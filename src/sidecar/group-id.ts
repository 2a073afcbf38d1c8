import { readFile } from 'node:fs/promises';

/** Pure: the gid of `name` in /etc/group text, or null. */
export function gidFromGroupFile(text: string, name: string): number | null {
  for (const line of text.split('\n')) {
    const [group, , gid] = line.split(':');
    if (group === name && gid !== undefined && /^\d+$/.test(gid)) return Number(gid);
  }
  return null;
}

/**
 * The group that may use the control socket. nova-network runs as user `nova` on every
 * distribution, so that group is the default when it exists; a number is taken as a gid.
 */
export async function resolveGroup(spec: string | undefined, groupFile = '/etc/group'): Promise<{ gid: number | null; name: string | null }> {
  if (spec !== undefined && /^\d+$/.test(spec)) return { gid: Number(spec), name: spec };
  let text = '';
  try {
    text = await readFile(groupFile, 'utf8');
  } catch {
    // No group database: only an explicit gid can be used.
  }
  const name = spec ?? 'nova';
  const gid = gidFromGroupFile(text, name);
  if (gid === null && spec !== undefined) throw new Error(`--control-group: no group '${spec}' in ${groupFile}`);
  return { gid, name: gid === null ? null : name };
}
