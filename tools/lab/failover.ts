import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp from 'amqplib';
import { amqpUrls } from '../../src/amqp/broker-url.js';
import { publishOnce } from '../../src/amqp/nova-bus.js';
import { PreparedBatch, runAction, type ActionResult } from './actions.js';
import { bindFloating, instanceRole, makeLayout, NOVA_HOST, layoutInventory, layoutTargets, probeGroups, PUBLIC_IF, type AddressLayout } from './addressing.js';
import { labExchange, ManagementLink, relayedDatabaseUrl, type LabBackends, type SidecarConfOptions } from './backends.js';
import { compareTargets } from './inventory-check.js';
import { spareFloatingIp } from './lab-database.js';
import type { ModeName } from './modes.js';
import { gapThresholdMs, outageOf } from './outage.js';
import { monotonicMs, Prober, probeIntervalMs } from './prober.js';
import type { ProberConfig } from './prober-process.js';
import type { ModeRun } from './report.js';
import { HookProcess, LabSidecar } from './sidecar.js';
import { FAULT_TEXT, HaCluster, haTimers, type FaultName, type HaName } from './ha.js';
import { buildTopology, killPrimary, linkMac, nsPath, splitBrainShare, splitPrimary, standbyBatch, type Topology } from './topology.js';
import { convergenceOf, RouterWatch, type WatchConfig, type WatchedAddress } from './router-watch.js';

/** One failover per mode, on a fresh topology, from warm-up to the last address coming back. */

export interface LabOptions {
  floatingIps: number;
  networks: number;
  ipv6: boolean;
  deadtimeMs: number;
  maxWaitMs: number;
  /** null: 20 ms, longer when the destinations need more than the prober's rate budget. */
  probeIntervalMs: number | null;
  /**
   * Steady probing between the router's first resolution of every address and t0. Short, so the
   * router's entries are fresh (REACHABLE, as right after a resolution) when the primary dies.
   */
  settleMs: number;
  /** `--db`/`--amqp`: where the nova-garp mode's sidecar reads its inventory and messages. */
  backends: LabBackends;
  /** Who decides that the standby starts nova-network: the lab after the deadtime, or a real manager. */
  ha: HaName;
  /** How the primary fails (`simulated`: always power-off). */
  fault: FaultName;
  /** The router ignores gratuitous ARP (net.ipv4.conf.*.drop_gratuitous_arp=1). */
  routerDropsGarp?: boolean;
  /** The old primary stays up holding a share of the floating IPs (simulated HA only). */
  splitBrain?: boolean;
}

export type Progress = (msg: string) => void;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms)));

function proberConfig(topo: Topology, layout: AddressLayout, intervalMs: number): ProberConfig {
  const groups: ProberConfig['groups'] = [];
  for (const g of probeGroups(layout)) {
    for (const family of [4, 6] as const) {
      const addresses = g.addresses.filter((a) => (family === 6) === a.includes(':'));
      if (addresses.length > 0) groups.push({ netnsPath: nsPath(topo.ns[g.role]!), from: g.role, family, addresses });
    }
  }
  return { intervalMs, gapThresholdMs: gapThresholdMs(intervalMs), groups };
}

/**
 * What the router watcher follows: the router's neighbour table (routing source IP, floating IPs),
 * each instance's (its gateway: the router never sees it) and the standby's addresses; with the
 * standby MAC each address must end up at. Reads the MACs from the standby.
 */
async function watchTargets(topo: Topology, layout: AddressLayout): Promise<{ config: WatchConfig; watched: WatchedAddress[] }> {
  const standby = topo.ns.standby!;
  const pubMac = await linkMac(standby, PUBLIC_IF);
  const watched: WatchedAddress[] = [layout.routingSource, ...layout.floating].map((address) => ({ address, peer: 'router', standbyMac: pubMac }));
  const sockets: WatchConfig['sockets'] = [
    { netnsPath: nsPath(topo.ns.router!), role: 'router', kind: 'neigh' },
    { netnsPath: nsPath(standby), role: 'standby', kind: 'addr' },
  ];
  for (const n of layout.networks) {
    const role = instanceRole(n.index);
    const mac = await linkMac(standby, n.bridge);
    for (const address of n.gatewayV6 === null ? [n.gateway] : [n.gateway, n.gatewayV6]) watched.push({ address, peer: role, standbyMac: mac });
    sockets.push({ netnsPath: nsPath(topo.ns[role]!), role, kind: 'neigh' });
  }
  return { config: { sockets }, watched };
}

