/**
 * The verdict of `nova-garp status`, from the sidecar's `GET /v1/status` body: pure, so the rules
 * are unit-tested without a sidecar. Every field is read tolerantly: a field a sidecar does not
 * report (an older or newer one) is "nothing to say", never a crash; absent `conflicts` = none.
 *
 * Exit codes, chosen so that Nagios (0 OK, 1 WARNING, 2 CRITICAL) and shell `if` read them as is:
 *   0 healthy   the sidecar answers and nothing below is wrong
 *   1 degraded  it answers, but: the database read failed, RabbitMQ is enabled and not connected,
 *               there is no inventory, the inventory is a snapshot older than the limit, or the
 *               sidecar reports address conflicts; or it answers 503 (shedding load)
 *   2 down      no sidecar: no socket, nothing listening, no answer in time, or a broken answer
 * Degraded still announces (from the snapshot, without the broker's associations): a monitor that
 * restarts services should restart only on 2.
 */

export type Health = 'healthy' | 'degraded' | 'down';

export const HEALTH_EXIT: Record<Health, 0 | 1 | 2> = { healthy: 0, degraded: 1, down: 2 };

export interface HealthLimits {
  /** An inventory read from the snapshot older than this (seconds) is degraded. */
  maxSnapshotAgeS: number;
}

export const DEFAULT_MAX_SNAPSHOT_AGE_S = 3600;

export interface Conflict {
  address: string;
  interface: string | null;
  mac: string | null;
  firstSeen: string | null;
  lastSeen: string | null;
  count: number | null;
}

/** What a person or a check line needs, already extracted from the body. */
export interface StatusFacts {
  host: string | null;
  inventory: { reported: boolean; source: string | null; why: string | null; readAt: string | null; ageS: number | null; targets: number; bound: number; skipped: number };
  database: { configured: boolean; url: string | null; ok: boolean | null; detail: string | null; at: string | null };
  rabbitmq: { enabled: boolean | null; up: boolean | null; detail: string | null; queue: string | null };
  conflicts: Conflict[];
  activeSchedules: number | null;
  /**
   * The last verification through the upstream router (issue 13), null when none was reported.
   * Informational: a router may refuse echo by policy, so unverified addresses do not degrade.
   */
  verification: { trigger: string | null; verified: number; escalated: number; unverified: number; unverifiedAddresses: Array<{ address: string; reason: string | null }>; msUntilAllVerified: number | null } | null;
  lastBurst: { trigger: string | null; at: string | null; announced: number | null; frames: number | null; triggerToLastFrameMs: number | null; errors: string[] } | null;
}

export interface HealthVerdict {
  health: Health;
  exitCode: 0 | 1 | 2;
  /** Why it is not healthy; empty when healthy. */
  problems: string[];
  facts: StatusFacts | null;
}

type Obj = Record<string, unknown>;

function obj(v: unknown): Obj | null {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : null;
}
function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}
function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}
function bool(v: unknown): boolean | null {
  return typeof v === 'boolean' ? v : null;
}
function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

/** Reads the facts out of a status body; null when it is not a JSON object at all. */
export function statusFacts(body: unknown, now: Date): StatusFacts | null {
  const b = obj(body);
  if (b === null) return null;
  const inv = obj(b.inventory) ?? {};
  const targets = arr(inv.targets);
  const readAt = str(inv.readAt);
  const readMs = readAt === null ? NaN : Date.parse(readAt);
  const db = obj(b.database) ?? {};
  const mq = obj(b.rabbitmq) ?? {};
  const bursts = arr(b.lastBursts);
  const last = obj(bursts[bursts.length - 1]);
  return {
    host: str(b.host),
    inventory: {
      reported: obj(b.inventory) !== null,
      source: str(inv.source),
      why: str(inv.why),
      readAt,
      ageS: Number.isNaN(readMs) ? null : Math.max(0, Math.round((now.getTime() - readMs) / 1000)),
      targets: targets.length,
      bound: targets.filter((t) => obj(t)?.bound === true).length,
      skipped: arr(inv.skipped).length,
    },
    database: { configured: str(db.url) !== null, url: str(db.url), ok: bool(db.ok), detail: str(db.detail), at: str(db.at) },
    rabbitmq: { enabled: bool(mq.enabled), up: bool(mq.up), detail: str(mq.detail), queue: str(mq.queue) },
    conflicts: arr(b.conflicts).flatMap((c) => {
      const o = obj(c);
      const address = str(o?.address);
      if (o === null || address === null) return [];
      return [{ address, interface: str(o.interface), mac: str(o.mac), firstSeen: str(o.firstSeen), lastSeen: str(o.lastSeen), count: num(o.count) }];
    }),
    activeSchedules: num(b.activeSchedules),
    verification: verificationFacts(obj(b.verification)),
    lastBurst:
      last === null
        ? null
        : {
            trigger: str(last.trigger),
            at: str(last.at),
            announced: num(last.announced),
            frames: num(last.frames),
            triggerToLastFrameMs: num(last.triggerToLastFrameMs),
            errors: arr(last.errors).filter((e): e is string => typeof e === 'string'),
          },
  };
}

