import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { PUBLIC_IF, ROUTER_PUBLIC_IP, bindAll, bindFloating, bindRoutingSource, type AddressLayout } from './addressing.js';
import type { ModeName } from './modes.js';
import type { Topology } from './topology.js';
import type { HookProcess } from './sidecar.js';
import { monotonicMs } from './prober.js';

/**
 * What the standby does after the deadtime, per mode: bind the addresses in init_host order and
 * announce them the way that mode does. Serial modes stop when `signal` aborts (--max-wait).
 */

export interface ActionResult {
  /** Monotonic ms when the last address was bound, or null if the run was cut short before. */
  boundAt: number | null;
  announcedAt: number | null;
  notes: string[];
}

export interface ActionContext {
  topo: Topology;
  signal: AbortSignal;
  hook: HookProcess | null;
  /** An `ip -batch` already running in the standby, waiting for the bind lines. */
  bind?: PreparedBatch | null;
}

/**
 * `ip -n STANDBY -batch -`, started before the deadtime and fed at it: the takeover binds without
 * first paying for a fork, an exec and a setns (about 8 ms on a loaded 2-core machine), as
 * nova-network, already running, does not either.
 */
export class PreparedBatch {
  private stderr = '';
  private readonly exited: Promise<number | null>;

  private constructor(private readonly child: ChildProcess) {
    child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((resolve) => {
      child.on('error', () => resolve(null));
      child.on('close', (code) => resolve(code));
    });
  }

  static start(ns: string): PreparedBatch {
    return new PreparedBatch(spawn('ip', ['-n', ns, '-batch', '-'], { stdio: ['pipe', 'ignore', 'pipe'] }));
  }

  /** Sends the lines, closes its input and waits for it to finish them. */
  async run(lines: string[]): Promise<void> {
    this.child.stdin!.end(lines.join('\n') + '\n');
    const code = await this.exited;
    if (code !== 0) throw new Error(`ip -batch in the standby failed (${code ?? 'not started'}): ${this.stderr.trim()}`);
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

/** Binds every address in the standby, through the prepared `ip -batch` when there is one. */
async function bindAllStandby(ctx: ActionContext): Promise<void> {
  const t = ctx.topo;
  if (ctx.bind !== undefined && ctx.bind !== null) await ctx.bind.run(bindAll(t.layout));
  else await t.group.batch(t.ns.standby!, bindAll(t.layout));
}

/** Runs a command to completion; its exit status is ignored, as nova ignores arping's. */
function exec(argv: string[], signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(argv[0]!, argv.slice(1), { signal, timeout: 30_000 }, (err) => {
      if (err !== null && (err as Error).name === 'AbortError') reject(err);
      else if (err !== null && (err as NodeJS.ErrnoException).code === 'ENOENT') reject(new Error(`${argv[0]} is not installed`));
      else resolve();
    });
  });
}

const inStandby = (t: Topology, argv: string[]): string[] => ['ip', 'netns', 'exec', t.ns.standby!, ...argv];
const ipStandby = (t: Topology, line: string): string[] => ['ip', '-n', t.ns.standby!, ...line.split(' ')];

/** The original manual fix's peer per address: the upstream router, or the instance on a VLAN. */
export function seedArpingCommands(layout: AddressLayout): string[][] {
  const out: string[][] = [['arping', '-b', '-c', '1', '-s', layout.routingSource, '-I', PUBLIC_IF, ROUTER_PUBLIC_IP]];
  for (const n of layout.networks) out.push(['arping', '-b', '-c', '1', '-s', n.gateway, '-I', n.bridge, n.instanceIp]);
  for (const a of layout.floating) out.push(['arping', '-b', '-c', '1', '-s', a, '-I', PUBLIC_IF, ROUTER_PUBLIC_IP]);
  return out;
}

/** nova's send_arp_for_ip (send_arp_for_ha=True, send_arp_for_ha_count=3). */
export const novaArping = (address: string, dev: string): string[] => ['arping', '-U', address, '-A', '-I', dev, '-c', '3'];

/**
 * Fills `out` as it goes, so a run cut short by --max-wait still reports what had happened.
 * Rejects with an AbortError when `ctx.signal` aborts.
 */
export async function runAction(mode: ModeName, ctx: ActionContext, out: ActionResult): Promise<void> {
  const { topo: t, signal } = ctx;
  const layout = t.layout;
  const notes = out.notes;
  switch (mode) {
    case 'none': {
      await bindAllStandby(ctx);
      out.boundAt = monotonicMs();
      return;
    }
    case 'seed-arping': {
      if (layout.ipv6) notes.push('IPv6 gateways not announced (arping is IPv4 only)');
      await bindAllStandby(ctx);
      out.boundAt = monotonicMs();
      for (const argv of seedArpingCommands(layout)) await exec(inStandby(t, argv), signal);
      out.announcedAt = monotonicMs();
      return;
    }
    case 'nova-arping': {
      // heartbeat's IP resource first; nova never announces the routing source IP.
      await exec(ipStandby(t, bindRoutingSource(layout)[0]!), signal);
      for (const n of layout.networks) {
        // initialize_gateway_device: the bridge had no address, so the "changed" branch arpings it.
        await exec(ipStandby(t, `address add ${n.gateway}/${n.gatewayPrefix} dev ${n.bridge}`), signal);
        if (n.gatewayV6 !== null) await exec(ipStandby(t, `address add ${n.gatewayV6}/64 dev ${n.bridge} nodad`), signal);
        await exec(inStandby(t, novaArping(n.gateway, n.bridge)), signal);
      }
      // init_host_floating_ips: bind, then arping, one floating IP after the other.
      notes.push('routing source IP never announced (nova does not)');
      const last = layout.floating.length - 1;
      if (last < 0) out.boundAt = monotonicMs();
      for (const [i, a] of layout.floating.entries()) {
        await exec(ipStandby(t, bindFloating(a)), signal);
        if (i === last) out.boundAt = monotonicMs();
        await exec(inStandby(t, novaArping(a, PUBLIC_IF)), signal);
      }
      out.announcedAt = monotonicMs();
      return;
    }
    case 'nova-garp': {
      await bindAllStandby(ctx);
      out.boundAt = monotonicMs();
      const ok = await ctx.hook!.notify();
      out.announcedAt = monotonicMs();
      notes.push(`hook call returned ${(out.announcedAt - out.boundAt).toFixed(1)} ms after the bind (${ok ? 'accepted' : 'NOT accepted'})`);
      return;
    }
  }
}
