import type { Outage } from './outage.js';
import { MODE_INFO, type ModeName } from './modes.js';
import { FAULT_TEXT, type FaultName, type HaName } from './ha.js';
import { figures, mapFigures, round3, type Figures } from './statistics.js';
import { summarizeConvergence, type AddressConvergence, type ConvergenceSummary, type TailFigures } from './router-watch.js';

/** A mode's measured result, its summary, the `--json` document and the text table. Pure. */

export interface ProberHealth {
  /** Worst delay of a probe behind its schedule (ms): the prober kept up if this stays small. */
  maxLateMs: number;
  /** Replies missing during the steady state before t0 (percent of probes sent then). */
  preLossPct: number;
  /** Echo requests per second the prober put on the wire. */
  rate: number;
}

export interface ModeRun {
  mode: ModeName;
  /** Who started nova-network on the standby. */
  ha: HaName;
  fault: FaultName;
  /** The manager's configured failure detection (deadtime, master down interval, token + consensus). */
  detectionMs: number;
  /** t0 → the manager (or the simulation) started nova-network on the standby; null: it never did. */
  takeoverMs: number | null;
  deadtimeMs: number;
  probeIntervalMs: number;
  maxWaitMs: number;
  /** Monotonic ms at which the primary's links were down. */
  t0: number;
  outages: Outage[];
  /**
   * Per watched address, from the router watcher: when the standby bound it and when its peer's
   * neighbour entry (the router's; an instance's for a gateway) first pointed at the standby.
   * Absent when the run had no watcher.
   */
  convergence?: AddressConvergence[];
  /** t0 → all addresses bound on the standby (the end of the `ip -batch` or of the serial loop). */
  boundAtMs: number | null;
  /** t0 → the mode's announcing step finished (hook answered, last arping exited). */
  announcedAtMs: number | null;
  /** The mode's serial loop was stopped before it finished (every address answered, or --max-wait). */
  cutShort: boolean;
  prober: ProberHealth;
  /** Free-form facts worth printing under the table (e.g. the sidecar's burst figures). */
  notes: string[];
}

export interface ModeSummary {
  mode: ModeName;
  ha: HaName;
  fault: FaultName;
  detectionS: number;
  deadtimeS: number;
  addresses: number;
  probeIntervalMs: number;
  capped: boolean;
  /** t0 → the standby's nova-network start (one failover: the three figures are equal). */
  takeoverS: Figures | null;
  disconnectionS: Figures;
  overheadS: Figures;
  /** At the router (routing source IP, floating IPs); null without a watcher. */
  router: ConvergenceSummary | null;
  /** At the instances (each VLAN's gateway); null without a watcher or without networks. */
  gateways: ConvergenceSummary | null;
}

/** The watcher's figures split by peer: the router's addresses, and the gateways seen by the instances. */
export function convergenceSummaries(run: ModeRun): { router: ConvergenceSummary | null; gateways: ConvergenceSummary | null } {
  if (run.convergence === undefined) return { router: null, gateways: null };
  const atRouter = run.convergence.filter((c) => c.peer === 'router');
  const atInstances = run.convergence.filter((c) => c.peer !== 'router');
  return { router: summarizeConvergence(atRouter, run.t0), gateways: atInstances.length === 0 ? null : summarizeConvergence(atInstances, run.t0) };
}

export function summarize(run: ModeRun): ModeSummary {
  const disconnection = figures(run.outages.map((o) => o.disconnectionMs / 1000));
  const deadtimeS = run.deadtimeMs / 1000;
  // Overhead: what the network adds after nova-network started on the standby. Without a
  // measured start (the manager never took over) the deadtime stands in.
  const takeoverS = run.takeoverMs === null ? deadtimeS : run.takeoverMs / 1000;
  return {
    mode: run.mode,
    ha: run.ha,
    fault: run.fault,
    detectionS: round3(run.detectionMs / 1000),
    deadtimeS: round3(deadtimeS),
    addresses: run.outages.length,
    probeIntervalMs: run.probeIntervalMs,
    // Capped = some figure is a lower bound. A serial loop stopped after every address answered
    // (the caches had expired meanwhile) leaves exact figures.
    capped: run.outages.some((o) => o.capped),
    takeoverS: run.takeoverMs === null ? null : mapFigures(figures([run.takeoverMs / 1000]), round3),
    disconnectionS: mapFigures(disconnection, round3),
    overheadS: mapFigures(figures(run.outages.map((o) => o.disconnectionMs / 1000 - takeoverS)), round3),
    ...convergenceSummaries(run),
  };
}

