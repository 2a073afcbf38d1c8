import { missingCapabilitiesOfThisProcess } from '../netns/capabilities.js';
import { spawnSync } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Command } from '../../src/cli/command.js';
import { EXIT, UsageError } from '../../src/cli/exit-codes.js';
import { intOption, numberOption, parseCommandArgs, printJson } from '../../src/cli/args.js';
import { uniqueTag } from '../netns/namespaces.js';
import { MAX_FLOATING_IPS, MAX_NETWORKS } from '../lab/addressing.js';
import { MODES, parseModes } from '../lab/modes.js';
import { runMode, type LabOptions } from '../lab/failover.js';
import { labJson, renderReport, renderSeedTable, summarize, type ModeRun } from '../lab/report.js';
import { FAULTS, HA_NAMES, haTimers, missingHaTools, type FaultName, type HaName } from '../lab/ha.js';
import { renderPlot } from '../lab/plot.js';
import { LINUX_DEFAULT_GC_THRESH3, NeighbourLimit } from '../lab/neighbour-limit.js';
import { isShape, MigrationError, SHAPES } from '../../migrations/index.js';
import { makeLayout } from '../lab/addressing.js';
import { NO_BACKENDS, type LabBackends } from '../lab/backends.js';
import { LabDatabaseError, writeLabDatabase } from '../lab/lab-database.js';
import { parseDatabaseUrl } from '../../src/nova/database-url.js';
import { describeDbError } from '../../src/nova/db-connection.js';
import { parseTransportUrl, redactTransportUrl } from '../../src/nova/transport-url.js';
import { amqpUrls } from '../../src/amqp/broker-url.js';
import amqp from 'amqplib';

const HELP = `Usage: nova-garp lab [options]

Reproduces a nova-network Active/Passive failover in network namespaces and measures how long
each address stays unreachable. Per mode, on a fresh topology: a laptop behind a router pings the
routing source IP and every floating IP, an instance per VLAN pings its gateway (ICMP echo, every
20 ms per address while the total stays within 25,000/s; the interval used is printed); the
primary's links go down (t0); after the deadtime the standby binds the addresses in nova-network's
init_host order and announces them the way the mode does:

  none         nothing: the router and instances keep the dead MAC until their entries fail
  seed-arping  the original manual fix: arping -b -c 1 -s ADDR -I IF PEER per address, serially
  nova-arping  nova's send_arp_for_ha: arping -U ADDR -A -I IF -c 3 after binding each address
  nova-garp    patches/nova_garp_hook.py tells a running 'nova-garp serve' in the standby

Beside the probes (the user's view), a watcher follows the router's neighbour table, each
instance's (for its gateway) and the standby's addresses over rtnetlink: the table and the JSON
add when the router's entry for each address pointed at the standby (convergenceS, from t0) and
how long after the standby bound it (boundToRouterMs: the announcer's own latency), and count the
addresses the router never updated (unconverged).

With --ha heartbeat|pacemaker|keepalived a real HA manager runs in both network host namespaces
and decides when the standby starts nova-network (contrib/heartbeat/nova-network, or the OCF agent
contrib/pacemaker/nova-network, driving the lab's nova-network stand-in); the JSON then reports
takeoverS (t0 to that start, as measured) and overheadS = disconnection - takeover per address.

Options:
      --modes LIST          comma-separated modes (default: ${MODES.join(',')})
      --floating-ips N      floating IPs on the public interface (default 50, max ${MAX_FLOATING_IPS})
      --networks N          VLAN networks, one gateway and one instance each (default 2, max ${MAX_NETWORKS})
      --router-drops-garp   the router ignores gratuitous ARP (drop_gratuitous_arp=1): plain GARP
                            modes stay dark, seed-arping's directed requests work, and nova-garp
                            converges through its verification's escalation
      --split-brain         the primary does not die cleanly: it lets go of every address but
                            every fifth floating IP, which it keeps answering ARP for on a live
                            link; the nova-garp mode's notes give when each conflict was detected
                            (simulated HA only)
      --ipv6                also give every network an IPv6 gateway (gateway_v6) and probe it
      --deadtime S          seconds between t0 and the standby starting (default 2, as in the
                            original experiment's heartbeat); with --ha: heartbeat's deadtime,
                            keepalived's master down interval, corosync's token + consensus
      --ha MANAGER          ${HA_NAMES.join(', ')} (default simulated: the lab binds
                            after --deadtime)
      --fault F             how the primary fails with a real --ha: stop (default: the manager is
                            stopped and hands over), power-off (all primary links down at once),
                            kill (SIGKILL of every primary process; its addresses go with it).
                            simulated is always power-off
      --deadtimes LIST      the original experiment's table: one failover per deadtime (e.g. 4,3,2),
                            mode and sample, printed in the original's form (deadtime, ping reply
                            stop, ping reply response, difference) for the laptop's floating IP
      --samples N           failovers per deadtime and mode with --deadtimes (default 1)
      --max-wait S          stop a mode this many seconds after t0 even if addresses are still dark;
                            such modes are marked capped and their figures are lower bounds
                            (default 75: enough for 'none', whose worst case is about 53 s)
      --probe-interval-ms MS  probe interval per address (default 20, more above 500 addresses)
      --plot FILE.svg       draw each mode's per-address outage into FILE.svg
      --json                print {"modes":[...]} instead of the table
      --db URL              mysql://user:password@host[:port]/database: create that database if
                            needed, migrate it to nova's shape and write rows for exactly the lab's
                            topology (plus other hosts', deleted and unassociated rows); the
                            nova-garp mode's sidecar then reads its inventory from it instead of a
                            snapshot. Its nova rows are replaced: never point it at a real nova
                            database (one with rows no lab run wrote is refused)
      --db-shape SHAPE      cactus or newton (default newton): the nova release --db's tables mimic
      --amqp URL            amqp://user:password@host[:port]/vhost: the nova-garp mode's sidecar
                            consumes from this RabbitMQ on an exchange of the run's own, and after
                            the failover gets a Cactus associate_floating_ip cast for a new address
  -h, --help                this help

Needs root (network namespaces, raw sockets), iproute2, and for the modes that use them iputils
arping and python3. Progress goes to stderr; everything the lab creates is removed on exit,
Ctrl-C and failure. With --db/--amqp the sidecar reaches the services through a management veth
from the root namespace into the standby and a TCP relay in the lab process.`;

