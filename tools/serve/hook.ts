import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { killOnExit, REPO_ROOT, stopChild } from './serve-process.js';

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

/** A Python process with the hook imported, waiting for the end of init_host (notify()). */
export class HookProcess {
  private out = '';
  stderr = '';

  private constructor(private readonly child: ChildProcess) {
    child.stdout!.on('data', (d: Buffer) => (this.out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
  }

  static async start(netns: string, socketPath: string, host: string): Promise<HookProcess> {
    const script = hookPython(socketPath, host, [
      "sys.stdout.write('ready\\n')",
      'sys.stdout.flush()',
      'sys.stdin.readline()',
      'ok = NOTIFY',
      "sys.stdout.write('ok\\n' if ok else 'fail\\n')",
      'sys.stdout.flush()',
    ]);
    const child = spawn('ip', ['netns', 'exec', netns, 'python3', '-c', script], { stdio: ['pipe', 'pipe', 'pipe'] });
    killOnExit(child);
    const h = new HookProcess(child);
    await h.waitFor('ready', 20_000);
    return h;
  }

  private waitFor(word: string, timeoutMs: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const m = /(ready|ok|fail)\n/.exec(this.out);
        if (m === null) return false;
        this.out = this.out.slice(m.index + m[0].length);
        if (word === 'ready' && m[1] !== 'ready') reject(new Error(`hook process said ${m[1]}`));
        else resolve(m[1]!);
        return true;
      };
      if (check()) return;
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`hook process did not say ${word} within ${timeoutMs} ms: ${this.stderr.trim()}`));
      }, timeoutMs);
      const onData = (): void => {
        if (check()) cleanup();
      };
      const onExit = (): void => {
        cleanup();
        reject(new Error(`hook process exited: ${this.stderr.trim()}`));
      };
      const cleanup = (): void => {
        clearTimeout(timer);
        this.child.stdout!.off('data', onData);
        this.child.off('exit', onExit);
      };
      this.child.stdout!.on('data', onData);
      this.child.once('exit', onExit);
    });
  }

  /** Calls notify_started(); true when the sidecar accepted the event. */
  async notify(): Promise<boolean> {
    this.child.stdin!.write('\n');
    return (await this.waitFor('ok|fail', 10_000)) === 'ok';
  }

  async stop(): Promise<void> {
    await stopChild(this.child, 2000);
  }
}