/** One mode of `nova-garp lab --json`: the summary's figures, the watcher's flattened for the router. */
export type LabModeJson = Omit<ModeSummary, 'router' | 'gateways'> & {
  convergenceS: Figures | null;
  boundToRouterMs: TailFigures | null;
  unconverged: number | null;
  unconvergedAddresses: string[];
  gateways: { convergenceS: Figures | null; boundToInstanceMs: TailFigures | null; unconverged: number; unconvergedAddresses: string[] } | null;
};

/** What `nova-garp lab --json` prints: exactly as documented (no extra keys: scripts compare it). */
export interface LabJson {
  modes: LabModeJson[];
}

export function labJson(summaries: ModeSummary[]): LabJson {
  return {
    modes: summaries.map((s) => ({
      mode: s.mode,
      ha: s.ha,
      fault: s.fault,
      deadtimeS: s.deadtimeS,
      detectionS: s.detectionS,
      addresses: s.addresses,
      probeIntervalMs: s.probeIntervalMs,
      capped: s.capped,
      takeoverS: s.takeoverS === null ? null : { median: s.takeoverS.median, p95: s.takeoverS.p95, max: s.takeoverS.max },
      disconnectionS: { median: s.disconnectionS.median, p95: s.disconnectionS.p95, max: s.disconnectionS.max },
      overheadS: { median: s.overheadS.median, p95: s.overheadS.p95, max: s.overheadS.max },
      convergenceS: s.router?.convergenceS ?? null,
      boundToRouterMs: s.router?.boundToPeerMs ?? null,
      unconverged: s.router?.unconverged ?? null,
      unconvergedAddresses: s.router?.unconvergedAddresses ?? [],
      gateways:
        s.gateways === null
          ? null
          : { convergenceS: s.gateways.convergenceS, boundToInstanceMs: s.gateways.boundToPeerMs, unconverged: s.gateways.unconverged, unconvergedAddresses: s.gateways.unconvergedAddresses },
    })),
  };
}

/**
 * Where a mode's overhead sits, in ms: before t0 (last reply to the links going down: the probe
 * phase, up to one interval) and after the deadtime (bind, announce, wait for the next probe).
 */
export function overheadSplit(run: ModeRun): { beforeT0: Figures; afterDeadtime: Figures } | null {
  const ok = run.outages.filter((o) => !o.capped && o.lastBefore !== null && o.firstAfter !== null);
  if (ok.length === 0) return null;
  return {
    beforeT0: figures(ok.map((o) => run.t0 - o.lastBefore!)),
    // After the takeover (with --ha simulated: the deadtime).
    afterDeadtime: figures(ok.map((o) => o.firstAfter! - (run.t0 + (run.takeoverMs ?? run.deadtimeMs)))),
  };
}

export function fmtSeconds(x: number): string {
  if (!Number.isFinite(x)) return '-';
  return Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(3);
}

function fmtMs(x: number): string {
  return Number.isFinite(x) ? (Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(1)) : '-';
}

function tailTriple(f: TailFigures, lowerBound: boolean): string {
  return `${fmtMs(f.median)} / ${fmtMs(f.p99)} / ${lowerBound ? '>=' : ''}${fmtMs(f.max)}`;
}

/** At most `n` addresses, then how many more. */
function someOf(list: readonly string[], n = 10): string {
  return list.length <= n ? list.join(', ') : `${list.slice(0, n).join(', ')} and ${list.length - n} more`;
}

