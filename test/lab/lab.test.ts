import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { missingRoot, requirement } from '../helpers/requirements.js';
import { runCli } from '../helpers/cli.js';
import { createTestDatabase, missingMysql, stopTestServer } from '../helpers/mysql.js';
import { broker, missingBroker, stopTestBroker } from '../helpers/rabbitmq.js';
import { listNamespaces } from '../../tools/netns/namespaces.js';
import type { LabJson, LabModeJson as ModeJson } from '../../tools/lab/report.js';

const enabled = requirement('failover lab', missingRoot());
const withBackends = enabled && requirement('failover lab with --db and --amqp', (await missingMysql()) ?? (await missingBroker()));
afterAll(async () => Promise.all([stopTestServer(), stopTestBroker()]));

describe.runIf(enabled)('nova-garp lab', () => {
  it(
    'reproduces the stale-cache outage without announcements and removes it with the hook and the sidecar',
    async () => {
      // none lasts the router's reachable time (15–45 s, random per run) + 5 s delay + 3 s of probes.
      const r = await runCli(null, ['lab', '--modes', 'none,nova-garp', '--floating-ips', '5', '--json'], { timeoutMs: 170_000 });
      const prefix = /namespace prefix (nglab-[0-9a-f]+-)/.exec(r.stderr)?.[1];
      expect(prefix, r.stderr).toBeDefined();
      expect(listNamespaces(prefix!)).toEqual([]);
      expect(r.code, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout) as LabJson;
      expect(out.modes.map((m) => m.mode)).toEqual(['none', 'nova-garp']);
      const [none, garp] = out.modes as [ModeJson, ModeJson];
      for (const m of out.modes) {
        // routing source + 5 floating IPs + 2 gateways
        expect(m).toMatchObject({ deadtimeS: 2, addresses: 8, probeIntervalMs: 20, capped: false });
      }
      expect(none.disconnectionS.median, r.stderr).toBeGreaterThan(10);
      expect(garp.overheadS.max, r.stderr).toBeLessThan(1);
      expect(garp.disconnectionS.median).toBeGreaterThanOrEqual(2);
    },
    180_000,
  );

  it.runIf(withBackends)(
    'with --db and --amqp the sidecar reads the lab database through the relay and consumes from RabbitMQ',
    async () => {
      const db = await createTestDatabase('lab');
      const b = await broker();
      try {
        const r = await runCli(null, ['lab', '--modes', 'nova-garp', '--floating-ips', '5', '--db', db.url, '--amqp', b.url, '--json'], { timeoutMs: 60_000 });
        const prefix = /namespace prefix (nglab-[0-9a-f]+-)/.exec(r.stderr)?.[1];
        expect(prefix, r.stderr).toBeDefined();
        expect(listNamespaces(prefix!)).toEqual([]);
        // The management veth's root end is gone too.
        expect(execFileSync('ip', ['-o', 'link', 'show']).toString()).not.toContain(`ngm${prefix!.slice(6, 12)}`);
        expect(r.code, r.stderr).toBe(0);
        // Rows written, distractors named; the run itself fails unless GET /v1/status says database.ok
        // and an inventory "database ..." equal to the plan's targets.
        expect(r.stderr).toMatch(/newton-shaped .*10 floating_ips.*\(unassociated\)/);
        expect(r.stderr).toMatch(/sidecar inventory from the database mysql:\/\/\S+ \(newton schema\) at \S+: 8 targets, exactly the lab's/);
        expect(r.stderr).toMatch(/sidecar RabbitMQ: consuming network\.network-ha.* on nglab-[0-9a-f]+-0 /);
        expect(r.stderr).toMatch(/AMQP associate_floating_ip \(Cactus cast\) for 172\.20\.1\.6, then bound: announced by the sidecar/);
        const out = JSON.parse(r.stdout) as LabJson;
        expect(out.modes).toHaveLength(1);
        const garp = out.modes[0]!;
        expect(garp).toMatchObject({ mode: 'nova-garp', deadtimeS: 2, addresses: 8, probeIntervalMs: 20, capped: false });
        expect(garp.overheadS.max, r.stderr).toBeLessThan(1);
        expect(garp.disconnectionS.median).toBeGreaterThanOrEqual(2);
      } finally {
        await db.drop();
      }
    },
    70_000,
  );

  it('refuses to run without root, and says why', async () => {
    const r = await runCli(null, ['lab', '--modes', 'none'], {
      // Capabilities dropped rather than the uid changed: another uid might not be able to read a
      // checkout in a 0700 directory (mktemp -d), and root without them cannot build a lab either.
      prefix: ['setpriv', '--bounding-set', '-sys_admin,-net_admin,-net_raw', '--inh-caps', '-sys_admin,-net_admin,-net_raw'],
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/needs root/);
    expect(r.stdout).toBe('');
  });

  it('rejects bad options with exit 2 and documents itself', async () => {
    const bad = await runCli(null, ['lab', '--modes', 'none,garp']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown mode 'garp'/);
    const shapeAlone = await runCli(null, ['lab', '--db-shape', 'cactus']);
    expect(shapeAlone.code).toBe(2);
    expect(shapeAlone.stderr).toMatch(/--db-shape needs --db/);
    const badShape = await runCli(null, ['lab', '--db', 'mysql://root@127.0.0.1/x', '--db-shape', 'folsom']);
    expect(badShape.code).toBe(2);
    expect(badShape.stderr).toMatch(/--db-shape must be cactus or newton/);
    const notGarp = await runCli(null, ['lab', '--modes', 'none', '--amqp', 'amqp://guest:guest@127.0.0.1:5672/']);
    expect(notGarp.code).toBe(2);
    expect(notGarp.stderr).toMatch(/for the nova-garp mode/);
    const sqlite = await runCli(null, ['lab', '--db', 'sqlite:///nova.sqlite']);
    expect(sqlite.code).toBe(2);
    expect(sqlite.stderr).toMatch(/--db: .*not supported/);
    const help = await runCli(null, ['lab', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--max-wait S/);
    expect(help.stdout).toMatch(/--db URL/);
    expect(help.stdout).toMatch(/--amqp URL/);
  });
});
