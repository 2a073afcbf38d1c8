import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPair, type Pair } from './pair.js';
import { TcpRelay } from '../../tools/netns/tcp-relay.js';
import { run } from '../../src/shell.js';
import { ServeProcess } from '../../tools/serve/serve-process.js';

export type { ServeProcess };

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
      const proc = ServeProcess.spawn({
        netns: pair.sender,
        args: ['--nova-config', conf, '--control-socket', join(dir, 'control.sock'), '--state-dir', join(dir, 'state'), '--metrics-listen', 'off', ...args],
      });
      serves.push(proc);
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
