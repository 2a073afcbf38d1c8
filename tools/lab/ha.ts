import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { chmod, chown, cp, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PRIMARY_HOST_IP, PUBLIC_IF, STANDBY_HOST_IP } from './addressing.js';
import type { ModeName } from './modes.js';
import { monotonicMs } from './prober.js';
import { REPO_ROOT } from '../serve/serve-process.js';
import { EventFifo, writeStandin, type StandinEvent } from './standin.js';
import { killPrimary, type Topology } from './topology.js';

/**
 * The HA manager that decides when the standby starts nova-network: `simulated` (the lab binds
 * after --deadtime itself) or a real Heartbeat, Pacemaker + corosync or keepalived, one instance
 * per network host namespace. Heartbeat and Pacemaker insist on fixed paths and on `uname -n`, so
 * each of their instances runs under `unshare --mount --uts` with its own directories bind-mounted
 * (/work/shared/ha-facts.md). The resource is contrib/heartbeat/nova-network (Heartbeat,
 * keepalived's notify scripts) or contrib/pacemaker/nova-network (an OCF agent), driving the
 * lab's nova-network stand-in (standin.ts).
 */

export const HA_NAMES = ['simulated', 'heartbeat', 'pacemaker', 'keepalived'] as const;
export type HaName = (typeof HA_NAMES)[number];
export const FAULTS = ['stop', 'power-off', 'kill'] as const;
export type FaultName = (typeof FAULTS)[number];

export const FAULT_TEXT: Record<FaultName, string> = {
  stop: 'the manager on the primary stopped gracefully (it releases nova-network and hands over)',
  'power-off': "all of the primary's links down at once",
  kill: "SIGKILL of every process on the primary (manager and nova-network), whose addresses go with it",
};

const NODES = { primary: 'net1', standby: 'net2' } as const;
const HOST_IP = { primary: PRIMARY_HOST_IP, standby: STANDBY_HOST_IP } as const;
const CONTRIB_LSB = join(REPO_ROOT, 'contrib', 'heartbeat', 'nova-network');
const CONTRIB_OCF = join(REPO_ROOT, 'contrib', 'pacemaker', 'nova-network');
const CONTRIB_HARESOURCES = join(REPO_ROOT, 'contrib', 'heartbeat', 'haresources');
/** Inside each Heartbeat/Pacemaker instance, /run is the instance's own directory. */
const INSTANCE_CONF = '/run/nova-network-ha.conf';

/** What each manager is configured with for a --deadtime, and the failure detection it implies. */
export interface HaTimers {
  /** The shortest time after which the manager can declare the primary dead (ms). */
  detectionMs: number;
  /** The settings, for the notes. */
  text: string;
  heartbeat?: { keepaliveMs: number; warntimeMs: number; deadtimeMs: number; initdeadS: number };
  keepalived?: { advertCs: number };
  corosync?: { tokenMs: number };
}

export function haTimers(ha: HaName, deadtimeMs: number): HaTimers {
  switch (ha) {
    case 'simulated':
      return { detectionMs: deadtimeMs, text: `the lab binds after --deadtime ${deadtimeMs / 1000} s` };
    case 'heartbeat': {
      const keepaliveMs = Math.max(100, Math.min(500, Math.round(deadtimeMs / 4)));
      const warntimeMs = Math.max(keepaliveMs * 2, Math.round(deadtimeMs / 2));
      const initdeadS = Math.max(4, Math.ceil((2 * deadtimeMs) / 1000));
      return {
        detectionMs: deadtimeMs,
        text: `ha.cf keepalive ${keepaliveMs}ms, warntime ${warntimeMs}ms, deadtime ${deadtimeMs}ms, initdead ${initdeadS}`,
        heartbeat: { keepaliveMs, warntimeMs, deadtimeMs, initdeadS },
      };
    }
    case 'keepalived': {
      // VRRPv3: master down interval = 3 x advert + skew, skew = (256 - priority) x advert / 256;
      // the standby has priority 100. advert_int in centiseconds (v3 allows 0.01 s steps).
      const advertCs = Math.max(1, Math.round(deadtimeMs / 10 / (3 + 156 / 256)));
      const detectionMs = Math.round(advertCs * 10 * (3 + 156 / 256));
      return { detectionMs, text: `VRRPv3 advert_int ${(advertCs / 100).toFixed(2)} s: master down interval ${detectionMs} ms`, keepalived: { advertCs } };
    }
    case 'pacemaker': {
      // A lost token is declared after `token`, then a new membership forms after `consensus`
      // (1.2 x token): pacemaker learns of the loss after about 2.2 x token.
      const tokenMs = Math.max(200, Math.round(deadtimeMs / 2.2));
      return { detectionMs: Math.round(tokenMs * 2.2), text: `corosync token ${tokenMs} ms + consensus ${Math.round(tokenMs * 1.2)} ms`, corosync: { tokenMs } };
    }
  }
}

