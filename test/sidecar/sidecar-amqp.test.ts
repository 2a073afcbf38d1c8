import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Channel, ChannelModel } from 'amqplib';
import { randomUUID } from 'node:crypto';
import { missingRoot, requirement } from '../helpers/requirements.js';
import { broker, connect, missingBroker, stopTestBroker, uniqueExchange } from '../helpers/rabbitmq.js';
import { createSidecarLab, type SidecarLab, type ServeProcess } from '../helpers/sidecar-fixture.js';
import { runCli } from '../helpers/cli.js';
import { Capture } from '../../tools/capture/tcpdump.js';
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

  async function framesFor(addresses: string[], action: () => Promise<void>, settleMs = 600): Promise<Map<string, number>> {
    const cap = await Capture.start(lab.pair.router, lab.pair.routerIf, `arp and ether src ${lab.pair.senderMac}`);
    await action();
    await new Promise((r) => setTimeout(r, settleMs));
    const { frames } = await cap.stop();
    const count = new Map(addresses.map((a) => [a, 0]));
    for (const f of frames) {
      const p = parseArpFrame(f.data);
      if (p !== null && count.has(p.senderIp)) count.set(p.senderIp, count.get(p.senderIp)! + 1);
    }
    return count;
  }

  const bind = (a: string): Promise<string> => lab.pair.group.ip(lab.pair.sender, 'addr', 'add', `${a}/32`, 'dev', lab.pair.senderIf);

  it('announces a floating IP associated by a Cactus-format cast once nova binds it', async () => {
    const count = await framesFor(['10.77.0.60'], async () => {
      publish({ method: 'associate_floating_ip', args: { floating_address: '10.77.0.60', fixed_address: '10.0.0.3' }, _context_user: 'admin', _context_project: 'p1', _context_is_admin: true });
      // nova-network binds the address while handling the same message.
      await new Promise((r) => setTimeout(r, 300));
      await bind('10.77.0.60');
      await serve.waitForLog((l) => l.msg === 'burst' && l.trigger === 'amqp-associate' && l.announced === 1);
    });
    expect(count.get('10.77.0.60')).toBe(2); // request + reply, round 1
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
    const count = await framesFor(['10.77.0.61'], async () => {
      publish({ 'oslo.version': '2.0', 'oslo.message': JSON.stringify(inner) });
      await serve.waitForLog((l) => l.msg === 'burst' && l.trigger === 'amqp-associate' && l.announced === 1 && (l.at as string) > new Date(Date.now() - 5000).toISOString());
    });
    expect(count.get('10.77.0.61')).toBe(2);
    expect((await ch.checkQueue(replyQueue)).messageCount).toBe(0);
  });

  it('takes an associate call on the shared network topic (Folsom–Grizzly) only when the address is bound here', async () => {
    await bind('10.77.0.65');
    const count = await framesFor(['10.77.0.65', '10.77.0.66'], async () => {
      publish({ method: 'associate_floating_ip', args: { floating_address: '10.77.0.65', fixed_address: '10.0.0.8', affect_auto_assigned: false }, _msg_id: 'x1' }, 'network');
      publish({ method: 'associate_floating_ip', args: { floating_address: '10.77.0.66', fixed_address: '10.0.0.9', affect_auto_assigned: false }, _msg_id: 'x2' }, 'network');
      await serve.waitForLog((l) => l.msg === 'floating IP associated' && l.address === '10.77.0.65');
    });
    expect(count.get('10.77.0.65')).toBe(2);
    expect(count.get('10.77.0.66')).toBe(0);
    const status = (await controlRequest(lab.socket, 'GET', '/v1/status')).body as { inventory: { targets: Array<{ address: string }> } };
    expect(status.inventory.targets.map((t) => t.address)).toContain('10.77.0.65');
    expect(status.inventory.targets.map((t) => t.address)).not.toContain('10.77.0.66');
  });

  it("leaves nova's own queue every message", async () => {
    expect((await ch.checkQueue(novaQueue)).messageCount).toBe(2);
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
    for (let i = 0; i < 1000; i++) publish(junk[i % junk.length]!);
    await new Promise((r) => setTimeout(r, 1500));
    const status = await controlRequest(lab.socket, 'GET', '/v1/status');
    expect(status.status).toBe(200);
    expect((status.body as { rejected: { amqp: number } }).rejected.amqp).toBe(1000);
    expect(serve.child.exitCode).toBeNull();
    await bind('10.77.0.62');
    const count = await framesFor(['10.77.0.62'], async () => {
      publish({ method: 'associate_floating_ip', args: { floating_address: '10.77.0.62', fixed_address: '10.0.0.5' } });
      await serve.waitForLog((l) => l.msg === 'floating IP associated' && l.address === '10.77.0.62');
    });
    expect(count.get('10.77.0.62')).toBe(2);
  });

  it('reconnects after the broker closes its connections, and still works', async () => {
    const connectedBefore = serve.logs.filter((l) => l.msg === 'RabbitMQ connected').length;
    await (await broker()).closeAllConnections();
    await serve.waitForLog((l) => l.msg === 'RabbitMQ unavailable; retrying');
    await serve.waitForLog(() => serve.logs.filter((l) => l.msg === 'RabbitMQ connected').length > connectedBefore, 30_000);
    amqp = await connect();
    ch = await amqp.createChannel();
    await bind('10.77.0.63');
    const count = await framesFor(['10.77.0.63'], async () => {
      publish({ method: '_associate_floating_ip', args: { floating_address: '10.77.0.63', fixed_address: '10.0.0.6', interface: null } });
      await serve.waitForLog((l) => l.msg === 'floating IP associated' && l.address === '10.77.0.63');
    });
    expect(count.get('10.77.0.63')).toBe(2);
  });

  it('stops repeating a floating IP that is disassociated', async () => {
    await bind('10.77.0.64');
    const count = await framesFor(
      ['10.77.0.64'],
      async () => {
        publish({ method: 'associate_floating_ip', args: { floating_address: '10.77.0.64', fixed_address: '10.0.0.7' } });
        await serve.waitForLog((l) => l.msg === 'floating IP associated' && l.address === '10.77.0.64');
        await new Promise((r) => setTimeout(r, 200));
        publish({ method: 'disassociate_floating_ip', args: { floating_address: '10.77.0.64' } });
        await serve.waitForLog((l) => l.msg === 'floating IP disassociated' && l.address === '10.77.0.64');
      },
      3500,
    );
    expect(count.get('10.77.0.64')).toBe(2); // round 1 only: rounds 2 and 3 were dropped
  });

  it('carries reannounce --remote to the sidecar of a host, and --all-hosts through the fanout', async () => {
    const conf = join(lab.dir, 'remote-nova.conf');
    const b = await broker();
    await writeFile(conf, `[DEFAULT]\nhost = ${HOST}\ncontrol_exchange = ${exchange}\n[oslo_messaging_rabbit]\nrabbit_host = ${b.host}\nrabbit_port = ${b.port}\n`);
    await new Promise((r) => setTimeout(r, 1100)); // past the per-address rate limit
    const count = await framesFor(['10.77.0.60'], async () => {
      const r = await runCli(null, ['reannounce', '--remote', '--host', HOST, '--nova-config', conf, '-a', '10.77.0.60']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/published for host nethost1/);
      await serve.waitForLog((l) => l.msg === 'burst' && l.trigger === 'amqp-reannounce');
    });
    expect(count.get('10.77.0.60')).toBe(2);
    await new Promise((r) => setTimeout(r, 1100));
    const all = await framesFor(['10.77.0.61'], async () => {
      const r = await runCli(null, ['reannounce', '--remote', '--all-hosts', '--nova-config', conf, '-a', '10.77.0.61']);
      expect(r.code, r.stderr).toBe(0);
      await serve.waitForLog(() => serve.logs.filter((l) => l.msg === 'burst' && l.trigger === 'amqp-reannounce').length >= 2);
    });
    expect(all.get('10.77.0.61')).toBe(2);
  });
});
