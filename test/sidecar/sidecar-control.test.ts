import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:net';
import { request } from 'node:http';
import { join } from 'node:path';
import { missingRoot, requirement } from '../helpers/requirements.js';
import { callHook as pythonHook } from '../../tools/serve/hook.js';
import { createSidecarLab, type SidecarLab, type ServeProcess } from '../helpers/sidecar-fixture.js';
import { runCli } from '../helpers/cli.js';
import { waitFor, waitForFrames, waitForLogSince } from '../helpers/wait-for.js';
import { Capture } from '../../tools/capture/tcpdump.js';
import type { CapturedFrame } from '../../tools/capture/pcap.js';
import { parseArpFrame } from '../../src/frames/arp-frame.js';
import { controlRequest } from '../../src/sidecar/control-client.js';
import { writeSnapshot } from '../../src/inventory/snapshot.js';
import { MAX_BODY_BYTES } from '../../src/sidecar/control-server.js';

const enabled = requirement('sidecar control-socket tests', missingRoot());
const HOST = 'nethost1';
const callHook = (socket: string, host = HOST): Promise<string> => pythonHook(socket, host);

/**
 * One POST, written whole. Resolves with the answer; rejects when the connection ends without
 * one (a reset while writing an oversized body), never hangs.
 */
function rawPost(socket: string, path: string, body: Buffer | string, chunked = false): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const headers = chunked ? { 'content-type': 'application/json' } : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
    const req = request({ socketPath: socket, method: 'POST', path, headers }, (res) => {
      answered = true;
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on('close', () => {
        if (!res.complete) reject(new Error(`POST ${path}: the connection closed in the middle of the answer`));
      });
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (!answered) reject(new Error(`POST ${path}: ${err.code ?? err.message} before any answer`));
    });
    req.on('close', () => {
      if (!answered) reject(new Error(`POST ${path}: the connection closed without an answer`));
    });
    if (!chunked) req.end(body);
    else {
      // No length announced: the server finds the body too large only while reading it.
      const b = Buffer.from(body);
      req.write(b.subarray(0, b.length >> 1));
      setImmediate(() => req.end(b.subarray(b.length >> 1)));
    }
  });
}