/** The watcher's facts for the notes: who was never updated, and the gateways as the instances saw them. */
export function convergenceNotes(r: ModeRun): string[] {
  const { router, gateways } = convergenceSummaries(r);
  const out: string[] = [];
  if (router !== null) {
    out.push(
      router.unconverged === 0
        ? `router updated for all ${router.addresses} of its addresses`
        : `router NOT updated for ${router.unconverged} of ${router.addresses} addresses within the run (${router.neverBound} never bound): ${someOf(router.unconvergedAddresses)}`,
    );
  }
  if (gateways !== null) {
    const c = gateways.convergenceS;
    const b = gateways.boundToPeerMs;
    out.push(
      `gateways at their instances: updated ${c === null ? '-' : `t0+${fmtSeconds(c.median)} / ${fmtSeconds(c.p95)} / ${fmtSeconds(c.max)} s (median / p95 / max)`}, ` +
        `bound->instance ${b === null ? '-' : `${tailTriple(b, false)} ms (median / p99 / max)`}` +
        (gateways.unconverged === 0 ? '' : `; NOT updated: ${gateways.unconverged} (${someOf(gateways.unconvergedAddresses)})`),
    );
  }
  return out;
}

function triple(f: Figures, capped: boolean): string {
  // A capped mode's figures are lower bounds: some addresses were still dark when the run stopped.
  const mark = capped ? '>=' : '';
  return `${fmtSeconds(f.median)} / ${fmtSeconds(f.p95)} / ${mark}${fmtSeconds(f.max)}`;
}

