import { spawnSync } from 'node:child_process';
import { TcpRelay, type Endpoint } from '../netns/tcp-relay.js';
import { run } from '../../src/shell.js';
import type { DatabaseUrl } from '../../src/nova/database-url.js';
import type { RabbitSettings } from '../../src/nova/transport-url.js';
import { NOVA_HOST, PUBLIC_IF, ROUTING_SOURCE_IP } from './addressing.js';

/**
 * `--db` and `--amqp`: the standby's sidecar reaches the machine's MariaDB and RabbitMQ. A
 * namespace has its own loopback, so the lab adds a management veth from the root namespace into
 * the standby and runs a TCP relay per service on the root end's address; the services see a
 * loopback client, as a co-located nova host's would.
 */

export interface LabBackends {
  db: { url: DatabaseUrl; shape: 'cactus' | 'newton' } | null;
  amqp: { rabbit: RabbitSettings; redacted: string } | null;
}

export const NO_BACKENDS: LabBackends = { db: null, amqp: null };

export { TcpRelay, type Endpoint };

/** Link name and addresses of a run's management veth, from its namespace prefix `nglab-<tag>-<i>-`. */
export function managementLayout(prefix: string): { rootIf: string; nsIf: string; rootIp: string; nsIp: string } {
  const m = /^nglab-([0-9a-f]{6})-(\d+)-$/.exec(prefix);
  if (m === null) throw new RangeError(`not a lab namespace prefix: '${prefix}'`);
  const tag = m[1]!;
  const index = Number(m[2]);
  // 169.254.0.0/16 is link-local: no route in or out of the machine uses it. 169.254.169.0/24
  // (cloud metadata) is avoided; one /30 per mode, a third octet per run.
  const third = 1 + (Number.parseInt(tag.slice(0, 2), 16) % 168);
  const base = (index % 64) * 4;
  return { rootIf: `ngm${tag}${index}`, nsIf: 'mgmt0', rootIp: `169.254.${third}.${base + 1}`, nsIp: `169.254.${third}.${base + 2}` };
}

/** The management veth and the relays that ride on it; `close()` removes both. */
export class ManagementLink {
  private readonly relays: TcpRelay[] = [];
  /** Signal or process.exit while the link exists: remove it synchronously. */
  private readonly onExit = (): void => void spawnSync('ip', ['link', 'del', this.rootIf], { stdio: 'ignore' });

  private constructor(
    readonly rootIf: string,
    readonly rootIp: string,
  ) {
    process.on('exit', this.onExit);
  }

  static async create(prefix: string, standbyNs: string): Promise<ManagementLink> {
    const p = managementLayout(prefix);
    const link = new ManagementLink(p.rootIf, p.rootIp);
    try {
      await run(['ip', 'link', 'add', p.rootIf, 'type', 'veth', 'peer', 'name', p.nsIf, 'netns', standbyNs]);
    } catch (err) {
      process.removeListener('exit', link.onExit);
      throw err;
    }
    try {
      await run(['ip', 'address', 'add', `${p.rootIp}/30`, 'dev', p.rootIf]);
      await run(['ip', 'link', 'set', p.rootIf, 'up']);
      await run(['ip', '-n', standbyNs, '-batch', '-'], { input: `address add ${p.nsIp}/30 dev ${p.nsIf}\nlink set ${p.nsIf} up\n` });
    } catch (err) {
      await link.close();
      throw err;
    }
    return link;
  }

  /** A relay on the root end to `target`; returns the endpoint the standby connects to. */
  async relay(target: Endpoint | { path: string }): Promise<Endpoint> {
    const r = await TcpRelay.start(this.rootIp, target);
    this.relays.push(r);
    return { host: this.rootIp, port: r.port };
  }

  async close(): Promise<void> {
    process.removeListener('exit', this.onExit);
    for (const r of this.relays.splice(0)) await r.close().catch(() => undefined);
    // Deleting either end removes the pair; the standby's namespace may already be gone.
    await run(['ip', 'link', 'del', this.rootIf]).catch(() => undefined);
  }
}

/** `[database] connection` for the sidecar: the lab database through the relay. */
export function relayedDatabaseUrl(url: DatabaseUrl, via: Endpoint): string {
  const cred = url.password === '' ? encodeURIComponent(url.user) : `${encodeURIComponent(url.user)}:${encodeURIComponent(url.password)}`;
  const charset = url.charset === undefined ? '' : `?charset=${encodeURIComponent(url.charset)}`;
  return `mysql://${cred}@${via.host}:${via.port}/${encodeURIComponent(url.database)}${charset}`;
}

export interface SidecarConfOptions {
  /** `[database] connection`; null: no database, the sidecar announces from its snapshot. */
  databaseUrl: string | null;
  /** RabbitMQ through the relay, with the run's own control_exchange; null: none. */
  rabbit: { host: string; port: number; userid: string; password: string; virtualHost: string; controlExchange: string } | null;
}

/** The standby's nova.conf (INI, as from Grizzly on; the sidecar reads both formats). */
export function labNovaConf(opts: SidecarConfOptions = { databaseUrl: null, rabbit: null }): string {
  const lines = ['[DEFAULT]', `host = ${NOVA_HOST}`, `public_interface = ${PUBLIC_IF}`, `routing_source_ip = ${ROUTING_SOURCE_IP}`];
  if (opts.rabbit !== null) lines.push(`control_exchange = ${opts.rabbit.controlExchange}`);
  if (opts.databaseUrl !== null) lines.push('', '[database]', `connection = ${opts.databaseUrl}`);
  if (opts.rabbit !== null) {
    const r = opts.rabbit;
    lines.push('', '[oslo_messaging_rabbit]', `rabbit_host = ${r.host}`, `rabbit_port = ${r.port}`, `rabbit_userid = ${r.userid}`, `rabbit_password = ${r.password}`, `rabbit_virtual_host = ${r.virtualHost}`);
  }
  return lines.join('\n') + '\n';
}

/** A control_exchange no other run (or nova) uses: the run's namespace prefix. */
export function labExchange(prefix: string): string {
  return prefix.replace(/-$/, '');
}
