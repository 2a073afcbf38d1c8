import { describe, expect, it } from 'vitest';
import { downVerdict, judgeStatus, renderStatus, summaryLine, verdictForAnswer } from '../../src/cli/health.js';

const NOW = new Date('2026-12-02T08:00:00.000Z');
const LIMITS = { maxSnapshotAgeS: 3600 };

/** A /v1/status body as today's sidecar writes it (fields of src/sidecar/sidecar.ts status()). */
function body(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    host: 'nethost1',
    inventory: {
      why: 'database mysql://nova:***@db/nova (newton schema) at 2026-12-02T07:59:00.000Z',
      source: 'db',
      readAt: '2026-12-02T07:59:00.000Z',
      targets: [
        { kind: 'routing_source', address: '192.0.2.1', interface: 'eth0', bound: true },
        { kind: 'floating', address: '192.0.2.10', interface: 'eth0', bound: false },
      ],
      skipped: [],
    },
    database: { url: 'mysql://nova:***@db/nova', ok: true, detail: '2 targets in 12 ms', at: '2026-12-02T07:59:00.000Z' },
    rabbitmq: { enabled: true, up: true, detail: 'consuming', queue: 'amq.gen-1' },
    activeSchedules: 0,
    memory: { rss: 1 },
    rejected: { amqp: 0, control: 0 },
    lastBursts: [{ trigger: 'hook', at: '2026-12-02T07:59:01.000Z', announced: 1, frames: 2, triggerToLastFrameMs: 1.5, errors: [] }],
    ...over,
  };
}

describe('judgeStatus: the degraded rules', () => {
  it('healthy: database read, broker connected, no conflicts; a standby with nothing bound is healthy too', () => {
    const v = judgeStatus(body(), NOW, LIMITS);
    expect(v).toMatchObject({ health: 'healthy', exitCode: 0, problems: [] });
    expect(v.facts?.inventory).toMatchObject({ targets: 2, bound: 1, source: 'db', ageS: 60 });
  });

  it('degraded when the database read failed, naming why', () => {
    const v = judgeStatus(body({ database: { url: 'mysql://x', ok: false, detail: 'connect ECONNREFUSED', at: null } }), NOW, LIMITS);
    expect(v).toMatchObject({ health: 'degraded', exitCode: 1 });
    expect(v.problems).toEqual(['database down: connect ECONNREFUSED']);
  });

  it('a database not read yet, or not configured, is not a problem', () => {
    expect(judgeStatus(body({ database: { url: 'mysql://x', ok: null, detail: 'not read yet', at: null } }), NOW, LIMITS).health).toBe('healthy');
    expect(judgeStatus(body({ database: { url: null, ok: null, detail: 'not read yet', at: null } }), NOW, LIMITS).health).toBe('healthy');
  });

  it('degraded when RabbitMQ is enabled and not connected; disabled is fine', () => {
    const down = judgeStatus(body({ rabbitmq: { enabled: true, up: false, detail: 'connect ECONNREFUSED 10.0.0.1:5672', queue: null } }), NOW, LIMITS);
    expect(down.exitCode).toBe(1);
    expect(down.problems).toEqual(['RabbitMQ not connected: connect ECONNREFUSED 10.0.0.1:5672']);
    expect(judgeStatus(body({ rabbitmq: { enabled: false, up: false, detail: 'disabled (--no-amqp)', queue: null } }), NOW, LIMITS).exitCode).toBe(0);
  });

  it('degraded on a snapshot older than the limit, not on a fresh one, and the limit is a parameter', () => {
    const snap = (readAt: string): Record<string, unknown> => body({ inventory: { ...(body().inventory as object), source: 'snapshot', readAt } });
    expect(judgeStatus(snap('2026-12-02T07:30:00.000Z'), NOW, LIMITS).exitCode).toBe(0);
    const old = judgeStatus(snap('2026-12-02T05:00:00.000Z'), NOW, LIMITS);
    expect(old.exitCode).toBe(1);
    expect(old.problems).toEqual(['inventory from a snapshot 3.0 h old (limit 60 min)']);
    expect(judgeStatus(snap('2026-12-02T05:00:00.000Z'), NOW, { maxSnapshotAgeS: 4 * 3600 }).exitCode).toBe(0);
    expect(judgeStatus(snap('not a date'), NOW, LIMITS).problems).toEqual(['inventory from a snapshot of unknown age']);
  });

  it('an old database read is not "old": only snapshots age', () => {
    const v = judgeStatus(body({ inventory: { ...(body().inventory as object), readAt: '2026-11-01T00:00:00.000Z' } }), NOW, LIMITS);
    expect(v.exitCode).toBe(0);
  });

  it('degraded with no inventory at all', () => {
    const v = judgeStatus(body({ inventory: { why: 'no snapshot at /var/lib/nova-garp/inventory.json', source: null, readAt: null, targets: [], skipped: [] } }), NOW, LIMITS);
    expect(v.exitCode).toBe(1);
    expect(v.problems).toEqual(['no inventory: no snapshot at /var/lib/nova-garp/inventory.json']);
  });

  it('conflicts: absent or empty = none; listed = degraded, named', () => {
    expect(judgeStatus(body(), NOW, LIMITS).facts?.conflicts).toEqual([]);
    expect(judgeStatus(body({ conflicts: [] }), NOW, LIMITS).exitCode).toBe(0);
    const c = { address: '192.0.2.10', interface: 'eth0', mac: '02:00:00:00:0e:ad', firstSeen: '2026-12-02T07:58:00.000Z', lastSeen: '2026-12-02T07:59:30.000Z', count: 4 };
    const v = judgeStatus(body({ conflicts: [c] }), NOW, LIMITS);
    expect(v.exitCode).toBe(1);
    expect(v.problems).toEqual(['address conflict: 192.0.2.10 on eth0 also claimed by 02:00:00:00:0e:ad']);
    const many = judgeStatus(body({ conflicts: [1, 2, 3, 4, 5].map((i) => ({ ...c, address: `192.0.2.${i}` })) }), NOW, LIMITS);
    expect(many.problems[0]).toMatch(/^address conflicts: 192\.0\.2\.1 .*, 192\.0\.2\.3 .* and 2 more$/);
  });

  it('every problem at once is still one verdict, exit 1', () => {
    const v = judgeStatus(
      body({
        database: { url: 'mysql://x', ok: false, detail: 'timeout', at: null },
        rabbitmq: { enabled: true, up: false, detail: 'connecting', queue: null },
        inventory: { why: 'snapshot', source: 'snapshot', readAt: '2026-11-30T08:00:00.000Z', targets: [], skipped: [] },
        conflicts: [{ address: '192.0.2.10' }],
      }),
      NOW,
      LIMITS,
    );
    expect(v.exitCode).toBe(1);
    expect(v.problems).toHaveLength(4);
  });

  it('tolerates missing and odd fields (an older or newer sidecar) without throwing', () => {
    expect(judgeStatus({}, NOW, LIMITS)).toMatchObject({ health: 'healthy', exitCode: 0 });
    expect(judgeStatus({ host: 3, inventory: 'x', database: [], rabbitmq: null, conflicts: 'no', lastBursts: {} }, NOW, LIMITS).exitCode).toBe(0);
    expect(judgeStatus({ conflicts: [null, 7, { mac: 'x' }] }, NOW, LIMITS).exitCode).toBe(0);
  });

  it('a body that is not a JSON object is "down"', () => {
    for (const b of [null, 'text', 42, []]) expect(judgeStatus(b, NOW, LIMITS)).toMatchObject({ health: 'down', exitCode: 2 });
  });
});

