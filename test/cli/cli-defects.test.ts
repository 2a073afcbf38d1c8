import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliResult } from '../helpers/cli.js';
import { ServeProcess } from '../../tools/serve/serve-process.js';
import { createTestDatabase, missingMysql, stopTestServer, type TestDatabase } from '../helpers/mysql.js';
import { requirement } from '../helpers/requirements.js';
import { migrateToShape } from '../../migrations/index.js';
import { openNovaDb } from '../../src/nova/db-connection.js';
import { parseDatabaseUrl } from '../../src/nova/database-url.js';

/**
 * The CLI defects of issue 12, each through the real `bin/nova-garp` as a user runs it. None of
 * these needs root; the `plan --host` ones need MySQL/MariaDB (skipped loudly without, failing
 * under CI=true).
 */

/** `nova-garp <command>: <what is wrong>; <what to do>`, on one line, and nothing else on stderr. */
function expectOneStyledLine(r: CliResult, command: string): string {
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  const line = lines[0]!;
  expect(line).toMatch(new RegExp(`^nova-garp ${command}: [^;]+; .+$`));
  expect(line).not.toMatch(new RegExp(`nova-garp ${command}: nova-garp`));
  // node:util's own texts
  expect(line).not.toMatch(/Option '|To specify|Unknown option|argument missing|ambiguous\./);
  return line;
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ng-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('usage errors: one prefix, one style, exit 2', () => {
  it('no doubled prefix (announce --bogus)', async () => {
    const r = await runCli(null, ['announce', '--bogus']);
    expect(r.code).toBe(2);
    expect(expectOneStyledLine(r, 'announce')).toBe("nova-garp announce: unknown option '--bogus'; see 'nova-garp announce --help'");
  });

  it("no node:util text (db migrate --bogus, which takes positionals)", async () => {
    const r = await runCli(null, ['db', 'migrate', '--bogus']);
    expect(r.code).toBe(2);
    expect(expectOneStyledLine(r, 'db')).toBe("nova-garp db: unknown option '--bogus'; see 'nova-garp db --help'");
  });

  it.each([
    [['announce', '-i', 'lo', '-a', '127.0.0.1', '--rounds'], 'announce', /--rounds needs a value/],
    [['plan', '--json=1'], 'plan', /--json takes no value/],
    [['status', 'now'], 'status', /unexpected argument 'now'/],
    [['serve', '--refresh-s', '-5'], 'serve', /--refresh-s -5 is out of range; give a whole number from 5 to 86400/],
    [['serve', '--db-timeout', '900'], 'serve', /unknown option '--db-timeout'; did you mean --db-timeout-ms\?/],
    [['announce', '-i', 'lo', '-a', '127.0.0.1', '--form', 'both2'], 'announce', /--form 'both2' is not valid; give one of request, reply, both/],
    [['reannounce', '--all-hosts'], 'reannounce', /--all-hosts needs --remote; add --remote/],
    [['reannounce', '--host', 'nethost2'], 'reannounce', /--host needs --remote \(the local sidecar serves its own host\); add --remote, or drop --host/],
    [['db', 'frobnicate'], 'db', /unknown action 'frobnicate'; give one of migrate, seed or schema/],
  ])('%j', async (argv, command, expected) => {
    const r = await runCli(null, argv);
    expect(r.code).toBe(2);
    expect(expectOneStyledLine(r, command)).toMatch(expected);
  });

  it('serve checks its flags before anything starts: no log line, no socket, no database read', async () => {
    for (const bad of [
      ['--coalesce-ms', 'soon'],
      ['--metrics-listen', '9469'],
      ['--log-level', 'loud'],
      ['--announce-on-start', 'maybe'],
      ['--inventory', join(dir, 'no-such-inventory.json')],
      ['--db-timeout-ms', '10'],
    ]) {
      const r = await runCli(null, ['serve', '--no-amqp', '--metrics-listen', 'off', '--control-socket', join(dir, 'never.sock'), ...bad], { env: { NOVA_GARP_NOVA_CONFIG: '' } });
      expect(r.code, bad.join(' ')).toBe(2);
      expectOneStyledLine(r, 'serve');
      expect(existsSync(join(dir, 'never.sock'))).toBe(false);
    }
  });
});

describe('serve: the control socket path', () => {
  it('refuses a path over 107 bytes before starting, and leaves no shortened socket behind', async () => {
    const deep = join(dir, 'd'.repeat(120));
    await mkdir(deep);
    const socket = join(deep, 'control.sock');
    const r = await runCli(null, ['serve', '--no-amqp', '--metrics-listen', 'off', '--control-socket', socket], { timeoutMs: 20_000 });
    expect(r.code).toBe(2);
    const line = expectOneStyledLine(r, 'serve');
    expect(line).toMatch(/--control-socket: the control socket path is \d+ bytes long, over the 107-byte limit/);
    expect(line).not.toMatch(/cannot start/);
    expect(await readdir(deep)).toEqual([]);
    expect((await readdir(dir)).filter((f) => f.startsWith('ddd') && f !== 'd'.repeat(120))).toEqual([]);
  });

  it('refuses a socket or state directory whose parent is missing, creating nothing', async () => {
    const socket = join(dir, 'missing', 'deeper', 'control.sock');
    const r = await runCli(null, ['serve', '--no-amqp', '--metrics-listen', 'off', '--control-socket', socket]);
    expect(r.code).toBe(2);
    expect(expectOneStyledLine(r, 'serve')).toMatch(/--control-socket: neither .*\/missing\/deeper nor its parent .*\/missing exists; create .*\/missing first/);
    const state = await runCli(null, ['serve', '--no-amqp', '--metrics-listen', 'off', '--control-socket', join(dir, 's.sock'), '--state-dir', join(dir, 'nostate', 'x')]);
    expect(state.code).toBe(2);
    expect(expectOneStyledLine(state, 'serve')).toMatch(/--state-dir: neither .*\/nostate\/x nor its parent/);
    expect(existsSync(join(dir, 'missing'))).toBe(false);
    expect(existsSync(join(dir, 'nostate'))).toBe(false);
  });

  it('creates the last level itself (like /run/nova-garp), says so in its log, and answers there', async () => {
    const runDir = join(dir, 'run-nova-garp');
    const stateDir = join(dir, 'lib-nova-garp');
    const socket = join(runDir, 'control.sock');
    const conf = join(dir, 'nova.conf');
    await writeFile(conf, '[DEFAULT]\nhost = clihost\n');
    const serve = ServeProcess.spawn({
      netns: null, // --announce-on-start no and no inventory: nothing to announce in this namespace
      args: ['--nova-config', conf, '--no-amqp', '--metrics-listen', 'off', '--announce-on-start', 'no', '--control-socket', socket, '--state-dir', stateDir],
    });
    const logs = serve.logs;
    try {
      await serve.ready(20_000);
      expect(logs.filter((l) => l.msg === 'created directory').map((l) => l.dir)).toEqual([runDir, stateDir]);
      const status = await runCli(null, ['status', '--control-socket', socket, '--json']);
      expect(JSON.parse(status.stdout).status.host).toBe('clihost');
      // A second serve on the same socket cannot start: it says so once and exits (it used to be
      // able to keep running after "cannot start").
      const second = await runCli(null, ['serve', '--nova-config', conf, '--no-amqp', '--metrics-listen', 'off', '--control-socket', socket, '--state-dir', stateDir], { timeoutMs: 20_000 });
      expect(second.code).toBe(2);
      expect(second.stderr).toMatch(/^nova-garp serve: cannot start: another nova-garp is already listening on .*control\.sock; fix that and start again$/m);
    } finally {
      await serve.stop();
    }
  });
});

describe('plan and the timeout flag name', () => {
  it('--db-timeout-ms is the name in plan and serve; plan --db-timeout still works, with a deprecation warning', async () => {
    const planNew = await runCli(null, ['plan', '--db-timeout-ms', '10']);
    expect(planNew.code).toBe(2);
    expect(expectOneStyledLine(planNew, 'plan')).toBe('nova-garp plan: --db-timeout-ms 10 is out of range; give a whole number from 50 to 600000');
    const planOld = await runCli(null, ['plan', '--db-timeout', '10']);
    expect(planOld.code).toBe(2);
    expect(planOld.stderr).toMatch(/^nova-garp plan: warning: --db-timeout is deprecated; use --db-timeout-ms$/m);
    expect(planOld.stderr).toMatch(/^nova-garp plan: --db-timeout-ms 10 is out of range/m);
    const serve = await runCli(null, ['serve', '--db-timeout-ms', '10']);
    expect(serve.code).toBe(2);
    expect(expectOneStyledLine(serve, 'serve')).toBe('nova-garp serve: --db-timeout-ms 10 is out of range; give a whole number from 50 to 600000');
    const env = await runCli(null, ['serve'], { env: { NOVA_GARP_DB_TIMEOUT_MS: 'soon' } });
    expect(expectOneStyledLine(env, 'serve')).toBe("nova-garp serve: NOVA_GARP_DB_TIMEOUT_MS 'soon' is not a whole number; give one from 50 to 600000");
  });

  it('a bad --my-ip is blamed on --my-ip, not on nova.conf', async () => {
    const conf = join(dir, 'myip.conf');
    await writeFile(conf, '[DEFAULT]\nhost = nethost1\n[database]\nconnection = mysql://nova:pw@127.0.0.1:1/nova\n');
    const r = await runCli(null, ['plan', '--nova-config', conf, '--my-ip', 'notanip', '--state-dir', join(dir, 'st')]);
    expect(r.code).toBe(2);
    expect(expectOneStyledLine(r, 'plan')).toBe("nova-garp plan: --my-ip 'notanip' is not an IP address; give this host's IPv4 or IPv6 address");
    const viaEnv = await runCli(null, ['plan', '--nova-config', conf, '--state-dir', join(dir, 'st')], { env: { NOVA_GARP_MY_IP: '10.1' } });
    expect(viaEnv.code).toBe(2);
    expect(expectOneStyledLine(viaEnv, 'plan')).toMatch(/^nova-garp plan: NOVA_GARP_MY_IP '10\.1' is not an IP address; /);
    const serve = await runCli(null, ['serve', '--nova-config', conf, '--my-ip', 'notanip', '--no-amqp', '--metrics-listen', 'off', '--control-socket', join(dir, 'm.sock')]);
    expect(serve.code).toBe(2);
    expect(expectOneStyledLine(serve, 'serve')).toMatch(/--my-ip 'notanip' is not an IP address/);
  });
});

describe('reannounce --json prints JSON on failure too', () => {
  it('no sidecar: {error, exitCode: 1, socket} on stdout, the message on stderr', async () => {
    const socket = join(dir, 'nobody.sock');
    const r = await runCli(null, ['reannounce', '--json', '--control-socket', socket]);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toEqual({ error: `no sidecar socket at ${socket} (is 'nova-garp serve' running?)`, exitCode: 1, socket });
    expect(r.stderr).toMatch(/^nova-garp reannounce: no sidecar socket at /);
  });

  it('a usage error under --json is JSON too (exit 2)', async () => {
    const r = await runCli(null, ['reannounce', '--json', '-a', '10.0.0.999']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toEqual({ error: "--address '10.0.0.999': not an IP address; give target addresses as IPv4 or IPv6", exitCode: 2 });
  });

  it('--remote with an unreachable broker: JSON naming the broker', async () => {
    const conf = join(dir, 'remote.conf');
    await writeFile(conf, '[DEFAULT]\nhost = nethost1\n');
    const r = await runCli(null, ['reannounce', '--json', '--remote', '--all-hosts', '--nova-config', conf, '--transport-url', 'rabbit://guest:guest@127.0.0.1:1/'], { timeoutMs: 30_000 });
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout) as { error: string; exitCode: number; brokers: string[] };
    expect(out.exitCode).toBe(1);
    expect(out.error).toMatch(/^cannot publish: .*127\.0\.0\.1:1/);
    expect(out.brokers).toHaveLength(1);
  });
});

const withDb = requirement('nova-garp plan --host checks (MySQL/MariaDB)', await missingMysql());

describe.runIf(withDb)('plan --host: a host nova does not know is a warning and exit 3', () => {
  let db: TestDatabase;
  let conf: string;
  beforeAll(async () => {
    db = await createTestDatabase('clihost');
    const h = openNovaDb(parseDatabaseUrl(db.url), { connectTimeoutMs: 5000, readOnly: false });
    try {
      await migrateToShape(h.db, 'newton');
      // A network host that registered (nova-network's first start) and has no rows yet.
      await h.db
        .insertInto('services')
        .values({ id: 1, created_at: null, updated_at: null, deleted_at: null, deleted: 0, host: 'quiet-net', binary: 'nova-network', topic: 'network', report_count: 1, disabled: false })
        .execute();
    } finally {
      await h.close();
    }
    conf = join(dir, 'hostcheck.conf');
    await writeFile(conf, `[DEFAULT]\npublic_interface = lo\nrouting_source_ip = 127.0.0.1\n[database]\nconnection = ${db.url}\n`);
  });
  afterAll(async () => {
    await db?.drop();
    await stopTestServer();
  });

  it('typo: exit 3, warning naming the hosts nova knows; --json says hostKnown false', async () => {
    const r = await runCli(null, ['plan', '--nova-config', conf, '--host', 'quiet-nte', '--no-write-snapshot']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^nova-garp plan: warning: host 'quiet-nte' is unknown to nova's database .*; check --host or nova\.conf host \(nova-network hosts there: quiet-net\)$/m);
    const j = await runCli(null, ['plan', '--nova-config', conf, '--host', 'quiet-nte', '--no-write-snapshot', '--json']);
    expect(j.code).toBe(3);
    expect(JSON.parse(j.stdout)).toMatchObject({ host: 'quiet-nte', source: 'db', hostKnown: false });
  });

  it('a registered host with no rows yet is fine: exit 0, no warning', async () => {
    const r = await runCli(null, ['plan', '--nova-config', conf, '--host', 'quiet-net', '--no-write-snapshot', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ host: 'quiet-net', hostKnown: true });
  });
});