/** The verdict for a sidecar that answered `GET /v1/status` with 200 and this body. */
export function judgeStatus(body: unknown, now: Date, limits: HealthLimits): HealthVerdict {
  const facts = statusFacts(body, now);
  if (facts === null) return { health: 'down', exitCode: 2, problems: ['the sidecar answered, but its status is not a JSON object'], facts: null };
  const problems: string[] = [];
  const { inventory: inv, database: db, rabbitmq: mq } = facts;
  if (db.ok === false) problems.push(`database down: ${db.detail ?? 'no detail'}`);
  if (mq.enabled === true && mq.up === false) problems.push(`RabbitMQ not connected: ${mq.detail ?? 'no detail'}`);
  if (!inv.reported) {
    // A sidecar that does not report its inventory: nothing to judge.
  } else if (inv.source === null) {
    problems.push(`no inventory: ${inv.why ?? 'the sidecar has no targets from the database, a snapshot or a file'}`);
  } else if (inv.source === 'snapshot') {
    if (inv.ageS === null) problems.push('inventory from a snapshot of unknown age');
    else if (inv.ageS > limits.maxSnapshotAgeS) problems.push(`inventory from a snapshot ${formatAge(inv.ageS)} old (limit ${formatAge(limits.maxSnapshotAgeS)})`);
  }
  if (facts.conflicts.length > 0) {
    const shown = facts.conflicts.slice(0, 3).map((c) => `${c.address}${c.interface === null ? '' : ` on ${c.interface}`}${c.mac === null ? '' : ` also claimed by ${c.mac}`}`);
    const more = facts.conflicts.length > 3 ? ` and ${facts.conflicts.length - 3} more` : '';
    problems.push(`address conflict${facts.conflicts.length > 1 ? 's' : ''}: ${shown.join(', ')}${more}`);
  }
  const health: Health = problems.length > 0 ? 'degraded' : 'healthy';
  return { health, exitCode: HEALTH_EXIT[health], problems, facts };
}

/**
 * The verdict for any HTTP answer to `GET /v1/status`: 200 is judged by its body; 503 is a sidecar
 * that is alive but shedding load (too many open connections) and still serves the hook, so
 * degraded; anything else (404 from something that is not a sidecar, 500) is down.
 */
export function verdictForAnswer(httpStatus: number, body: unknown, now: Date, limits: HealthLimits, socket: string): HealthVerdict {
  if (httpStatus === 200) return judgeStatus(body, now, limits);
  const error = typeof body === 'object' && body !== null && typeof (body as { error?: unknown }).error === 'string' ? `: ${(body as { error: string }).error}` : '';
  if (httpStatus === 503) return { health: 'degraded', exitCode: 1, problems: [`the sidecar on ${socket} is overloaded (503)${error}`], facts: null };
  return downVerdict(`the sidecar on ${socket} answered ${httpStatus}${error}`);
}

/** The verdict when no status could be had at all. */
export function downVerdict(why: string): HealthVerdict {
  return { health: 'down', exitCode: 2, problems: [why], facts: null };
}

