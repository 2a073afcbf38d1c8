import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ServeProcess } from '../serve/serve-process.js';
import { writeSnapshot } from '../../src/inventory/snapshot.js';
import type { Inventory } from '../../src/targets/target.js';
import { controlRequest } from '../../src/sidecar/control-client.js';
import { NOVA_HOST, PUBLIC_IF } from './addressing.js';
import { labNovaConf, type SidecarConfOptions } from './backends.js';

/**
 * The lab's sidecar: `nova-garp serve` (tools/serve/serve-process.ts) running in the standby
 * namespace, as a sidecar runs next to nova-network, started before the failover. nova-network's
 * side of the hook is tools/serve/hook.ts.
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
