import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliResult } from '../helpers/cli.js';
import { missingRoot, requirement } from '../helpers/requirements.js';
import { createSidecarLab, type ServeProcess, type SidecarLab } from '../helpers/sidecar-fixture.js';
import { writeSnapshot } from '../../src/inventory/snapshot.js';
import { waitFor } from '../helpers/wait-for.js';

/**
 * `nova-garp status` against a real `nova-garp serve` (in a namespace, from the shared fixture),
 * and against the ways a sidecar can be "down". Exit codes are what a monitor sees.
 */

const HOST = 'nethost1';

interface StatusJson {
  health: string;
  exitCode: number;
  problems: string[];
  socket: string;
  status: Record<string, unknown> | null;
}

async function status(socket: string, ...args: string[]): Promise<CliResult & { json: StatusJson }> {
  const r = await runCli(null, ['status', '--control-socket', socket, '--json', ...args]);
  return { ...r, json: JSON.parse(r.stdout) as StatusJson };
}

describe('nova-garp status: down (exit 2) without any sidecar', () => {
  let dir: string;
  const servers: Server[] = [];
  const held: Socket[] = [];
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ng-status-'));
  });
  afterAll(async () => {
    for (const s of held) s.destroy();
    for (const s of servers) await new Promise((r) => s.close(r));
    await rm(dir, { recursive: true, force: true });
  });

  it('no socket: exit 2, a Nagios DOWN line, and JSON with status null', async () => {
    const socket = join(dir, 'none.sock');
    const text = await runCli(null, ['status', '--control-socket', socket]);
    expect(text.code).toBe(2);
    expect(text.stdout.split('\n')[0]).toBe(`NOVA-GARP DOWN: no sidecar socket at ${socket} (is 'nova-garp serve' running?)`);
    const j = await status(socket);
    expect(j.code).toBe(2);
    expect(j.json).toMatchObject({ health: 'down', exitCode: 2, status: null, socket });
  });

  it('a stale socket file nobody listens on (a crashed sidecar): exit 2', async () => {
    const socket = join(dir, 'stale.sock');
    // Python binds and exits without unlinking: exactly what a SIGKILLed sidecar leaves.
    await promisify(execFile)('python3', ['-c', `import socket; s = socket.socket(socket.AF_UNIX); s.bind(${JSON.stringify(socket)})`]);
    const j = await status(socket);
    expect(j.code).toBe(2);
    expect(j.json.problems[0]).toMatch(/^nothing listens on .*stale\.sock/);
  });

  it('a sidecar that accepts and never answers (hung): exit 2 after --timeout-ms', async () => {
    const socket = join(dir, 'hung.sock');
    const server = createServer((s) => held.push(s));
    servers.push(server);
    await new Promise<void>((r) => server.listen(socket, r));
    const t0 = Date.now();
    const j = await status(socket, '--timeout-ms', '300');
    expect(j.code).toBe(2);
    expect(j.json.problems[0]).toBe(`no answer from ${socket} within 300 ms`);
    expect(Date.now() - t0).toBeLessThan(15_000);
  });

  it('a bad flag is exit 2 as well (a broken check must not pass)', async () => {
    const r = await runCli(null, ['status', '--max-snapshot-age-s', 'old']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe("nova-garp status: --max-snapshot-age-s 'old' is not a whole number; give one from 0 to 315360000");
  });
});

const enabled = requirement('nova-garp status against a real serve', missingRoot());

