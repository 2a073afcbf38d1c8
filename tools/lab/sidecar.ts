import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hookPython } from '../serve/hook.js';
import { killOnExit, ServeProcess, stopChild } from '../serve/serve-process.js';
import { writeSnapshot } from '../../src/inventory/snapshot.js';
import type { Inventory } from '../../src/targets/target.js';
import { controlRequest } from '../../src/sidecar/control-client.js';
import { NOVA_HOST, PUBLIC_IF } from './addressing.js';
import { labNovaConf, type SidecarConfOptions } from './backends.js';

/**
 * The real pieces of the nova-garp mode: `nova-garp serve` (tools/serve/serve-process.ts) running
 * in the standby namespace (as a sidecar runs next to nova-network, started before the failover)
 * and a real Python process that has imported patches/nova_garp_hook.py, as nova-network has, and
 * calls notify_started() when told to (the end of init_host; tools/serve/hook.ts).
 */

/**
 * How the lab's sidecar gets its inventory and triggers: by default the layout as its snapshot, a
 * nova.conf with no database, no broker; with `--db`/`--amqp` no snapshot, and nova.conf points
 * at the lab database and broker through the management link's relays.
 */
export interface LabSidecarSetup {
  /** Written as the sidecar's snapshot; null: none, the sidecar must read the database. */
  snapshot: Inventory | null;
  conf: SidecarConfOptions;
}

/** The parts of GET /v1/status the lab looks at. */
export interface LabSidecarStatus {
  inventory: { why: string; targets: Array<{ kind: string; address: string; interface: string }> };
  database: { url: string | null; ok: boolean | null; detail: string };
  rabbitmq: { enabled: boolean; up: boolean; detail: string };
  /** Split brain seen by the sidecar (issue 13); absent from older sidecars. */
  conflicts?: Array<{ address: string; mac: string; firstSeen: string }>;
}

export class LabSidecar {
  private constructor(
    readonly serve: ServeProcess,
    readonly socketPath: string,
  ) {}

  /** Parsed pino lines with msg "burst": the sidecar's own account of what it sent. */
  get bursts(): Array<Record<string, unknown>> {
    return this.serve.logs.filter((l) => l.msg === 'burst');
  }

  get errors(): string[] {
    return this.serve.logs.filter((l) => typeof l.level === 'number' && l.level >= 50).map((l) => String(l.msg));
  }

  static async start(standbyNs: string, dir: string, setup: LabSidecarSetup): Promise<LabSidecar> {
    const stateDir = join(dir, 'state');
    const socketPath = join(dir, 'control.sock');
    const conf = join(dir, 'nova.conf');
    if (setup.snapshot !== null) await writeSnapshot(stateDir, setup.snapshot);
    await writeFile(conf, labNovaConf(setup.conf), { mode: 0o600 });
    const args = [
      '--nova-config', conf,
      '--host', NOVA_HOST,
      '--control-socket', socketPath,
      '--state-dir', stateDir,
      '--metrics-listen', 'off',
      '--public-interface', PUBLIC_IF,
      '--log-level', 'info',
      // Without --amqp, no broker: the startup path must not need one anyway.
      ...(setup.conf.rabbit === null ? ['--no-amqp'] : []),
    ]; // prettier-ignore
    // The lab's sidecar reads only what the lab gives it, whatever the caller's NOVA_GARP_* say.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('NOVA_GARP_')));
    const serve = ServeProcess.spawn({ netns: standbyNs, args, env });
    try {
      await serve.ready(20_000);
    } catch (err) {
      await serve.stop(2000);
      throw err;
    }
    return new LabSidecar(serve, socketPath);
  }

  /** Resolves once the sidecar logged `count` bursts, or after `timeoutMs`. */
  async waitBursts(count: number, timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (this.bursts.length < count && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  }

  async status(): Promise<LabSidecarStatus> {
    const r = await controlRequest(this.socketPath, 'GET', '/v1/status', undefined, 5000);
    if (r.status !== 200) throw new Error(`GET /v1/status answered ${r.status}`);
    return r.body as LabSidecarStatus;
  }

  /** Polls the status until `done` holds or `timeoutMs` passes; returns the last status. */
  async waitStatus(done: (s: LabSidecarStatus) => boolean, timeoutMs: number): Promise<LabSidecarStatus> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const s = await this.status();
      if (done(s) || Date.now() >= until) return s;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(): Promise<void> {
    await this.serve.stop(5000);
  }
}

/** nova-network's side: a Python process with the hook imported, waiting for the end of init_host. */
export class HookProcess {
  private out = '';
  stderr = '';

  private constructor(private readonly child: ChildProcess) {
    child.stdout!.on('data', (d: Buffer) => (this.out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
  }

  static async start(standbyNs: string, socketPath: string): Promise<HookProcess> {
    const script = hookPython(socketPath, NOVA_HOST, [
      "sys.stdout.write('ready\\n')",
      'sys.stdout.flush()',
      'sys.stdin.readline()',
      'ok = NOTIFY',
      "sys.stdout.write('ok\\n' if ok else 'fail\\n')",
      'sys.stdout.flush()',
    ]);
    const child = spawn('ip', ['netns', 'exec', standbyNs, 'python3', '-c', script], { stdio: ['pipe', 'pipe', 'pipe'] });
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