describe('verdictForAnswer: the HTTP answer first', () => {
  const S = '/run/nova-garp/control.sock';
  it('200 is judged by its body', () => {
    expect(verdictForAnswer(200, body(), NOW, LIMITS, S)).toMatchObject({ health: 'healthy', exitCode: 0 });
  });
  it('503 (shedding load, the hook still served) is degraded', () => {
    expect(verdictForAnswer(503, { error: 'over 64 open connections; retry later' }, NOW, LIMITS, S)).toEqual({
      health: 'degraded',
      exitCode: 1,
      problems: [`the sidecar on ${S} is overloaded (503): over 64 open connections; retry later`],
      facts: null,
    });
  });
  it('anything else is down', () => {
    expect(verdictForAnswer(404, { error: 'no route /v1/status' }, NOW, LIMITS, S)).toMatchObject({ health: 'down', exitCode: 2, problems: [`the sidecar on ${S} answered 404: no route /v1/status`] });
    expect(verdictForAnswer(500, 'oops', NOW, LIMITS, S)).toMatchObject({ health: 'down', exitCode: 2, problems: [`the sidecar on ${S} answered 500`] });
  });
});

describe('the report', () => {
  it('first line is a Nagios plugin line with perfdata', () => {
    expect(summaryLine(judgeStatus(body(), NOW, LIMITS))).toBe(
      'NOVA-GARP OK: host nethost1, 2 target(s), 1 bound, inventory from db | targets=2 bound=1 conflicts=0 inventory_age=60s',
    );
    expect(summaryLine(judgeStatus(body({ database: { url: 'x', ok: false, detail: 'timeout', at: null } }), NOW, LIMITS))).toMatch(/^NOVA-GARP DEGRADED: database down: timeout \| /);
    expect(summaryLine(downVerdict('no sidecar socket at /run/nova-garp/control.sock'))).toBe('NOVA-GARP DOWN: no sidecar socket at /run/nova-garp/control.sock');
  });

  it('text for people names each part', () => {
    const text = renderStatus(judgeStatus(body(), NOW, LIMITS), '/run/nova-garp/control.sock');
    expect(text).toMatch(/^host: +nethost1 \(socket \/run\/nova-garp\/control\.sock\)$/m);
    expect(text).toMatch(/^database: +up mysql:\/\/nova:\*\*\*@db\/nova/m);
    expect(text).toMatch(/^rabbitmq: +connected — consuming \(queue amq\.gen-1\)$/m);
    expect(text).toMatch(/^conflicts: +none$/m);
    expect(text).toMatch(/^last burst: hook at .*: 1 announced, 2 frames, round 1 done in 1\.5 ms$/m);
  });

  it('shows the last verification through the router, without degrading for it', () => {
    const v = { trigger: 'hook', verified: 1, escalated: 1, unverified: 1, unverifiedAddresses: [{ address: '203.0.113.9', interface: 'eth0', reason: 'no echo reply through the router' }], msUntilAllVerified: null };
    const verdict = judgeStatus(body({ verification: v }), NOW, LIMITS);
    expect(verdict.health).toBe('healthy');
    const text = renderStatus(verdict, '/run/nova-garp/control.sock');
    expect(text).toMatch(/^verified: +hook: 1 through the router, 1 escalated, 1 UNVERIFIED$/m);
    expect(text).toMatch(/^ {2}203\.0\.113\.9: no echo reply through the router$/m);
    expect(renderStatus(judgeStatus(body(), NOW, LIMITS), '/x')).not.toMatch(/^verified:/m);
  });
});