export function textTable(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string =>
    r
      .map((c, i) => (i === 0 || i === r.length - 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

export interface TableContext {
  floatingIps: number;
  networks: number;
  ipv6: boolean;
  maxWaitMs: number;
}

/**
 * Laid out like the original experiment's table (deadtime, then the disconnection time seen by
 * ping), with the overhead over the deadtime next to it and the original figure alongside.
 */
export function renderReport(runs: ModeRun[], ctx: TableContext): string {
  const summaries = runs.map(summarize);
  const header = [
    'mode',
    'deadtime s',
    'addresses',
    'probe ms',
    'disconnection s (median / p95 / max)',
    'overhead s (median / p95 / max)',
    'router updated s (median / p95 / max)',
    'bound->router ms (median / p99 / max)',
    'original (deadtime 2-4 s)',
  ];
  // With a real manager the takeover is measured: it gets a column, after the deadtime.
  const real = summaries.some((s) => s.ha !== 'simulated');
  if (real) header.splice(2, 0, 'takeover s');
  const rows = summaries.map((s) => [
    s.capped ? `${s.mode} (capped)` : s.mode,
    fmtSeconds(s.deadtimeS),
    ...(real ? [s.takeoverS === null ? '-' : fmtSeconds(s.takeoverS.max)] : []),
    String(s.addresses),
    String(s.probeIntervalMs),
    triple(s.disconnectionS, s.capped),
    triple(s.overheadS, s.capped),
    s.router?.convergenceS == null ? '-' : triple(s.router.convergenceS, s.router.unconverged > 0),
    s.router?.boundToPeerMs == null ? '-' : tailTriple(s.router.boundToPeerMs, s.router.unconverged > 0),
    MODE_INFO[s.mode].original,
  ]);
  const v6 = ctx.ipv6 ? ' + IPv6 gateways' : '';
  const first = runs[0];
  const lines = [
    ...(real && first !== undefined ? [`HA manager ${first.ha}, fault ${first.fault}: ${FAULT_TEXT[first.fault]}`] : []),
    `nova-network failover lab: routing source IP + ${ctx.floatingIps} floating IPs (laptop -> router -> floating IP), ` +
      `${ctx.networks} VLAN gateway(s)${v6} (instance -> gateway)`,
    '',
    textTable([header, ...rows]),
    '',
    'disconnection: last echo reply before the primary died (t0) to the first reply after, per address;',
    'overhead: disconnection minus the takeover (t0 to nova-network starting on the standby; with --ha simulated, the deadtime).',
    'Resolution: +- one probe interval at each end.',
    "router updated: t0 to the router's neighbour entry for the address pointing at the standby's MAC (rtnetlink, the router's namespace);",
    'bound->router: the standby bound the address (its RTM_NEWADDR) to that update: the announcer\'s own latency, no probe in it.',
    "'>=': some addresses were never updated within the run (listed below); the figures cover the updated ones.",
  ];
  if (summaries.some((s) => s.capped)) {
    lines.push(`(capped): the run stopped at --max-wait ${fmtSeconds(ctx.maxWaitMs / 1000)} s with addresses still dark; '>=' marks lower bounds.`);
  }
  lines.push('');
  for (const r of runs) {
    const dark = r.outages.filter((o) => o.capped).length;
    const split = overheadSplit(r);
    const facts = [
      `${MODE_INFO[r.mode].announces}`,
      r.boundAtMs === null ? 'not all bound' : `all bound at t0+${fmtSeconds(r.boundAtMs / 1000)} s`,
      r.announcedAtMs === null ? null : `announcing done at t0+${fmtSeconds(r.announcedAtMs / 1000)} s`,
      r.cutShort ? 'its serial loop was stopped before the end' : null,
      dark > 0 ? `${dark} address(es) still dark at the cap` : null,
      split === null
        ? null
        : `last reply ${split.beforeT0.median >= 0 ? `${split.beforeT0.median.toFixed(0)} ms before` : `${(-split.beforeT0.median).toFixed(0)} ms after`} t0 (median), ` +
          `first reply t0+${r.ha === 'simulated' ? 'deadtime' : 'takeover'}+${split.afterDeadtime.median.toFixed(0)} ms (median) / +${split.afterDeadtime.max.toFixed(0)} ms (max)`,
      ...convergenceNotes(r),
      `prober ${Math.round(r.prober.rate)} probes/s, worst lateness ${r.prober.maxLateMs.toFixed(1)} ms, loss before t0 ${r.prober.preLossPct.toFixed(2)} %`,
      ...r.notes,
    ].filter((x): x is string => x !== null);
    lines.push(`${r.mode}: ${facts.join('; ')}`);
  }
  return lines.join('\n') + '\n';
}

/** The original experiment's figures per mode, for the seed-form table. */
const SEED_ORIGINAL: Record<ModeName, string> = {
  none: '24–47 s',
  'seed-arping': '4–5 s',
  'nova-arping': '-',
  'nova-garp': '-',
};

/**
 * The original experiment's table, in its form: per deadtime and sample, when the laptop's ping
 * of its floating IP stopped getting replies, when replies came back, and the difference, with
 * the original's figure alongside. Times are seconds from t0 (the failure). Pure.
 */
export function renderSeedTable(runs: ModeRun[]): string {
  const header = ['deadtime s', 'mode', 'sample', 'ping reply stop s', 'ping reply response s', 'difference s', 'takeover s', 'original difference'];
  const rows: string[][] = [];
  const samples = new Map<string, number>();
  for (const r of runs) {
    const key = `${r.deadtimeMs}/${r.mode}`;
    const k = (samples.get(key) ?? 0) + 1;
    samples.set(key, k);
    // The laptop's floating IP: the first floating IP, else the routing source IP.
    const fromLaptop = r.outages.filter((o) => o.from === 'laptop');
    const o = fromLaptop[1] ?? fromLaptop[0];
    if (o === undefined) continue;
    const stop = o.lastBefore === null ? '-' : fmtSeconds((o.lastBefore - r.t0) / 1000);
    const back = o.firstAfter === null ? (o.capped ? `>${fmtSeconds(r.maxWaitMs / 1000)}` : '-') : fmtSeconds((o.firstAfter - r.t0) / 1000);
    rows.push([
      fmtSeconds(r.deadtimeMs / 1000),
      r.mode,
      String(k),
      stop,
      back,
      `${o.capped ? '>=' : ''}${fmtSeconds(o.disconnectionMs / 1000)}`,
      r.takeoverMs === null ? '-' : fmtSeconds(r.takeoverMs / 1000),
      SEED_ORIGINAL[r.mode],
    ]);
  }
  const first = runs[0];
  const address = first?.outages.filter((o) => o.from === 'laptop')[1]?.address ?? first?.outages[0]?.address ?? '-';
  return [
    `The original experiment's table: laptop -> ${address} (a floating IP), ${first?.ha ?? '-'} failover, fault ${first?.fault ?? '-'}`,
    '',
    textTable([header, ...rows]),
    '',
    'ping reply stop / response: last echo reply before the outage and first after it, in seconds from t0 (the failure;',
    'after a graceful stop the replies stop only when the primary lets go of its addresses);',
    'difference: the outage; takeover: t0 to the manager starting nova-network on the standby.',
    'original difference: the original experiment (heartbeat, deadtime 2-4 s; arping by hand for seed-arping).',
    '',
  ].join('\n');
}