function ids(): { uid: number; gid: number } {
  const pw = spawnSync('getent', ['passwd', 'hacluster'], { encoding: 'utf8' }).stdout.split(':');
  const gr = spawnSync('getent', ['group', 'haclient'], { encoding: 'utf8' }).stdout.split(':');
  if (pw.length < 4 || gr.length < 3) throw new Error('user hacluster or group haclient missing (packages heartbeat/pacemaker; scripts/bootstrap installs them)');
  return { uid: Number(pw[2]), gid: Number(gr[2]) };
}

/** Every process inside a network namespace (`ip netns pids`). */
function pidsIn(ns: string): number[] {
  const r = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' });
  return r.stdout
    .split(/\s+/)
    .filter((x) => /^\d+$/.test(x))
    .map(Number);
}

function killAll(ns: string, signal: NodeJS.Signals): number {
  const pids = pidsIn(ns);
  for (const p of pids) {
    try {
      process.kill(p, signal);
    } catch {
      // already gone
    }
  }
  return pids.length;
}

/** Tools each manager needs; null when all are there. */
export function missingHaTools(ha: HaName): string | null {
  const need: Record<HaName, Array<[string, string]>> = {
    simulated: [],
    heartbeat: [['/usr/libexec/heartbeat/heartbeat', 'heartbeat'], ['unshare', 'util-linux']],
    keepalived: [['keepalived', 'keepalived']],
    pacemaker: [['corosync', 'corosync'], ['pacemakerd', 'pacemaker'], ['unshare', 'util-linux']],
  };
  const missing = need[ha].filter(([tool]) => spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status !== 0).map(([, pkg]) => pkg);
  return missing.length === 0 ? null : [...new Set(missing)].join(', ');
}

type Role = 'primary' | 'standby';

/** Both instances of one manager for one failover; `stop()` leaves no process behind. */
export class HaCluster {
  private readonly children: ChildProcess[] = [];
  private stopped = false;
  private readonly onSignal = (): void => this.killSync();
  private readonly onExit = (): void => this.killSync();

  private constructor(
    readonly ha: Exclude<HaName, 'simulated'>,
    readonly timers: HaTimers,
    private readonly topo: Topology,
    private readonly dir: string,
    readonly events: EventFifo,
  ) {
    // Before the namespace group's own handlers, which delete the namespaces: a process left in
    // a deleted namespace would keep it (and its veths) alive.
    process.prependListener('SIGINT', this.onSignal);
    process.prependListener('SIGTERM', this.onSignal);
    process.on('exit', this.onExit);
  }

  /**
   * Configures and starts both instances, then waits until the primary's manager has started
   * nova-network there (its addresses bound) and the standby has not.
   */
  static async start(
    ha: Exclude<HaName, 'simulated'>,
    topo: Topology,
    mode: ModeName,
    dir: string,
    deadtimeMs: number,
    controlSocket: string | null,
    progress: (msg: string) => void,
  ): Promise<HaCluster> {
    const events = EventFifo.open(dir);
    const c = new HaCluster(ha, haTimers(ha, deadtimeMs), topo, dir, events);
    try {
      const started = monotonicMs();
      for (const role of ['primary', 'standby'] as const) {
        const d = join(dir, role);
        await mkdir(d, { recursive: true });
        const conf = await writeStandin(
          { node: NODES[role], mode: role === 'primary' ? 'bind-only' : mode, layout: topo.layout, fifo: events.path, controlSocket: role === 'standby' ? controlSocket : null },
          d,
        );
        await c.launch(role, d, conf);
      }
      const ready = await events.wait(NODES.primary, 'bound', 90_000);
      if (ready === null) throw new Error(`${ha}: the primary's manager did not start nova-network within 90 s${c.logTail()}`);
      await c.settle();
      const early = events.find(NODES.standby, 'start');
      if (early !== undefined) throw new Error(`${ha}: the standby started nova-network too before the failure (split brain at start)${c.logTail()}`);
      progress(`${ha}: both instances up (${c.timers.text}); the primary's manager started nova-network after ${((ready.at - started) / 1000).toFixed(1)} s`);
      return c;
    } catch (err) {
      await c.stop();
      throw err;
    }
  }

