import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Channel, ChannelModel } from 'amqplib';
import { randomUUID } from 'node:crypto';
import { missingRoot, requirement } from '../helpers/requirements.js';
import { broker, connect, missingBroker, stopTestBroker, uniqueExchange } from '../helpers/rabbitmq.js';
import { createSidecarLab, type SidecarLab, type ServeProcess } from '../helpers/sidecar-fixture.js';
import { runCli } from '../helpers/cli.js';
import { waitFor, waitForFrames, waitForLogSince } from '../helpers/wait-for.js';
import { Capture } from '../../tools/capture/tcpdump.js';
import type { CapturedFrame } from '../../tools/capture/pcap.js';
import { parseArpFrame } from '../../src/frames/arp-frame.js';
import { controlRequest } from '../../src/sidecar/control-client.js';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const enabled = requirement('sidecar RabbitMQ tests', missingRoot() ?? (await missingBroker()));
const HOST = 'nethost1';
afterAll(stopTestBroker);

describe.runIf(enabled)('nova-garp serve with RabbitMQ', () => {
  let lab: SidecarLab;
  let serve: ServeProcess;
  let amqp: ChannelModel;
  let ch: Channel;
  const exchange = uniqueExchange();
  const novaQueue = `network.${HOST}`;
  const replyQueue = `reply_${randomUUID().replace(/-/g, '')}`;

  beforeAll(async () => {
    lab = await createSidecarLab();
    const b = await broker();
    const relay = await lab.relay(b.host, b.port);
    amqp = await connect();
    ch = await amqp.createChannel();
    // What nova-network declares for itself (nova-facts §2d).
    await ch.assertExchange(exchange, 'topic', { durable: false, autoDelete: false });
    await ch.assertQueue(novaQueue, { durable: false, autoDelete: false });
    await ch.purgeQueue(novaQueue);
    await ch.bindQueue(novaQueue, exchange, novaQueue);
    await ch.assertQueue(replyQueue, { durable: false, autoDelete: false });
    serve = await lab.startServe(
      ['--bind-wait-ms', '1500'],
      `[DEFAULT]\nhost = ${HOST}\npublic_interface = ${lab.pair.senderIf}\ncontrol_exchange = ${exchange}\nrouting_source_ip = 10.77.0.1\n` +
        `[oslo_messaging_rabbit]\nrabbit_host = ${lab.mgmtIp}\nrabbit_port = ${relay.port}\n`,
    );
    await serve.waitForLog((l) => l.msg === 'RabbitMQ connected');
  });

  afterAll(async () => {
    await ch?.deleteQueue(novaQueue).catch(() => undefined);
    await ch?.deleteQueue(replyQueue).catch(() => undefined);
    await ch?.deleteExchange(exchange).catch(() => undefined);
    await amqp?.close().catch(() => undefined);
    await lab?.cleanup();
  });

  const publish = (body: unknown, key = novaQueue): boolean => ch.publish(exchange, key, Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)));
  const bind = (a: string): Promise<string> => lab.pair.group.ip(lab.pair.sender, 'addr', 'add', `${a}/32`, 'dev', lab.pair.senderIf);
  /** Every test takes its log lines from here on: a line an earlier test caused never answers for it. */
  const mark = (): number => serve.logs.length;
  const logSince = (since: number, pred: (l: Record<string, unknown>) => boolean, what: string) => waitForLogSince(serve, since, pred, { what });
  const associated = (since: number, address: string) => logSince(since, (l) => l.msg === 'floating IP associated' && l.address === address, `'floating IP associated' for ${address}`);
  const status = async <T>(): Promise<T> => (await controlRequest(lab.socket, 'GET', '/v1/status')).body as T;

  const fromAddress = (frames: CapturedFrame[], address: string): number[] => frames.filter((f) => parseArpFrame(f.data)?.senderIp === address).map((f) => f.timeMs);
  /** ARP frames from `address` in the round its first captured frame opened (round 2 comes 1.1 s later). */
  const firstRound = (frames: CapturedFrame[], address: string): number => {
    const times = fromAddress(frames, address);
    return times.filter((t) => t - times[0]! < 550).length;
  };

  /**
   * Captures the router's link while `action` runs (it ends once the sidecar logged the burst, so
   * round 1 is on the wire), then waits until round 1 of each of `announced` (request and reply)
   * is in the capture. Returns the captured frames.
   */
  async function capture(announced: string[], action: () => Promise<void>): Promise<CapturedFrame[]> {
    const cap = await Capture.start(lab.pair.router, lab.pair.routerIf, `arp and ether src ${lab.pair.senderMac}`);
    let frames: CapturedFrame[] = [];
    try {
      await action();
      await waitForFrames(cap, (fs) => announced.every((a) => firstRound(fs, a) >= 2), { what: `round 1 of ${announced.join(', ')} at the router` });
    } finally {
      frames = (await cap.stop()).frames;
    }
    return frames;
  }

  /** Every schedule has ended (rounds 2 and 3 included): what a schedule would still send is out. */
  const schedulesDone = (what: string) => waitFor(async () => (await status<{ activeSchedules: number }>()).activeSchedules === 0, { what, timeoutMs: 10_000 });

  it('announces a floating IP associated by a Cactus-format cast once nova binds it', async () => {
    const since = mark();
    const frames = await capture(['10.77.0.60'], async () => {
      publish({ method: 'associate_floating_ip', args: { floating_address: '10.77.0.60', fixed_address: '10.0.0.3' }, _context_user: 'admin', _context_project: 'p1', _context_is_admin: true });
      // nova-network binds the address while handling the same message: after the sidecar has it.
      await associated(since, '10.77.0.60');
      await bind('10.77.0.60');
      await logSince(since, (l) => l.msg === 'burst' && l.trigger === 'amqp-associate' && l.announced === 1, 'the amqp-associate burst');
    });
    expect(firstRound(frames, '10.77.0.60')).toBe(2); // request + reply, round 1
  });

  it('announces a floating IP from a Newton-format call (oslo envelope) and never replies', async () => {
    await bind('10.77.0.61');
    const inner = {
      method: '_associate_floating_ip',
      args: { floating_address: '10.77.0.61', fixed_address: '10.0.0.4', interface: lab.pair.senderIf, instance_uuid: randomUUID() },
      version: '1.6',
      _unique_id: randomUUID().replace(/-/g, ''),
      _msg_id: randomUUID().replace(/-/g, ''),
      _reply_q: replyQueue,
      _context_user_id: 'u',
      _context_project_id: 'p',
      _context_is_admin: true,
    };
    const since = mark();
    const frames = await capture(['10.77.0.61'], async () => {
      publish({ 'oslo.version': '2.0', 'oslo.message': JSON.stringify(inner) });
      await logSince(since, (l) => l.msg === 'burst' && l.trigger === 'amqp-associate' && l.announced === 1, 'the amqp-associate burst');
    });
    expect(firstRound(frames, '10.77.0.61')).toBe(2);
    // The sidecar has handled the call (its burst is out) and sent nothing back.
    expect((await ch.checkQueue(replyQueue)).messageCount).toBe(0);
  });

  it('takes an associate call on the shared network topic (Folsom–Grizzly) only when the address is bound here', async () => {
    await bind('10.77.0.65');
    const since = mark();
    const frames = await capture(['10.77.0.65'], async () => {
      // .66 first: once .65 (published after it) is handled and on the wire, .66 would have been too.
      publish({ method: 'associate_floating_ip', args: { floating_address: '10.77.0.66', fixed_address: '10.0.0.9', affect_auto_assigned: false }, _msg_id: 'x2' }, 'network');
      publish({ method: 'associate_floating_ip', args: { floating_address: '10.77.0.65', fixed_address: '10.0.0.8', affect_auto_assigned: false }, _msg_id: 'x1' }, 'network');
      await associated(since, '10.77.0.65');
    });
    expect(firstRound(frames, '10.77.0.65')).toBe(2);
    expect(fromAddress(frames, '10.77.0.66')).toHaveLength(0);
    const targets = (await status<{ inventory: { targets: Array<{ address: string }> } }>()).inventory.targets.map((t) => t.address);
    expect(targets).toContain('10.77.0.65');
    expect(targets).not.toContain('10.77.0.66');
  });

  it("leaves nova's own queue every message", async () => {
    const before = (await ch.checkQueue(novaQueue)).messageCount;
    const since = mark();
    publish({ method: 'associate_floating_ip', args: { floating_address: '10.77.0.69', fixed_address: '10.0.0.10' } });
    // The broker routed the message to both queues at once; the sidecar has consumed its copy.
    await associated(since, '10.77.0.69');
    expect((await ch.checkQueue(novaQueue)).messageCount).toBe(before + 1);
  });

  it('survives 1,000 malformed bodies, counts them, and still works', async () => {
    const junk = [
      'not json',
      '[]',
      '42',
      '{}',
      '{"method": 7}',
      '{"method":"associate_floating_ip","args":"x"}',
      '{"method":"associate_floating_ip","args":{}}',
      '{"method":"associate_floating_ip","args":{"floating_address":"999.1.1.1"}}',
      '{"method":"_disassociate_floating_ip","args":{"address":["10.0.0.1"]}}',
      '{"oslo.version":"2.0","oslo.message":"{broken"}',
      '{"oslo.version":"2.0","oslo.message":{"method":"x"}}',
      Buffer.from([0xff, 0xfe, 0x00, 0x01]).toString('latin1'),
    ];
    const before = (await status<{ rejected: { amqp: number } }>()).rejected.amqp;
    await bind('10.77.0.62');
    const since = mark();
    const frames = await capture(['10.77.0.62'], async () => {
      for (let i = 0; i < 1000; i++) publish(junk[i % junk.length]!);
      // One queue, one consumer, in order: once this one is handled, all 1,000 before it were.
      publish({ method: 'associate_floating_ip', args: { floating_address: '10.77.0.62', fixed_address: '10.0.0.5' } });
      await associated(since, '10.77.0.62');
    });
    expect(firstRound(frames, '10.77.0.62')).toBe(2);
    const after = await controlRequest(lab.socket, 'GET', '/v1/status');
    expect(after.status).toBe(200);
    expect((after.body as { rejected: { amqp: number } }).rejected.amqp - before).toBe(1000);
    expect(serve.child.exitCode).toBeNull();
  });

  it('reconnects after the broker closes its connections, and still works', async () => {
    const since = mark();
    await (await broker()).closeAllConnections();
    await logSince(since, (l) => l.msg === 'RabbitMQ unavailable; retrying', "'RabbitMQ unavailable; retrying'");
    await waitForLogSince(serve, since, (l) => l.msg === 'RabbitMQ connected', { what: "'RabbitMQ connected' again", timeoutMs: 30_000 });
    amqp = await connect();
    ch = await amqp.createChannel();
    await bind('10.77.0.63');
    const frames = await capture(['10.77.0.63'], async () => {
      publish({ method: '_associate_floating_ip', args: { floating_address: '10.77.0.63', fixed_address: '10.0.0.6', interface: null } });
      await associated(since, '10.77.0.63');
    });
    expect(firstRound(frames, '10.77.0.63')).toBe(2);
  });

  it('stops repeating a floating IP that is disassociated', async () => {
    await bind('10.77.0.64');
    const cap = await Capture.start(lab.pair.router, lab.pair.routerIf, `arp and ether src ${lab.pair.senderMac}`);
    let frames: CapturedFrame[];
    try {
      const since = mark();
      publish({ method: 'associate_floating_ip', args: { floating_address: '10.77.0.64', fixed_address: '10.0.0.7' } });
      await associated(since, '10.77.0.64');
      await waitForFrames(cap, (fs) => firstRound(fs, '10.77.0.64') >= 2, { what: 'round 1 of 10.77.0.64 at the router' });
      publish({ method: 'disassociate_floating_ip', args: { floating_address: '10.77.0.64' } });
      await logSince(since, (l) => l.msg === 'floating IP disassociated' && l.address === '10.77.0.64', "'floating IP disassociated'");
      // Rounds 2 and 3 would be out before the last schedule ends (3 s after round 1 at most).
      await schedulesDone('every schedule ended after the disassociation');
    } finally {
      frames = (await cap.stop()).frames;
    }
    expect(fromAddress(frames, '10.77.0.64')).toHaveLength(2); // round 1 only: rounds 2 and 3 were dropped
  });

  it('carries reannounce --remote to the sidecar of a host, and --all-hosts through the fanout', async () => {
    const conf = join(lab.dir, 'remote-nova.conf');
    const b = await broker();
    await writeFile(conf, `[DEFAULT]\nhost = ${HOST}\ncontrol_exchange = ${exchange}\n[oslo_messaging_rabbit]\nrabbit_host = ${b.host}\nrabbit_port = ${b.port}\n`);
    // Two targets of this host, bound: associated and announced here.
    const setup = mark();
    for (const a of ['10.77.0.67', '10.77.0.68']) {
      await bind(a);
      publish({ method: 'associate_floating_ip', args: { floating_address: a, fixed_address: '10.0.0.11' } });
      await associated(setup, a);
    }
    // Their schedules over, a reannounce is past the per-address rate limit and every frame of
    // these addresses in the captures below is the reannounce's.
    await schedulesDone('the schedules of the association ended');
    const one = mark();
    const host = await capture(['10.77.0.67'], async () => {
      const r = await runCli(null, ['reannounce', '--remote', '--host', HOST, '--nova-config', conf, '-a', '10.77.0.67']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/published for host nethost1/);
      await logSince(one, (l) => l.msg === 'burst' && l.trigger === 'amqp-reannounce', 'the amqp-reannounce burst');
    });
    expect(firstRound(host, '10.77.0.67')).toBe(2);
    const two = mark();
    const all = await capture(['10.77.0.68'], async () => {
      const r = await runCli(null, ['reannounce', '--remote', '--all-hosts', '--nova-config', conf, '-a', '10.77.0.68']);
      expect(r.code, r.stderr).toBe(0);
      await logSince(two, (l) => l.msg === 'burst' && l.trigger === 'amqp-reannounce', 'the amqp-reannounce burst (fanout)');
    });
    expect(firstRound(all, '10.77.0.68')).toBe(2);
  });
});