interface Schedstat {
  runMs: number;
  waitMs: number;
}

/** A thread's CPU time and run-queue wait so far (/proc/PID/schedstat, ns), or null. */
function schedstat(pid: number | undefined): Schedstat | null {
  if (pid === undefined) return null;
  try {
    const [run, wait] = readFileSync(`/proc/${pid}/schedstat`, 'utf8').trim().split(/\s+/).map(Number);
    return run === undefined || wait === undefined ? null : { runMs: run / 1e6, waitMs: wait / 1e6 };
  } catch {
    return null;
  }
}

/** Processes that must not outlive the lab, even when it is killed (signals, process.exit). */
const live = new Set<{ kill(): void }>();
let exitHookInstalled = false;
function track<T extends { kill(): void }>(p: T): T {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const l of live) l.kill();
    });
  }
  live.add(p);
  return p;
}

export async function runMode(mode: ModeName, opts: LabOptions, prefix: string, progress: Progress): Promise<ModeRun> {
  const layout = makeLayout(opts.floatingIps, opts.networks, opts.ipv6);
  const total = probeGroups(layout).reduce((n, g) => n + g.addresses.length, 0);
  const intervalMs = opts.probeIntervalMs ?? probeIntervalMs(total);
  const buildStart = monotonicMs();
  const real = opts.ha !== 'simulated';
  const topo = await buildTopology(prefix, layout, { bindPrimary: !real, routerDropsGarp: opts.routerDropsGarp === true });
  progress(`${mode}: topology ${prefix}* up (${Object.keys(topo.ns).length} namespaces) in ${((monotonicMs() - buildStart) / 1000).toFixed(1)} s`);
  let dir: string | null = null;
  let sidecar: LabSidecar | null = null;
  let hook: HookProcess | null = null;
  let prober: Prober | null = null;
  let watch: RouterWatch | null = null;
  let mgmt: ManagementLink | null = null;
  let cluster: HaCluster | null = null;
  let haDir: string | null = null;
  const backendNotes: string[] = [];
  const b = opts.backends;
  try {
    if (mode === 'nova-garp') {
      dir = await mkdtemp(join(tmpdir(), 'nova-garp-lab-'));
      const conf: SidecarConfOptions = { databaseUrl: null, rabbit: null };
      if (b.db !== null || b.amqp !== null) {
        mgmt = await ManagementLink.create(prefix, topo.ns.standby!);
        if (b.db !== null) {
          const u = b.db.url;
          conf.databaseUrl = relayedDatabaseUrl(u, await mgmt.relay(u.socketPath !== undefined ? { path: u.socketPath } : { host: u.host, port: u.port }));
        }
        if (b.amqp !== null) {
          const r = b.amqp.rabbit;
          const via = await mgmt.relay(r.hosts[0]!);
          conf.rabbit = { host: via.host, port: via.port, userid: r.userid, password: r.password, virtualHost: r.virtualHost, controlExchange: labExchange(prefix) };
          // nova-network declares its topic exchange; the sidecar only ever checks that it exists.
          await declareNovaExchange(b, labExchange(prefix));
        }
        progress(`${mode}: management link ${mgmt.rootIf} (${mgmt.rootIp}) into the standby, relaying to${b.db === null ? '' : ` the database ${b.db.url.redacted}`}${b.amqp === null ? '' : `${b.db === null ? '' : ' and'} RabbitMQ ${b.amqp.redacted}`}`);
      }
      // With --db the sidecar gets no snapshot: its inventory can only come from the database.
      sidecar = await LabSidecar.start(topo.ns.standby!, dir, { snapshot: b.db === null ? layoutInventory(layout, new Date()) : null, conf });
      track({ kill: () => sidecar!.serve.child.kill('SIGKILL') });
      for (const line of await checkBackends(sidecar, layout, b)) {
        backendNotes.push(line);
        progress(`${mode}: ${line}`);
      }
      if (!real) {
        hook = await HookProcess.start(topo.ns.standby!, sidecar.socketPath);
        track({ kill: () => void hook!.stop() });
      }
      progress(`${mode}: nova-garp serve ready in the standby${real ? '' : ', hook process waiting'}`);
    }
    if (real) {
      haDir = await mkdtemp(join(tmpdir(), 'nova-garp-lab-ha-'));
      progress(`${mode}: ${opts.ha} instances' files in ${haDir}`);
      cluster = await HaCluster.start(opts.ha as Exclude<HaName, 'simulated'>, topo, mode, haDir, opts.deadtimeMs, sidecar?.socketPath ?? null, (m) => progress(`${mode}: ${m}`));
    }

    const wp = await watchTargets(topo, layout);
    watch = track(await RouterWatch.start(wp.config));
    prober = track(await Prober.start(proberConfig(topo, layout, intervalMs)));
    const p = prober;
    // The router resolves every address now, for the first time: its entries start REACHABLE.
    if (!(await p.until((s) => s.up === s.total, 15_000))) {
      throw new Error(`only ${p.latest?.up ?? 0} of ${total} addresses answered before the failover; the topology is broken`);
    }
    p.command('steady');
    progress(`${mode}: probing ${total} addresses every ${intervalMs} ms (${Math.round((total * 1000) / intervalMs)}/s); all answer`);
    await sleep(opts.settleMs);

    p.command('freeze');
    // The watcher keeps events from now on (a moment before t0; the analysis cuts at t0).
    watch.command(`since ${monotonicMs()}`);
    let t0: number;
    let t0Wall = Date.now();
    if (cluster === null) {
      if (opts.splitBrain === true) await splitPrimary(topo, splitBrainShare(layout));
      else await killPrimary(topo);
      t0 = monotonicMs();
      t0Wall = Date.now();
    } else {
      t0 = await cluster.fault(opts.fault);
    }
    p.command(`t0 ${t0}`);
    if (cluster !== null) {
      // After a graceful stop the primary keeps answering until it lets go: an address is back
      // only when it answers after the standby's manager started nova-network.
      p.command('back-after 1e15');
      void cluster.waitStandby('start', opts.maxWaitMs, t0).then((e) => {
        if (e !== null && prober === p) p.command(`back-after ${e.at}`);
      });
    }
    const timers = haTimers(opts.ha, opts.deadtimeMs);
    progress(
      cluster === null
        ? `${mode}: t0: primary down; deadtime ${opts.deadtimeMs / 1000} s`
        : `${mode}: t0: ${FAULT_TEXT[opts.fault]}; ${opts.ha} detection ${timers.detectionMs / 1000} s (${timers.text})`,
    );

    // The standby's bind, ready before the deadtime (the modes that bind with one ip -batch).
    const bind = cluster === null && mode !== 'nova-arping' ? track(PreparedBatch.start(topo.ns.standby!)) : null;
    const abort = new AbortController();
    const capTimer = setTimeout(() => abort.abort(), Math.max(0, t0 + opts.maxWaitMs - monotonicMs()));
    const action: ActionResult = { boundAt: null, announcedAt: null, notes: [] };
    let cutShort = false;
    let actionError: Error | null = null;
    let takeoverAt: number | null = null;
    let sidecarSched: Schedstat | null = null;
    let proberSched: Schedstat | null = null;
    const c = cluster;
    const actionDone = (
      c !== null
        ? Promise.resolve() // the manager's processes do the work; the FIFO says when
        : sleep(t0 + opts.deadtimeMs - monotonicMs()).then(() => {
            takeoverAt = monotonicMs();
            sidecarSched = schedstat(sidecar?.serve.child.pid);
            proberSched = schedstat(p.pid);
            return runAction(mode, { topo, signal: abort.signal, hook, bind }, action);
          })
    )
      .then(() => {
        const at = action.announcedAt ?? action.boundAt;
        if (at !== null) progress(`${mode}: standby done at t0+${((at - t0) / 1000).toFixed(3)} s`);
      })
      .catch((err: Error) => {
        if (err.name === 'AbortError') cutShort = true;
        else actionError = err;
      });

    let lastReport = 0;
    const allBack = await p.until(
      (s) => s.back === s.total,
      t0 + opts.maxWaitMs - monotonicMs(),
      (s) => {
        if (s.t - lastReport >= 5000) {
          lastReport = s.t;
          progress(`${mode}: t0+${((s.t - t0) / 1000).toFixed(0)} s: ${s.back}/${s.total} addresses answer again`);
        }
      },
    );
    // Every address answers (or the cap is reached): what the loop would still do changes nothing.
    if (c !== null) {
      // The stand-in reports its end a moment after its addresses answer (hook call, echo).
      if (c.standbyEvent('done', t0) === null && (mode === 'none' || mode === 'nova-garp')) await c.waitStandby('done', 3000, t0);
      takeoverAt = c.takeover(t0)?.at ?? null;
      action.boundAt = c.standbyEvent('bound', t0)?.at ?? null;
      action.announcedAt = c.standbyEvent('done', t0)?.at ?? null;
      if (takeoverAt !== null && action.announcedAt === null) cutShort = true;
      if (takeoverAt === null) action.notes.push(`${opts.ha} never started nova-network on the standby`);
      else action.notes.push(`${opts.ha} started nova-network on the standby at t0+${((takeoverAt - t0) / 1000).toFixed(3)} s (${FAULT_TEXT[opts.fault]}; ${timers.text})`);
      const stopped = c.primaryEvent('stopped', t0);
      if (stopped !== null) action.notes.push(`the primary's nova-network stop (addresses released) ended at t0+${((stopped.at - t0) / 1000).toFixed(3)} s`);
    }
    // Who had the CPUs between the deadtime and the last address answering (/proc/PID/schedstat).
    const cpu = (who: string, before: Schedstat | null, after: Schedstat | null): string | null =>
      before === null || after === null ? null : `${who} ${(after.runMs - before.runMs).toFixed(1)} ms on a CPU, ${(after.waitMs - before.waitMs).toFixed(1)} ms runnable but waiting for one`;
    const cpuNotes = [
      cpu('sidecar main thread', sidecarSched as Schedstat | null, schedstat(sidecar?.serve.child.pid)),
      cpu('prober', proberSched as Schedstat | null, schedstat(p.pid)),
    ].filter((x): x is string => x !== null);
    if (cpuNotes.length > 0) action.notes.push(`from the deadtime to the last address answering: ${cpuNotes.join('; ')}`);
    abort.abort();
    await actionDone;
    if (bind !== null) {
      bind.kill(); // unused when the run ended before the deadtime
      live.delete(bind);
    }
    clearTimeout(capTimer);
    if (actionError !== null) throw actionError;
    const result = await p.stop();
    prober = null;
    live.delete(p);
    const w = watch;
    // A failed watcher costs the router figures (null, and a note), not the run's probe figures.
    const watched = await w.stop().catch((err: Error) => {
      action.notes.push(`router watcher failed, no router figures: ${err.message}`);
      return null;
    });
    w.kill();
    watch = null;
    live.delete(w);
    const convergence = watched === null ? undefined : convergenceOf(watched.events, wp.watched, t0);
    if (!w.realtime) action.notes.push('router watcher: no real-time priority (sched_setscheduler refused): its timestamps may be late on a busy machine');
    if (watched !== null && (watched.overflows > 0 || watched.malformed > 0)) {
      action.notes.push(`router watcher: ${watched.overflows} netlink overflow(s), ${watched.malformed} malformed message(s): updates may be missing`);
    }
    const outages = result.records.map((r) => outageOf(r, t0, result.stoppedAt, gapThresholdMs(intervalMs)));
    const back = outages.filter((o) => !o.capped).length;
    progress(`${mode}: ${back}/${total} back${allBack ? '' : ` (stopped at --max-wait ${opts.maxWaitMs / 1000} s)`}${cutShort ? `; ${mode} loop stopped before its end` : ''}`);

    if (sidecar !== null && b.amqp !== null && allBack) {
      const line = await amqpAssociate(sidecar, topo, b, prefix);
      backendNotes.push(line);
      progress(`${mode}: ${line}`);
    }
    action.notes.push(...backendNotes);
    if (sidecar !== null) {
      // The sidecar's later rounds (+1.1 s, +3 s) are part of its account; its first is what counts.
      await sidecar.waitBursts(1, 4000);
      for (const b of sidecar.bursts) action.notes.push(`sidecar burst: ${burstText(b)}`);
      for (const e of sidecar.errors) action.notes.push(`sidecar error: ${e}`);
      if (opts.splitBrain === true) action.notes.push(...(await splitBrainNotes(sidecar, splitBrainShare(layout), t0Wall)));
    }
    // Diagnostics: every watched event and the per-address result, times relative to t0 (ms).
    const trace = process.env.NOVA_GARP_LAB_TRACE;
    if (trace !== undefined && trace !== '') {
      const rel = (x: number | null): number | null => (x === null ? null : Math.round((x - t0) * 1000) / 1000);
      await writeFile(
        `${trace}.${mode}.json`,
        JSON.stringify({
          mode,
          t0,
          deadtimeMs: opts.deadtimeMs,
          takeoverMs: takeoverAt === null ? null : takeoverAt - t0,
          boundAtMs: rel(action.boundAt),
          convergence: (convergence ?? []).map((c) => ({ ...c, boundAt: rel(c.boundAt), convergedAt: rel(c.convergedAt) })),
          bursts: sidecar?.bursts ?? [],
          events: (watched?.events ?? []).map((e) => ({ ...e, t: rel(e.t) })),
        }) + '\n',
      );
    }
    const steadySent = Math.max(1, result.steadySent);
    return {
      mode,
      ha: opts.ha,
      fault: cluster === null ? 'power-off' : opts.fault,
      detectionMs: timers.detectionMs,
      takeoverMs: takeoverAt === null ? null : takeoverAt - t0,
      deadtimeMs: opts.deadtimeMs,
      probeIntervalMs: intervalMs,
      maxWaitMs: opts.maxWaitMs,
      t0,
      outages,
      convergence,
      boundAtMs: action.boundAt === null ? null : action.boundAt - t0,
      announcedAtMs: action.announcedAt === null ? null : action.announcedAt - t0,
      cutShort,
      prober: {
        maxLateMs: result.maxLateMs,
        preLossPct: (100 * Math.max(0, result.steadySent - result.steadyReceived)) / steadySent,
        rate: (total * 1000) / intervalMs,
      },
      notes: action.notes,
    };
  } finally {
    prober?.kill();
    watch?.kill();
    await hook?.stop().catch(() => undefined);
    await sidecar?.stop().catch(() => undefined);
    await cluster?.stop();
    await mgmt?.close();
    if (sidecar !== null && b.amqp !== null) await deleteExchange(b, labExchange(prefix));
    await topo.group.cleanup();
    if (dir !== null) await rm(dir, { recursive: true, force: true });
    if (haDir !== null) await rm(haDir, { recursive: true, force: true });
  }
}

