import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const HOOK_DIR = fileURLToPath(new URL('../../patches', import.meta.url));

/** The real nova hook module, called from a real Python process, as nova-network's init_host does. */
export async function callHook(socket: string, host: string): Promise<string> {
  const code = [
    'import sys, logging',
    'logging.basicConfig(level=logging.WARNING)',
    `sys.path.insert(0, ${JSON.stringify(HOOK_DIR)})`,
    'import nova_garp_hook',
    'class VlanManager(object):',
    `    host = ${JSON.stringify(host)}`,
    `print(nova_garp_hook.notify_started(VlanManager(), socket_path=${JSON.stringify(socket)}, timeout=2.0))`,
  ].join('\n');
  const { stdout } = await promisify(execFile)('python3', ['-c', code], { timeout: 10_000 });
  return stdout.trim();
}