  /** Pacemaker probes the resource on every node after the start; let that finish. */
  private async settle(): Promise<void> {
    if (this.ha === 'pacemaker') {
      const until = monotonicMs() + 20_000;
      while (monotonicMs() < until) {
        const r = spawnSync('nsenter', ['-t', String(this.pid('standby')), '-n', '-m', '-u', 'crm_resource', '--locate', '--resource', 'nova-network'], { encoding: 'utf8', timeout: 5000 });
        if (/is running on: net1/.test(r.stdout)) return;
        await new Promise((r2) => setTimeout(r2, 250));
      }
    }
  }

  /** The manager's main process: heartbeat and keepalived write a pid file; pacemakerd is our child (exec). */
  private pid(role: Role): number {
    const d = join(this.dir, role);
    if (this.ha === 'pacemaker') return this.children[role === 'primary' ? 0 : 1]!.pid!;
    return Number(readFileSync(this.ha === 'heartbeat' ? join(d, 'run', 'heartbeat.pid') : join(d, 'keepalived.pid'), 'utf8').trim());
  }

  private async launch(role: Role, d: string, standinConf: string): Promise<void> {
    const ns = this.topo.ns[role]!;
    const node = NODES[role];
    const peer = HOST_IP[role === 'primary' ? 'standby' : 'primary'];
    let argv: string[];
    if (this.ha === 'keepalived') {
      const t = this.timers.keepalived!;
      const lsb = (what: string): string => `"${CONTRIB_LSB} ${standinConf} ${what}"`;
      await writeFile(
        join(d, 'keepalived.conf'),
        [
          'global_defs {',
          `    router_id ${node}`,
          '    script_user root',
          '}',
          'vrrp_instance nova_network {',
          '    state BACKUP',
          '    nopreempt',
          `    interface ${PUBLIC_IF}`,
          '    virtual_router_id 51',
          `    priority ${role === 'primary' ? 150 : 100}`,
          '    vrrp_version 3',
          `    advert_int ${(t.advertCs / 100).toFixed(2)}`,
          `    notify_master ${lsb('start')}`,
          `    notify_backup ${lsb('stop')}`,
          `    notify_fault ${lsb('stop')}`,
          `    notify_stop ${lsb('stop')}`,
          '}',
          '',
        ].join('\n'),
      );
      argv = ['keepalived', '-n', '-P', '-l', '-D', '-f', join(d, 'keepalived.conf'), '-p', join(d, 'keepalived.pid'), '-r', join(d, 'vrrp.pid'), '-c', join(d, 'checkers.pid'), '-b', join(d, 'bfd.pid'), '-i', node];
    } else {
      const run = join(d, 'run');
      await mkdir(run, { recursive: true });
      await cp(standinConf, join(run, 'nova-network-ha.conf'));
      const { uid, gid } = ids();
      const binds: Array<[string, string]> = [];
      if (this.ha === 'heartbeat') {
        const t = this.timers.heartbeat!;
        await cp('/etc/ha.d', join(d, 'ha.d'), { recursive: true });
        await cp('/var/lib/heartbeat', join(d, 'lib'), { recursive: true, preserveTimestamps: true });
        for (const sub of ['ccm', 'crm', 'dopd']) {
          await mkdir(join(run, 'heartbeat', sub), { recursive: true });
          await chown(join(run, 'heartbeat', sub), uid, gid);
          await chmod(join(run, 'heartbeat', sub), 0o750);
        }
        await mkdir(join(run, 'heartbeat', 'rsctmp'), { recursive: true });
        await writeFile(
          join(d, 'ha.d', 'ha.cf'),
          [
            'use_logd no',
            'logfacility none',
            `logfile ${join(d, 'heartbeat.log')}`,
            'udpport 694',
            `keepalive ${t.keepaliveMs}ms`,
            `warntime ${t.warntimeMs}ms`,
            `deadtime ${t.deadtimeMs}ms`,
            `initdead ${t.initdeadS}`,
            `ucast ${PUBLIC_IF} ${peer}`,
            'auto_failback off',
            'crm off',
            `node ${NODES.primary}`,
            `node ${NODES.standby}`,
            '',
          ].join('\n'),
        );
        await writeFile(join(d, 'ha.d', 'authkeys'), 'auth 1\n1 sha1 nova-garp-lab\n', { mode: 0o600 });
        await chmod(join(d, 'ha.d', 'authkeys'), 0o600);
        await writeFile(join(d, 'ha.d', 'haresources'), haresourcesLine(await readFile(CONTRIB_HARESOURCES, 'utf8'), NODES.primary, INSTANCE_CONF) + '\n');
        await symlink(CONTRIB_LSB, join(d, 'ha.d', 'resource.d', 'nova-network'));
        binds.push([join(d, 'ha.d'), '/etc/ha.d'], [join(d, 'lib'), '/var/lib/heartbeat'], [run, '/run']);
        argv = ['/usr/libexec/heartbeat/heartbeat'];
      } else {
        const t = this.timers.corosync!;
        await cp('/etc/corosync', join(d, 'corosync'), { recursive: true });
        await cp('/var/lib/corosync', join(d, 'lib-corosync'), { recursive: true });
        await cp('/var/lib/pacemaker', join(d, 'lib-pacemaker'), { recursive: true, preserveTimestamps: true });
        await mkdir(join(d, 'log-pacemaker'), { recursive: true });
        await chown(join(d, 'log-pacemaker'), uid, gid);
        await mkdir(join(run, 'crm'), { recursive: true });
        await chown(join(run, 'crm'), uid, gid);
        await chmod(join(run, 'crm'), 0o750);
        await mkdir(join(d, 'ocf', 'nova-garp'), { recursive: true });
        await symlink(CONTRIB_OCF, join(d, 'ocf', 'nova-garp', 'nova-network'));
        await writeFile(join(d, 'corosync', 'corosync.conf'), corosyncConf(t.tokenMs, join(d, 'corosync.log')));
        const cib = join(d, 'lib-pacemaker', 'cib', 'cib.xml');
        await writeFile(cib, cibXml(INSTANCE_CONF), { mode: 0o600 });
        await chown(cib, uid, gid);
        binds.push(
          [join(d, 'corosync'), '/etc/corosync'],
          [join(d, 'lib-corosync'), '/var/lib/corosync'],
          [join(d, 'lib-pacemaker'), '/var/lib/pacemaker'],
          [join(d, 'log-pacemaker'), '/var/log/pacemaker'],
          [run, '/run'],
          [join(d, 'ocf'), '/usr/lib/ocf/resource.d'],
        );
        argv = ['sh', '-c', 'corosync && exec pacemakerd'];
      }
      const script = [
        'set -e',
        `hostname ${node}`,
        ...binds.map(([from, to]) => `mount --bind '${from}' '${to}'`),
        ...(this.ha === 'pacemaker' ? ['mount -t tmpfs -o mode=1777 tmpfs /dev/shm'] : []),
        `exec ${argv.map((a) => `'${a}'`).join(' ')}`,
      ].join('\n');
      argv = ['unshare', '--mount', '--uts', '--propagation', 'private', 'sh', '-c', script];
    }
    const log = openSync(join(d, 'manager.out'), 'a');
    try {
      const child = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['ignore', log, log], detached: true });
      child.on('error', () => undefined);
      this.children.push(child);
    } finally {
      closeSync(log);
    }
  }

  /**
   * Injects the failure on the primary; returns t0 (CLOCK_MONOTONIC ms): the moment the manager
   * was signalled, or the moment the links were down / the processes killed.
   */
  async fault(kind: FaultName): Promise<number> {
    const ns = this.topo.ns.primary!;
    switch (kind) {
      case 'stop': {
        const pid = this.pid('primary');
        const t0 = monotonicMs();
        process.kill(pid, 'SIGTERM');
        return t0;
      }
      case 'power-off':
        await killPrimary(this.topo);
        return monotonicMs();
      case 'kill': {
        // Stopped first: keepalived's and pacemaker's children get SIGTERM when their parent dies
        // (PR_SET_PDEATHSIG) and would hand over gracefully before our SIGKILL reached them.
        killAll(ns, 'SIGSTOP');
        killAll(ns, 'SIGKILL');
        const lines = readFileSync(join(this.dir, 'primary', 'unbind.batch'), 'utf8');
        spawnSync('ip', ['-n', ns, '-force', '-batch', '-'], { input: lines, stdio: ['pipe', 'ignore', 'ignore'] });
        return monotonicMs();
      }
    }
  }

  /** t0 → the standby's manager started nova-network, as measured; null if it did not. */
  takeover(t0: number): StandinEvent | null {
    return this.events.find(NODES.standby, 'start', t0) ?? null;
  }

  primaryEvent(what: StandinEvent['what'], after: number): StandinEvent | null {
    return this.events.find(NODES.primary, what, after) ?? null;
  }

  standbyEvent(what: StandinEvent['what'], after: number): StandinEvent | null {
    return this.events.find(NODES.standby, what, after) ?? null;
  }

  waitStandby(what: StandinEvent['what'], timeoutMs: number, after: number): Promise<StandinEvent | null> {
    return this.events.wait(NODES.standby, what, timeoutMs, after);
  }

  private logTail(): string {
    const parts: string[] = [];
    for (const role of ['primary', 'standby']) {
      for (const f of ['manager.out', 'heartbeat.log', 'corosync.log', 'log-pacemaker/pacemaker.log']) {
        try {
          const text = readFileSync(join(this.dir, role, f), 'utf8').trim().split('\n').slice(-(process.env.NOVA_GARP_LAB_LOG_LINES === undefined ? 8 : Number(process.env.NOVA_GARP_LAB_LOG_LINES))).join('\n');
          if (text !== '') parts.push(`--- ${role} ${f}:\n${text}`);
        } catch {
          // not this manager's file
        }
      }
    }
    return parts.length === 0 ? '' : `\n${parts.join('\n')}`;
  }

  /** Signal or process.exit: nothing can be awaited any more. */
  private killSync(): void {
    if (this.stopped) return;
    for (const role of ['primary', 'standby'] as const) killAll(this.topo.ns[role]!, 'SIGKILL');
    // A signal listener must not throw: the namespace group's, which deletes the namespaces, runs
    // next. The killed processes may still be writing here for a moment (ENOTEMPTY): retry.
    for (let i = 0; i < 20; i++) {
      try {
        rmSync(this.dir, { recursive: true, force: true, maxRetries: 3 });
        break;
      } catch {
        spawnSync('sleep', ['0.05']);
      }
    }
  }

  /** SIGKILL every process in both network host namespaces, until none is left. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    const until = monotonicMs() + 10_000;
    for (;;) {
      let n = 0;
      for (const role of ['primary', 'standby'] as const) n += killAll(this.topo.ns[role]!, 'SIGKILL');
      if (n === 0 || monotonicMs() > until) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    this.stopped = true;
    this.events.close();
    process.removeListener('SIGINT', this.onSignal);
    process.removeListener('SIGTERM', this.onSignal);
    process.removeListener('exit', this.onExit);
  }
}

/** contrib/heartbeat/haresources' resource line for the lab: its node and configuration file. */
export function haresourcesLine(example: string, node: string, conf: string): string {
  const line = example.split('\n').find((l) => l.trim() !== '' && !l.startsWith('#'));
  if (line === undefined) throw new Error('contrib/heartbeat/haresources has no resource line');
  // The lab's nova-network binds the routing source IP itself (nova's order), so IPaddr2 is left out.
  const nova = line.split(/\s+/).find((r) => r.startsWith('nova-network'));
  if (nova === undefined) throw new Error('contrib/heartbeat/haresources does not start nova-network');
  return `${node} ${nova.replace(/::.*$/, `::${conf}`)}`;
}