/**
 * With --db: the sidecar read its inventory from the database (not a snapshot) and it is exactly
 * the layout's targets, so the distractor rows were left out. With --amqp: it consumes from the
 * broker. Throws when either does not hold; returns lines for the notes.
 */
/** When the sidecar reported each address the old primary kept (it probes after the hook). */
async function splitBrainNotes(sidecar: LabSidecar, kept: readonly string[], t0Wall: number): Promise<string[]> {
  const s = await sidecar.waitStatus((x) => kept.every((a) => x.conflicts?.some((c) => c.address === a) === true), 3000);
  const conflicts = s.conflicts ?? [];
  const notes = kept.map((a) => {
    const c = conflicts.find((x) => x.address === a);
    return c === undefined ? `split brain: ${a} held by the old primary, no conflict reported` : `split brain: conflict for ${a} (old primary ${c.mac}) detected at t0+${((Date.parse(c.firstSeen) - t0Wall) / 1000).toFixed(3)} s`;
  });
  const extra = conflicts.filter((c) => !kept.includes(c.address));
  if (extra.length > 0) notes.push(`split brain: ${extra.length} conflict(s) for addresses the old primary did not keep: ${extra.map((c) => c.address).join(', ')}`);
  return notes;
}

async function checkBackends(sidecar: LabSidecar, layout: AddressLayout, b: LabBackends): Promise<string[]> {
  const lines: string[] = [];
  if (b.db !== null) {
    const s = await sidecar.waitStatus((x) => x.database.ok !== null, 15_000);
    if (s.database.ok !== true) throw new Error(`the sidecar did not read the lab database: ${s.database.detail}`);
    if (!s.inventory.why.startsWith('database ')) throw new Error(`the sidecar's inventory did not come from the database: ${s.inventory.why}`);
    const diff = compareTargets(layoutTargets(layout), s.inventory.targets);
    if (diff.missing.length > 0 || diff.extra.length > 0) {
      throw new Error(`the sidecar's inventory from the database differs from the lab's: missing ${diff.missing.join(', ') || 'none'}; extra ${diff.extra.join(', ') || 'none'}`);
    }
    lines.push(`sidecar inventory from the ${s.inventory.why}: ${s.inventory.targets.length} targets, exactly the lab's (distractor rows left out; ${s.database.detail})`);
  }
  if (b.amqp !== null) {
    const s = await sidecar.waitStatus((x) => x.rabbitmq.up, 15_000);
    if (!s.rabbitmq.up) throw new Error(`the sidecar did not connect to RabbitMQ: ${s.rabbitmq.detail}`);
    lines.push(`sidecar RabbitMQ: ${s.rabbitmq.detail}`);
  }
  return lines;
}