interface Values {
  modes?: string;
  'floating-ips'?: string;
  networks?: string;
  ipv6?: boolean;
  'router-drops-garp'?: boolean;
  'split-brain'?: boolean;
  deadtime?: string;
  'max-wait'?: string;
  'probe-interval-ms'?: string;
  plot?: string;
  json?: boolean;
  ha?: string;
  fault?: string;
  deadtimes?: string;
  samples?: string;
  db?: string;
  'db-shape'?: string;
  amqp?: string;
}

function progress(msg: string): void {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] lab ${msg}\n`);
}

function requireTool(tool: string, why: string): void {
  const r = spawnSync(tool, ['-V'], { stdio: 'ignore' });
  if (r.error !== undefined) throw new UsageError(`${tool} is not installed; it is needed for ${why} (scripts/bootstrap installs it)`);
}

const SEE_HELP = "see 'nova-garp lab --help'";

/** Option errors in one style: `<what is wrong>; <what to do>`. */
function checked<T>(read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (err instanceof UsageError && !err.message.includes('; ')) throw new UsageError(`${err.message}; ${SEE_HELP}`, err.exitCode);
    throw err;
  }
}

/** Flags that take a value: `--floating-ips -5` is that flag with the value -5, not a flag `-5`. */
const VALUE_FLAGS = ['modes', 'floating-ips', 'networks', 'deadtime', 'max-wait', 'probe-interval-ms', 'plot', 'db', 'db-shape', 'amqp', 'ha', 'fault', 'deadtimes', 'samples'];
export function joinNegativeValues(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = argv[i + 1];
    if (a.startsWith('--') && !a.includes('=') && VALUE_FLAGS.includes(a.slice(2)) && next !== undefined && /^-\d/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

/** `--plot FILE`: checked before the run, not after it. */
function checkPlotPath(path: string): void {
  const full = resolve(path);
  let st;
  try {
    st = statSync(full);
  } catch {
    st = null;
  }
  if (st !== null && st.isDirectory()) throw new UsageError(`--plot: ${path} is a directory; give a file name such as ${path.replace(/\/$/, '')}/lab.svg`);
  const dir = dirname(full);
  try {
    if (!statSync(dir).isDirectory()) throw new Error('not a directory');
    accessSync(st === null ? dir : full, constants.W_OK);
  } catch {
    throw new UsageError(`--plot: cannot write ${path} (${dirname(path)} does not exist or is not writable); choose a writable path`);
  }
}

function parseDeadtimes(text: string): number[] {
  const out: number[] = [];
  for (const raw of text.split(',')) {
    const t = raw.trim();
    const n = Number(t);
    if (t === '' || !Number.isFinite(n) || n < 0.5 || n > 600) throw new UsageError(`--deadtimes: '${t}' is not a deadtime in seconds between 0.5 and 600; give a list such as 4,3,2`);
    out.push(n);
  }
  return out;
}

function parseBackends(values: Values): LabBackends {
  if (values['db-shape'] !== undefined && values.db === undefined) throw new UsageError('--db-shape needs --db');
  const shape = values['db-shape'] ?? 'newton';
  if (!isShape(shape)) throw new UsageError(`--db-shape must be ${SHAPES.join(' or ')}, got '${shape}'`);
  const backends: LabBackends = { ...NO_BACKENDS };
  if (values.db !== undefined) {
    try {
      backends.db = { url: parseDatabaseUrl(values.db), shape };
    } catch (err) {
      throw new UsageError(`--db: ${(err as Error).message}`);
    }
  }
  if (values.amqp !== undefined) {
    try {
      const rabbit = parseTransportUrl(values.amqp);
      if (rabbit.useSsl) throw new Error('TLS (amqps) is not supported by the lab relay');
      backends.amqp = { rabbit: { ...rabbit, hosts: rabbit.hosts.slice(0, 1) }, redacted: redactTransportUrl(values.amqp) };
    } catch (err) {
      throw new UsageError(`--amqp: ${(err as Error).message}`);
    }
  }
  return backends;
}

/** Fails fast (before any namespace exists) when the broker does not answer. */
async function checkBroker(b: LabBackends): Promise<void> {
  try {
    const c = await amqp.connect(amqpUrls(b.amqp!.rabbit)[0]!, { timeout: 5000 });
    await c.close();
  } catch (err) {
    throw new UsageError(`--amqp: ${b.amqp!.redacted}: ${(err as Error).message}`, EXIT.failure);
  }
}

/** `--db`: create, migrate and fill the lab database once; every mode uses the same rows. */
async function prepareDatabase(opts: LabOptions): Promise<void> {
  const db = opts.backends.db!;
  const started = performance.now();
  try {
    const s = await writeLabDatabase(db.url, db.shape, makeLayout(opts.floatingIps, opts.networks, opts.ipv6));
    const rows = Object.entries(s.rows)
      .map(([t, n]) => `${n} ${t}`)
      .join(', ');
    progress(
      `database ${db.url.redacted}: ${s.shape}-shaped${s.applied.length > 0 ? ` (migrated: ${s.applied.join(', ')})` : ''}; ${s.replaced ? 'replaced the previous lab rows with ' : ''}${rows} ` +
        `in ${Math.round(performance.now() - started)} ms; rows that must not become targets: ${s.distractors.join(', ')}`,
    );
  } catch (err) {
    if (err instanceof LabDatabaseError || err instanceof MigrationError) throw new UsageError(`--db: ${err.message}`, EXIT.failure);
    throw new UsageError(`--db: ${db.url.redacted}: ${describeDbError(err)}`, EXIT.failure);
  }
}

/** The shared parser already speaks `nova-garp lab: <what>; <what to do>` (src/cli/args.ts). */
function parseLabArgs(argv: string[], options: Parameters<typeof parseCommandArgs>[2]): { values: Values; help: boolean } {
  return parseCommandArgs<Values>('lab', argv, options);
}

export const labCommand: Command = {
  summary: 'failover lab: reproduce the nova-network failover in network namespaces and measure it',
  async run(argv) {
    const { values, help } = parseLabArgs(joinNegativeValues(argv), {
      modes: { type: 'string' },
      'floating-ips': { type: 'string' },
      networks: { type: 'string' },
      ipv6: { type: 'boolean' },
      'router-drops-garp': { type: 'boolean' },
      'split-brain': { type: 'boolean' },
      deadtime: { type: 'string' },
      'max-wait': { type: 'string' },
      'probe-interval-ms': { type: 'string' },
      plot: { type: 'string' },
      json: { type: 'boolean' },
      db: { type: 'string' },
      'db-shape': { type: 'string' },
      amqp: { type: 'string' },
      ha: { type: 'string' },
      fault: { type: 'string' },
      deadtimes: { type: 'string' },
      samples: { type: 'string' },
    });
    if (help) {
      process.stdout.write(HELP + '\n');
      return EXIT.ok;
    }
    const ha = (values.ha ?? 'simulated') as HaName;
    if (!(HA_NAMES as readonly string[]).includes(ha)) throw new UsageError(`--ha: unknown manager '${values.ha}'; use one of ${HA_NAMES.join(', ')}`);
    const fault = (values.fault ?? (ha === 'simulated' ? 'power-off' : 'stop')) as FaultName;
    if (!(FAULTS as readonly string[]).includes(fault)) throw new UsageError(`--fault: unknown fault '${values.fault}'; use one of ${FAULTS.join(', ')}`);
    if (ha === 'simulated' && fault !== 'power-off') throw new UsageError(`--fault ${fault} needs a real manager; add --ha heartbeat, pacemaker or keepalived`);
    if (values.deadtimes !== undefined && values.deadtime !== undefined) throw new UsageError('--deadtime and --deadtimes exclude each other; give one of them');
    if (values.samples !== undefined && values.deadtimes === undefined) throw new UsageError('--samples needs --deadtimes; add --deadtimes 4,3,2 for the original table');
    const deadtimes = values.deadtimes === undefined ? null : parseDeadtimes(values.deadtimes);
    const samples = checked(() => intOption('samples', values.samples, 1, 20)) ?? 1;
    let modes;
    try {
      modes = parseModes(values.modes ?? (deadtimes === null ? MODES.join(',') : 'none,seed-arping,nova-garp'));
    } catch (err) {
      throw new UsageError(`--modes: ${(err as Error).message}; ${SEE_HELP}`);
    }
    const opts: LabOptions = {
      floatingIps: checked(() => intOption('floating-ips', values['floating-ips'], 0, MAX_FLOATING_IPS)) ?? 50,
      networks: checked(() => intOption('networks', values.networks, 0, MAX_NETWORKS)) ?? 2,
      ipv6: values.ipv6 === true,
      deadtimeMs: (checked(() => numberOption('deadtime', values.deadtime, 0, 600)) ?? deadtimes?.[0] ?? 2) * 1000,
      maxWaitMs: (checked(() => numberOption('max-wait', values['max-wait'], 1, 3600)) ?? 75) * 1000,
      probeIntervalMs: checked(() => intOption('probe-interval-ms', values['probe-interval-ms'], 1, 10_000)) ?? null,
      settleMs: 1000,
      backends: parseBackends(values),
      ha,
      fault,
      routerDropsGarp: values['router-drops-garp'] === true,
      splitBrain: values['split-brain'] === true,
    };
    if (opts.splitBrain === true && ha !== 'simulated') throw new UsageError('--split-brain works with the simulated HA only (drop --ha)');
    if (opts.splitBrain === true && opts.floatingIps === 0) throw new UsageError('--split-brain needs floating IPs (the old primary keeps a share of them)');
    if (values.plot !== undefined) checkPlotPath(values.plot);
    if (ha !== 'simulated' && opts.deadtimeMs < 500) throw new UsageError(`--deadtime must be at least 0.5 s with --ha ${ha}; raise it`);
    if ((opts.backends.db !== null || opts.backends.amqp !== null) && !modes.includes('nova-garp')) {
      throw new UsageError('--db and --amqp are for the nova-garp mode: add it to --modes');
    }
    const longest = Math.max(opts.deadtimeMs, ...(deadtimes ?? []).map((d) => d * 1000));
    if (opts.maxWaitMs <= longest) throw new UsageError('--max-wait must be longer than --deadtime; raise --max-wait');
    if (opts.ipv6 && opts.networks === 0) throw new UsageError('--ipv6 needs at least one network (the IPv6 address is a gateway)');
    const missing = missingCapabilitiesOfThisProcess();
    if (missing.length > 0) {
      throw new UsageError(`the lab needs root: it creates network namespaces, veth pairs and raw sockets (missing ${missing.join(', ')}; try sudo nova-garp lab)`);
    }
    requireTool('ip', 'the lab topology (package iproute2)');
    if (modes.some((m) => m.endsWith('arping'))) requireTool('arping', 'the arping modes (package iputils-arping)');
    if (modes.includes('nova-garp')) requireTool('python3', 'running the nova-network hook in the nova-garp mode');
    const missingHa = missingHaTools(ha);
    if (missingHa !== null) throw new UsageError(`--ha ${ha} needs ${missingHa}, which is not installed; run scripts/bootstrap (or apt-get install ${missingHa})`);

    if (opts.backends.amqp !== null) await checkBroker(opts.backends);
    if (opts.backends.db !== null) await prepareDatabase(opts);

    const prefix = `nglab-${uniqueTag()}-`;
    progress(`namespace prefix ${prefix}; modes ${modes.join(', ')}; ${opts.floatingIps} floating IPs, ${opts.networks} networks`);
    if (opts.floatingIps + 8 > LINUX_DEFAULT_GC_THRESH3) {
      progress(`note: a Linux router with default settings holds at most ${LINUX_DEFAULT_GC_THRESH3} neighbours; this run lets it hold more`);
    }
    // While a topology exists its NamespaceGroup handles Ctrl-C (removes it, then exits); between
    // topologies this one makes the signal exit through the 'exit' handlers too (gc_thresh3 restore).
    const onSignal = (signal: NodeJS.Signals): void => {
      if (process.listenerCount(signal) === 1) process.exit(130);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const limit = NeighbourLimit.raise(opts.floatingIps, opts.networks);
    const raised = limit.describe();
    if (raised !== null) progress(raised);
    const runs: ModeRun[] = [];
    // One failover per mode; with --deadtimes, per deadtime, mode and sample (the original's order).
    const steps: Array<{ mode: (typeof modes)[number]; deadtimeMs: number; sample: number }> = [];
    for (const d of deadtimes ?? [opts.deadtimeMs / 1000]) {
      for (const mode of modes) for (let k = 1; k <= (deadtimes === null ? 1 : samples); k++) steps.push({ mode, deadtimeMs: d * 1000, sample: k });
    }
    if (ha !== 'simulated') progress(`HA manager ${ha} (${haTimers(ha, opts.deadtimeMs).text}); fault ${fault}`);
    try {
      for (const [i, step] of steps.entries()) {
        const label = deadtimes === null ? step.mode : `${step.mode} (deadtime ${step.deadtimeMs / 1000} s, sample ${step.sample}/${samples})`;
        runs.push(await runMode(step.mode, { ...opts, deadtimeMs: step.deadtimeMs }, `${prefix}${i}-`, (m) => progress(m.replace(step.mode, label))));
        const s = summarize(runs[runs.length - 1]!);
        progress(
          `${label}: disconnection median ${s.disconnectionS.median} s, max ${s.disconnectionS.max} s${s.takeoverS === null ? '' : `, takeover ${s.takeoverS.max} s`}${s.capped ? ' (capped)' : ''}`,
        );
      }
    } finally {
      limit.restore();
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
    }

    if (values.plot !== undefined) {
      const title = `nova-network failover: ${opts.floatingIps} floating IPs, ${opts.networks} networks, deadtime ${opts.deadtimeMs / 1000} s`;
      try {
        await writeFile(values.plot, renderPlot(runs, title));
      } catch (err) {
        throw new UsageError(`--plot: cannot write ${values.plot} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); the results follow on stdout`, EXIT.failure);
      } finally {
        if (values.json === true) printJson(labJson(runs.map(summarize)));
        else process.stdout.write(renderReport(runs, { floatingIps: opts.floatingIps, networks: opts.networks, ipv6: opts.ipv6, maxWaitMs: opts.maxWaitMs }));
      }
      progress(`plot written to ${values.plot}`);
      if (deadtimes !== null && values.json !== true) process.stdout.write('\n' + renderSeedTable(runs));
      return EXIT.ok;
    }
    if (values.json === true) printJson(labJson(runs.map(summarize)));
    else process.stdout.write(renderReport(runs, { floatingIps: opts.floatingIps, networks: opts.networks, ipv6: opts.ipv6, maxWaitMs: opts.maxWaitMs }));
    if (deadtimes !== null && values.json !== true) process.stdout.write('\n' + renderSeedTable(runs));
    return EXIT.ok;
  },
};
