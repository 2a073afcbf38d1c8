import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createPair, type Pair } from './pair.js';
import { BIN } from './cli.js';
import { TcpRelay } from './tcp-relay.js';
import { run } from '../../src/shell.js';

/**
 * A sender namespace running a real `nova-garp serve`, a router namespace as the judge, and a
 * management veth from the root namespace whose root end carries relays to the machine's
 * RabbitMQ and MariaDB.
 */
export interface SidecarLab {
  pair: Pair;
  dir: string;
  socket: string;
  stateDir: string;
  /** Address of the root end of the management link (where relays listen). */
  mgmtIp: string;
  relay(targetHost: string, targetPort: number): Promise<TcpRelay>;
  startServe(args: string[], novaConf?: string): Promise<ServeProcess>;
  cleanup(): Promise<void>;
}

export interface ServeProcess {
  child: ChildProcess;
  logs: Array<Record<string, unknown>>;
  waitForLog(pred: (l: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  stop(): Promise<number | null>;
}

let subnet = 0;

export async function createSidecarLab(): Promise<SidecarLab> {
  const pair = await createPair();
  const dir = await mkdtemp(join(tmpdir(), 'nova-garp-sidecar-'));
  const n = (subnet = (subnet + 1) % 60) * 4;
  const rootIf = `ngm${pair.tag}`;
  const nsIf = `ngn${pair.tag}`;
  const mgmtIp = `10.78.${Number.parseInt(pair.tag.slice(0, 2), 16)}.${n + 1}`;
  await pair.group.veth({ ns: null, name: rootIf }, { ns: pair.sender, name: nsIf });
  await run(['ip', 'addr', 'add', `${mgmtIp}/30`, 'dev', rootIf]);
  await pair.group.ip(pair.sender, 'addr', 'add', `${mgmtIp.replace(/\d+$/, String(n + 2))}/30`, 'dev', nsIf);
  const relays: TcpRelay[] = [];
  const serves: ServeProcess[] = [];
  return {
    pair,
    dir,
    socket: join(dir, 'control.sock'),
    stateDir: join(dir, 'state'),
    mgmtIp,
    async relay(host, port) {
      const r = await TcpRelay.start(mgmtIp, { host, port });
      relays.push(r);
      return r;
    },
    async startServe(args, novaConf = '[DEFAULT]\nhost = nethost1\n') {
      const conf = join(dir, `nova-${serves.length}.conf`);
      await writeFile(conf, novaConf);
      const child = spawn(
        'ip',
        ['netns', 'exec', pair.sender, process.execPath, BIN, 'serve', '--nova-config', conf, '--control-socket', join(dir, 'control.sock'), '--state-dir', join(dir, 'state'), '--metrics-listen', 'off', ...args],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      const logs: Array<Record<string, unknown>> = [];
      const listeners = new Set<() => void>();
      createInterface({ input: child.stderr! }).on('line', (line) => {
        try {
          logs.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          logs.push({ msg: line, raw: true });
        }
        for (const l of listeners) l();
      });
      const proc: ServeProcess = {
        child,
        logs,
        waitForLog(pred, timeoutMs = 15_000) {
          return new Promise((resolve, reject) => {
            const check = (): boolean => {
              const hit = logs.find(pred);
              if (hit !== undefined) {
                listeners.delete(onLine);
                clearTimeout(timer);
                resolve(hit);
                return true;
              }
              return false;
            };
            const onLine = (): void => void check();
            const timer = setTimeout(() => {
              listeners.delete(onLine);
              reject(new Error(`log line not seen within ${timeoutMs} ms; logs:\n${logs.map((l) => JSON.stringify(l)).join('\n')}`));
            }, timeoutMs);
            if (!check()) listeners.add(onLine);
          });
        },
        async stop() {
          if (child.exitCode !== null) return child.exitCode;
          const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
          child.kill('SIGTERM');
          return exited;
        },
      };
      serves.push(proc);
      child.once('exit', (code) => {
        if (code !== 0 && code !== null) logs.push({ msg: `serve exited ${code}` });
      });
      return proc;
    },
    async cleanup() {
      for (const s of serves) await s.stop().catch(() => undefined);
      for (const r of relays) await r.close().catch(() => undefined);
      await pair.group.cleanup();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