/**
 * After the failover: a Cactus-format `associate_floating_ip` cast to network.<host> for a
 * floating IP that was unassociated, then nova-network's bind of it on the standby; the sidecar
 * must announce it from that message (burst trigger amqp-associate).
 */
async function amqpAssociate(sidecar: LabSidecar, topo: Topology, b: LabBackends, prefix: string): Promise<string> {
  const spare = spareFloatingIp(topo.layout);
  const cast = {
    method: 'associate_floating_ip',
    args: { floating_address: spare, fixed_address: '100.64.255.1' },
    _context_user: 'lab-admin',
    _context_project: 'lab-project',
    _context_is_admin: true,
    _context_read_deleted: false,
    _context_request_id: `lab-${prefix}`,
    _context_remote_address: '127.0.0.1',
    _context_timestamp: new Date().toISOString().slice(0, 19),
  };
  const sent = monotonicMs();
  await publishOnce(amqpUrls(b.amqp!.rabbit)[0]!, labExchange(prefix), 'topic', `network.${NOVA_HOST}`, cast);
  await standbyBatch(topo, [bindFloating(spare)]);
  const until = Date.now() + 5000;
  const hit = (): Record<string, unknown> | undefined => sidecar.bursts.find((x) => x.trigger === 'amqp-associate' && typeof x.announced === 'number' && x.announced > 0);
  while (hit() === undefined && Date.now() < until) await sleep(20);
  const burst = hit();
  if (burst === undefined) return `AMQP associate_floating_ip (Cactus cast) for ${spare}: NOT announced by the sidecar within 5 s`;
  return `AMQP associate_floating_ip (Cactus cast) for ${spare}, then bound: announced by the sidecar within ${Math.round(monotonicMs() - sent)} ms of the cast (${burstText(burst)})`;
}