describe.runIf(enabled)('nova-garp status against a real serve', () => {
  let lab: SidecarLab;
  beforeAll(async () => {
    lab = await createSidecarLab();
  });
  afterAll(async () => {
    await lab?.cleanup();
  });

  it('healthy (exit 0) with a static inventory and no broker; then down (exit 2) once serve stopped', async () => {
    const inventory = join(lab.dir, 'static.json');
    await writeFile(inventory, JSON.stringify({ targets: [{ kind: 'floating', address: '10.77.0.90', interface: lab.pair.senderIf }, { kind: 'floating', address: '10.77.0.91', interface: lab.pair.senderIf }] }));
    await lab.pair.group.ip(lab.pair.sender, 'addr', 'add', '10.77.0.90/32', 'dev', lab.pair.senderIf);
    const serve = await lab.startServe(['--no-amqp', '--inventory', inventory, '--announce-on-start', 'no'], `[DEFAULT]\nhost = ${HOST}\n`);
    try {
      await serve.waitForLog((l) => l.msg === 'ready');
      await healthy();
    } finally {
      await serve.stop();
    }
    const after = await status(lab.socket);
    expect(after.code).toBe(2);
    expect(after.json.health).toBe('down');
  });

  async function healthy(): Promise<void> {
    const j = await status(lab.socket);
    expect(j.code).toBe(0);
    expect(j.json).toMatchObject({ health: 'healthy', exitCode: 0, problems: [] });
    expect(j.json.status).toMatchObject({ host: HOST, inventory: { source: 'static' } });
    const text = await runCli(null, ['status', '--control-socket', lab.socket]);
    expect(text.code).toBe(0);
    const lines = text.stdout.split('\n');
    expect(lines[0]).toMatch(new RegExp(`^NOVA-GARP OK: host ${HOST}, \\d+ target\\(s\\), 1 bound, inventory from static \\| targets=\\d+ bound=1 conflicts=0`));
    expect(text.stdout).toMatch(/^rabbitmq: +disabled \(--no-amqp\)$/m);
    expect(text.stdout).toMatch(/^database: +not configured$/m);
  }

  it('degraded (exit 1): database refused, broker unreachable, snapshot two hours old; the age limit is a flag', async () => {
    await writeSnapshot(lab.stateDir, {
      host: HOST,
      source: 'db',
      schema: 'newton',
      readAt: new Date(Date.now() - 2 * 3600_000).toISOString(),
      targets: [{ kind: 'floating', address: '10.77.0.95', interface: lab.pair.senderIf }],
      skipped: [],
    });
    // Nothing listens on port 1 of the root end of the management link: refused at once.
    const conf = [
      '[DEFAULT]',
      `host = ${HOST}`,
      `public_interface = ${lab.pair.senderIf}`,
      'routing_source_ip = 10.77.0.1',
      `rabbit_host = ${lab.mgmtIp}`,
      'rabbit_port = 1',
      '[database]',
      `connection = mysql://nova:pw@${lab.mgmtIp}:1/nova`,
      '',
    ].join('\n');
    const serve: ServeProcess = await lab.startServe(['--db-timeout-ms', '1000', '--announce-on-start', 'no'], conf);
    try {
      await serve.waitForLog((l) => l.msg === 'ready');
      await degraded();
    } finally {
      await serve.stop();
    }
  });

  async function degraded(): Promise<void> {
    const j = await waitFor(async () => {
      const s = await status(lab.socket);
      return (s.json.status?.database as { ok?: unknown } | undefined)?.ok === false ? s : undefined;
    }, { what: 'status with the database read failed', timeoutMs: 20_000 });
    expect(j.code).toBe(1);
    expect(j.json.health).toBe('degraded');
    expect(j.json.problems).toHaveLength(3);
    expect(j.json.problems[0]).toMatch(/^database down: mysql:\/\/nova:\*\*\*@.*:1\/nova: .*ECONNREFUSED/);
    expect(j.json.problems[1]).toMatch(/^RabbitMQ not connected: /);
    expect(j.json.problems[2]).toMatch(/^inventory from a snapshot 2\.0 h old \(limit 60 min\)$/);

    const lenient = await status(lab.socket, '--max-snapshot-age-s', '86400');
    expect(lenient.code).toBe(1);
    expect(lenient.json.problems.some((p) => /snapshot/.test(p))).toBe(false);

    const text = await runCli(null, ['status', '--control-socket', lab.socket]);
    expect(text.code).toBe(1);
    expect(text.stdout.split('\n')[0]).toMatch(/^NOVA-GARP DEGRADED: database down: .*; RabbitMQ not connected: .*; inventory from a snapshot 2\.0 h old .* \| targets=\d+ bound=\d+ conflicts=0 inventory_age=\d+s$/);
    expect(text.stdout).toMatch(/^database: +DOWN /m);
    expect(text.stdout).toMatch(/^rabbitmq: +NOT CONNECTED/m);
  }
});
