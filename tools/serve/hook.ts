import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from './serve-process.js';

/**
 * nova-network's side of the hook, for the lab and the tests: Python that imports the real
 * patches/nova_garp_hook.py, as nova-network has, and calls notify_started() as the end of
 * init_host does. `hookPython` writes the program; its callers decide what happens around the call.
 */

const PATCHES = join(REPO_ROOT, 'patches');

/**
 * A Python program: the hook imported, a VlanManager of `host`, then `tail`, in which
 * `NOTIFY` stands for the notify_started() call (True when the sidecar accepted the event).
 */
export function hookPython(socketPath: string | null, host: string, tail: readonly string[]): string {
  // null: the hook's own default socket path.
  const notify = `h.notify_started(VlanManager(), socket_path=${socketPath === null ? 'None' : JSON.stringify(socketPath)}, timeout=2.0)`;
  return [
    'import sys, logging',
    'logging.basicConfig(level=logging.WARNING)',
    `sys.path.insert(0, ${JSON.stringify(PATCHES)})`,
    'import nova_garp_hook as h',
    'class VlanManager(object):',
    `    host = ${JSON.stringify(host)}`,
    ...tail.map((l) => l.replaceAll('NOTIFY', notify)),
  ].join('\n');
}

/** One call from a fresh Python process; returns what notify_started() returned ('True' or 'False'). */
export async function callHook(socketPath: string, host: string): Promise<string> {
  const code = hookPython(socketPath, host, ['print(NOTIFY)']);
  const { stdout } = await promisify(execFile)('python3', ['-c', code], { timeout: 10_000 });
  return stdout.trim();
}