export function corosyncConf(tokenMs: number, logfile: string): string {
  return `totem {
    version: 2
    cluster_name: nglab
    transport: knet
    crypto_cipher: none
    crypto_hash: none
    token: ${tokenMs}
}
nodelist {
    node {
        ring0_addr: ${PRIMARY_HOST_IP}
        name: ${NODES.primary}
        nodeid: 1
    }
    node {
        ring0_addr: ${STANDBY_HOST_IP}
        name: ${NODES.standby}
        nodeid: 2
    }
}
quorum {
    provider: corosync_votequorum
    two_node: 1
}
logging {
    to_logfile: yes
    logfile: ${logfile}
    to_syslog: no
    to_stderr: no
    timestamp: on
}
`;
}

export function cibXml(conf: string): string {
  return `<cib validate-with="pacemaker-3.9" epoch="1" num_updates="0" admin_epoch="0">
  <configuration>
    <crm_config>
      <cluster_property_set id="cib-bootstrap-options">
        <nvpair id="opt-stonith" name="stonith-enabled" value="false"/>
        <nvpair id="opt-quorum" name="no-quorum-policy" value="ignore"/>
        <nvpair id="opt-dc-deadtime" name="dc-deadtime" value="2s"/>
      </cluster_property_set>
    </crm_config>
    <nodes/>
    <resources>
      <primitive id="nova-network" class="ocf" provider="nova-garp" type="nova-network">
        <instance_attributes id="nova-network-attrs">
          <nvpair id="nova-network-config" name="config" value="${conf}"/>
        </instance_attributes>
        <meta_attributes id="nova-network-meta">
          <nvpair id="nova-network-stickiness" name="resource-stickiness" value="100"/>
        </meta_attributes>
        <operations>
          <op id="nova-network-monitor" name="monitor" interval="1s" timeout="20s"/>
        </operations>
      </primitive>
    </resources>
    <constraints>
      <rsc_location id="nova-network-prefers-net1" rsc="nova-network" node="${NODES.primary}" score="50"/>
    </constraints>
  </configuration>
  <status/>
</cib>
`;
}