/** What nova-network's RPC layer declares at start (topic, non-durable by default). */
async function declareNovaExchange(b: LabBackends, exchange: string): Promise<void> {
  const c = await amqp.connect(amqpUrls(b.amqp!.rabbit)[0]!, { timeout: 3000 });
  try {
    const ch = await c.createChannel();
    await ch.assertExchange(exchange, 'topic', { durable: false, autoDelete: false });
    await ch.close();
  } finally {
    await c.close().catch(() => undefined);
  }
}

async function deleteExchange(b: LabBackends, exchange: string): Promise<void> {
  try {
    const c = await amqp.connect(amqpUrls(b.amqp!.rabbit)[0]!, { timeout: 3000 });
    try {
      const ch = await c.createChannel();
      await ch.deleteExchange(exchange);
      await ch.close();
    } finally {
      await c.close().catch(() => undefined);
    }
  } catch {
    // Best effort: a non-durable exchange of a finished run harms nothing.
  }
}

/** The sidecar's burst line in a few words (the fields it logs, when they are there). */
export function burstText(b: Record<string, unknown>): string {
  const n = (k: string): string => (typeof b[k] === 'number' ? String(Math.round((b[k] as number) * 10) / 10) : '-');
  if ('trigger' in b && 'frames' in b) {
    return `${String(b.trigger)}: ${n('announced')}/${n('targets')} announced (${n('coalesced')} coalesced, ${n('notBound')} not bound), ${n('frames')} frames, last frame ${n('triggerToLastFrameMs')} ms after the trigger`;
  }
  const skip = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'name']);
  return Object.entries(b)
    .filter(([k]) => !skip.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(' ');
}