export function formatAge(s: number): string {
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172_800) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86_400).toFixed(1)} d`;
}

/**
 * The first line of the text report, in the Nagios plugin form `SERVICE STATE: text | perfdata`,
 * so that the same command is a Nagios/Icinga check as is.
 */
export function summaryLine(v: HealthVerdict): string {
  const state = v.health === 'healthy' ? 'OK' : v.health === 'degraded' ? 'DEGRADED' : 'DOWN';
  const f = v.facts;
  if (f === null) return `NOVA-GARP ${state}: ${v.problems.join('; ')}`;
  const what =
    v.problems.length > 0
      ? v.problems.join('; ')
      : `host ${f.host ?? '?'}, ${f.inventory.targets} target(s), ${f.inventory.bound} bound, inventory from ${f.inventory.source ?? 'nowhere'}`;
  const perf = [`targets=${f.inventory.targets}`, `bound=${f.inventory.bound}`, `conflicts=${f.conflicts.length}`];
  if (f.inventory.ageS !== null) perf.push(`inventory_age=${f.inventory.ageS}s`);
  return `NOVA-GARP ${state}: ${what} | ${perf.join(' ')}`;
}

function verificationFacts(v: Obj | null): StatusFacts['verification'] {
  if (v === null) return null;
  return {
    trigger: str(v.trigger),
    verified: num(v.verified) ?? 0,
    escalated: num(v.escalated) ?? 0,
    unverified: num(v.unverified) ?? 0,
    unverifiedAddresses: arr(v.unverifiedAddresses).flatMap((u) => {
      const o = obj(u);
      const address = str(o?.address);
      return o === null || address === null ? [] : [{ address, reason: str(o.reason) }];
    }),
    msUntilAllVerified: num(v.msUntilAllVerified),
  };
}

/** The text report for people: the summary line, then one line per part. */
export function renderStatus(v: HealthVerdict, socket: string): string {
  const out = [summaryLine(v)];
  const f = v.facts;
  if (f === null) {
    out.push(`socket:     ${socket}`);
    return out.join('\n') + '\n';
  }
  const inv = f.inventory;
  out.push(`host:       ${f.host ?? '?'} (socket ${socket})`);
  out.push(
    `inventory:  ${inv.source ?? 'none'}${inv.readAt === null ? '' : `, read ${inv.readAt}${inv.ageS === null ? '' : ` (${formatAge(inv.ageS)} ago)`}`}; ` +
      `${inv.targets} target(s), ${inv.bound} bound here now, ${inv.skipped} row(s) skipped`,
  );
  if (inv.why !== null) out.push(`            ${inv.why}`);
  const db = f.database;
  out.push(`database:   ${!db.configured ? 'not configured' : db.ok === true ? 'up' : db.ok === false ? 'DOWN' : 'not read yet'}${db.url === null ? '' : ` ${db.url}`}${db.detail === null || !db.configured ? '' : ` — ${db.detail}`}${db.at === null ? '' : ` (${db.at})`}`);
  const mq = f.rabbitmq;
  const mqState = mq.enabled === false ? (mq.detail ?? 'disabled') : mq.up === true ? 'connected' : mq.up === false ? 'NOT CONNECTED' : 'unknown';
  out.push(`rabbitmq:   ${mqState}${mq.detail === null || mq.enabled === false ? '' : ` — ${mq.detail}`}${mq.queue === null ? '' : ` (queue ${mq.queue})`}`);
  if (f.conflicts.length === 0) out.push('conflicts:  none');
  else {
    out.push(`conflicts:  ${f.conflicts.length}`);
    for (const c of f.conflicts) {
      out.push(`  ${c.address}${c.interface === null ? '' : ` on ${c.interface}`}: ${c.mac ?? 'unknown MAC'}, seen ${c.count ?? '?'} time(s), ${c.firstSeen ?? '?'} .. ${c.lastSeen ?? '?'}`);
    }
  }
  const b = f.lastBurst;
  if (b === null) out.push('last burst: none yet');
  else {
    const ms = b.triggerToLastFrameMs === null ? '' : `, round 1 done in ${b.triggerToLastFrameMs.toFixed(1)} ms`;
    out.push(`last burst: ${b.trigger ?? '?'} at ${b.at ?? '?'}: ${b.announced ?? '?'} announced, ${b.frames ?? '?'} frames${ms}${b.errors.length > 0 ? `; errors: ${b.errors.join('; ')}` : ''}`);
  }
  const ver = f.verification;
  if (ver !== null) {
    const all = ver.msUntilAllVerified === null ? '' : `, all within ${ver.msUntilAllVerified} ms of the trigger`;
    out.push(`verified:   ${ver.trigger ?? '?'}: ${ver.verified} through the router, ${ver.escalated} escalated, ${ver.unverified} UNVERIFIED${all}`);
    for (const u of ver.unverifiedAddresses.slice(0, 10)) out.push(`  ${u.address}: ${u.reason ?? '?'}`);
  }
  if (f.activeSchedules !== null) out.push(`schedules:  ${f.activeSchedules} running`);
  return out.join('\n') + '\n';
}