describe.runIf(enabled)('nova-garp serve: control socket, hook, snapshot fallback', () => {
  let lab: SidecarLab;
  let serve: ServeProcess;
  let blackhole: Server;
  const held: import('node:net').Socket[] = [];

  beforeAll(async () => {
    lab = await createSidecarLab();
    // A "database" that accepts connections and never answers: the failing-over MySQL case.
    blackhole = createServer((s) => held.push(s));
    await new Promise<void>((resolve) => blackhole.listen(0, lab.mgmtIp, () => resolve()));
    const port = (blackhole.address() as { port: number }).port;
    await writeSnapshot(lab.stateDir, {
      host: HOST,
      source: 'db',
      schema: 'newton',
      readAt: new Date(Date.now() - 60_000).toISOString(),
      targets: [
        { kind: 'floating', address: '10.77.0.80', interface: lab.pair.senderIf },
        { kind: 'floating', address: '10.77.0.81', interface: lab.pair.senderIf },
        { kind: 'gateway', address: '10.77.0.82', interface: lab.pair.senderIf },
      ],
      skipped: [],
    });
    // Bound before the sidecar starts, as after a takeover that happened while it was down.
    for (const a of ['10.77.0.80', '10.77.0.82']) await lab.pair.group.ip(lab.pair.sender, 'addr', 'add', `${a}/32`, 'dev', lab.pair.senderIf);
    serve = await lab.startServe(
      ['--no-amqp', '--db-timeout-ms', '400', '--announce-on-start', 'no', '--control-group', '4242'],
      `[DEFAULT]\nhost = ${HOST}\npublic_interface = ${lab.pair.senderIf}\nrouting_source_ip = 10.77.0.1\n[database]\nconnection = mysql+pymysql://nova:secret@${lab.mgmtIp}:${port}/nova?charset=utf8\n`,
    );
    await serve.waitForLog((l) => l.msg === 'ready');
  });

  afterAll(async () => {
    for (const s of held) s.destroy();
    blackhole?.close();
    await lab?.cleanup();
  });

  /**
   * No schedule running: every frame a capture started now sees is the next trigger's, and no
   * address is inside the rate limit (a schedule ends 3 s after its round 1). Whatever ran before.
   */
  const quiet = (): Promise<unknown> =>
    waitFor(async () => ((await controlRequest(lab.socket, 'GET', '/v1/status')).body as { activeSchedules: number }).activeSchedules === 0, { what: 'no schedule running' });

  it('makes its control socket mode 0660, owned by the control group', async () => {
    const { statSync } = await import('node:fs');
    const st = statSync(lab.socket);
    expect(st.mode & 0o777).toBe(0o660);
    expect(st.gid).toBe(4242);
  });

  it('answers the real Python hook at once and announces every bound target from the snapshot while the database hangs', async () => {
    await quiet();
    const cap = await Capture.start(lab.pair.router, lab.pair.routerIf, `arp and ether src ${lab.pair.senderMac}`);
    let frames: CapturedFrame[] = [];
    let burst: Record<string, unknown>;
    try {
      const since = serve.logs.length;
      // The hook's answer time is bench/sidecar's business (here it would measure the machine's load).
      expect(await callHook(lab.socket)).toBe('True');
      burst = await waitForLogSince(serve, since, (l) => l.msg === 'burst' && l.trigger === 'hook', { what: 'the hook burst' });
      // Everything round 1 put on the wire is in the capture: nothing else can still arrive for it.
      frames = await waitForFrames(cap, (fs) => fs.length >= Number(burst.frames), { what: `the ${burst.frames} frames of the hook burst at the router` });
    } finally {
      await cap.stop();
    }
    const senders = frames.map((f) => parseArpFrame(f.data)?.senderIp);
    expect(senders.filter((a) => a === '10.77.0.80')).toHaveLength(2);
    expect(senders.filter((a) => a === '10.77.0.82')).toHaveLength(2);
    expect(senders).not.toContain('10.77.0.81'); // in the snapshot, but not bound here
    // .80, .82 and the routing source IP (10.77.0.1, from nova.conf) are bound; .81 is not.
    expect(burst).toMatchObject({ targets: 4, announced: 3, notBound: 1, frames: 6 });
    expect(typeof burst.triggerToLastFrameMs).toBe('number');
    // The database read the hook started hangs past --db-timeout-ms: the snapshot stays in use.
    const status = await waitFor(
      async () => {
        const body = (await controlRequest(lab.socket, 'GET', '/v1/status')).body as { database: { ok: boolean | null; detail: string }; inventory: { why: string } };
        return body.database.ok === false ? body : null;
      },
      { what: 'a failed database read in /v1/status' },
    );
    expect(status.database.detail).toMatch(/400 ms|timed out|timeout/i);
    expect(status.inventory.why).toMatch(/snapshot/);
  });

  it('announces a target the moment it is bound (address event), before any hook', async () => {
    const cap = await Capture.start(lab.pair.router, lab.pair.routerIf, `arp and ether src ${lab.pair.senderMac}`);
    // .81's frames from the first one on for 550 ms: its round 1 (round 2 comes 1.1 s later).
    const round1 = (fs: CapturedFrame[]): CapturedFrame[] => {
      const mine = fs.filter((f) => parseArpFrame(f.data)?.senderIp === '10.77.0.81');
      return mine.filter((f) => f.timeMs - mine[0]!.timeMs < 550);
    };
    let frames: CapturedFrame[] = [];
    let burst: Record<string, unknown>;
    const since = serve.logs.length;
    await lab.pair.group.ip(lab.pair.sender, 'addr', 'add', '10.77.0.81/32', 'dev', lab.pair.senderIf);
    try {
      burst = await waitForLogSince(serve, since, (l) => l.msg === 'burst' && l.trigger === 'address', { what: 'the address burst' });
      frames = await waitForFrames(cap, (fs) => round1(fs).length >= 2, { what: 'round 1 of 10.77.0.81 at the router' });
    } finally {
      await cap.stop();
      // The other tests find .81 unbound, as the snapshot's start left it.
      await lab.pair.group.ip(lab.pair.sender, 'addr', 'del', '10.77.0.81/32', 'dev', lab.pair.senderIf);
    }
    expect(round1(frames)).toHaveLength(2);
    expect(burst.announced).toBe(1);
  });

  it('reannounces on request, refusing what is not a bound inventory target', async () => {
    // An address announced less than --coalesce-ms ago is accepted too (folded into its schedule):
    // what ran before this test does not change the answer.
    const r = await runCli(null, ['reannounce', '--control-socket', lab.socket, '-a', '10.77.0.80', '-a', '10.77.0.99', '--json']);
    expect(r.code).toBe(3);
    const out = JSON.parse(r.stdout);
    expect(out.accepted).toEqual(['10.77.0.80']);
    expect(out.refused).toEqual([{ address: '10.77.0.99', reason: `not a target of host ${HOST}` }]);
    const byKind = await runCli(null, ['reannounce', '--control-socket', lab.socket, '--kind', 'gateway', '--json']);
    expect(byKind.code).toBe(0);
    expect(JSON.parse(byKind.stdout).accepted).toEqual(['10.77.0.82']);
  });

  it('rejects malformed, wrong and oversized requests with 4xx and a reason, and keeps serving', async () => {
    const cases: Array<[string, Buffer | string, number, RegExp]> = [
      ['/v1/events', '{not json', 400, /not JSON/],
      ['/v1/events', '[]', 400, /JSON object/],
      ['/v1/events', JSON.stringify({ event: 'reboot', host: HOST }), 400, /unknown event/],
      ['/v1/events', JSON.stringify({ event: 'nova-network-started' }), 400, /host/],
      ['/v1/events', JSON.stringify({ event: 'nova-network-started', host: 'otherhost' }), 409, /serves host 'nethost1'/],
      ['/v1/announce', JSON.stringify({ addresses: 'x' }), 400, /list of strings/],
      ['/v1/announce', JSON.stringify({ kinds: ['bogus'] }), 400, /kinds/],
      ['/v1/announce', JSON.stringify({ extra: 1 }), 400, /unknown field/],
      ['/v1/announce', Buffer.alloc(MAX_BODY_BYTES + 10, 0x20), 413, /over/],
      ['/v1/nothing', '{}', 404, /no route/],
    ];
    const before = ((await controlRequest(lab.socket, 'GET', '/v1/status')).body as { rejected: { control: number } }).rejected.control;
    for (const [path, body, status, reason] of cases) {
      const r = await rawPost(lab.socket, path, body);
      expect(r.status, `${path} ${String(body).slice(0, 40)}`).toBe(status);
      expect(JSON.parse(r.body).error).toMatch(reason);
    }
    const chunked = await rawPost(lab.socket, '/v1/announce', Buffer.alloc(MAX_BODY_BYTES + 10, 0x20), true);
    expect(chunked.status).toBe(413);
    const get = await controlRequest(lab.socket, 'GET', '/v1/events');
    expect(get.status).toBe(405);
    expect((await controlRequest(lab.socket, 'GET', '/healthz')).status).toBe(200);
    const status = (await controlRequest(lab.socket, 'GET', '/v1/status')).body as { rejected: { control: number } };
    expect(status.rejected.control - before).toBe(cases.length + 2);
    // The hook's answer for a host mismatch is a warning in nova's log, never an exception.
    expect(await callHook(lab.socket, 'otherhost')).toBe('False');
    expect(serve.child.exitCode).toBeNull();
  });

  it("counts Node's own HTTP rejections (malformed request, oversized headers) with a reason", async () => {
    const { connect } = await import('node:net');
    const raw = (text: string): Promise<string> =>
      new Promise((resolve) => {
        const c = connect(lab.socket, () => c.write(text));
        let answer = '';
        c.on('data', (d: Buffer) => (answer += d.toString()));
        c.on('error', () => resolve(answer));
        c.on('close', () => resolve(answer));
      });
    const rejected = async (): Promise<number> => ((await controlRequest(lab.socket, 'GET', '/v1/status')).body as { rejected: { control: number } }).rejected.control;
    const before = await rejected();
    expect(await raw('NONSENSE\r\n\r\n')).toMatch(/^HTTP\/1\.1 400/);
    expect(await raw(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`)).toMatch(/^HTTP\/1\.1 431/);
    expect((await rejected()) - before).toBe(2);
  });

  it('past 64 open connections answers 503 to everything but the hook and /healthz', async () => {
    const { connect } = await import('node:net');
    const idle = await Promise.all(
      Array.from({ length: 70 }, () => new Promise<import('node:net').Socket>((resolve) => {
        const c = connect(lab.socket, () => resolve(c));
      })),
    );
    try {
      expect((await controlRequest(lab.socket, 'GET', '/v1/status')).status).toBe(503);
      expect((await controlRequest(lab.socket, 'GET', '/healthz')).status).toBe(200);
      const hook = await controlRequest(lab.socket, 'POST', '/v1/events', { event: 'nova-network-started', host: HOST });
      expect(hook.status).toBe(202);
    } finally {
      for (const c of idle) c.destroy();
    }
  });

  it('stops cleanly on SIGTERM and removes its socket', async () => {
    // A serve of its own: the one the other tests use keeps running, whatever the order.
    const socket = join(lab.dir, 'stop.sock');
    const own = await lab.startServe(['--no-amqp', '--announce-on-start', 'no', '--control-socket', socket, '--state-dir', join(lab.dir, 'stop-state')], `[DEFAULT]\nhost = ${HOST}\n`);
    await own.waitForLog((l) => l.msg === 'ready');
    const { existsSync } = await import('node:fs');
    expect(existsSync(socket)).toBe(true);
    expect(await own.stop()).toBe(0);
    expect(existsSync(socket)).toBe(false);
  });
});
