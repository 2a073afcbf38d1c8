import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Channel, ChannelModel } from 'amqplib';
import mysql from 'mysql2/promise';
import { migrateToShape } from '../../migrations/index.js';
import { openNovaDb } from '../../src/nova/db-connection.js';
import { parseDatabaseUrl } from '../../src/nova/database-url.js';
import { missingRoot, requirement } from '../helpers/requirements.js';
import { callHook as pythonHook } from '../../tools/serve/hook.js';
import { createTestDatabase, missingMysql, type TestDatabase } from '../helpers/mysql.js';
import { broker, connect, missingBroker, uniqueExchange } from '../helpers/rabbitmq.js';
import { createSidecarLab, type SidecarLab, type ServeProcess } from '../helpers/sidecar-fixture.js';
import { neighbourMac, staleEntry } from '../helpers/pair.js';
import type { TcpRelay } from '../../tools/netns/tcp-relay.js';
import { waitFor } from '../helpers/wait-for.js';
import { controlRequest } from '../../src/sidecar/control-client.js';

/**
 * The orders of events that left addresses dark, with the real kernel, MariaDB and RabbitMQ: the
 * router's neighbour table is the judge (its entries start stale, pointing at the old primary).
 */

const enabled = requirement('sidecar fault tests', missingRoot() ?? (await missingMysql()) ?? (await missingBroker()));
const HOST = 'nethost1';

describe.runIf(enabled)('nova-garp serve under faults (kernel, MariaDB, RabbitMQ)', () => {
  let lab: SidecarLab;
  let db: TestDatabase;
  let dbRelay: TcpRelay;
  let serve: ServeProcess | null = null;
  let conn: mysql.Connection;

  beforeEach(async () => {
    lab = await createSidecarLab();
    db = await createTestDatabase('faults');
    const h = openNovaDb(parseDatabaseUrl(db.url), { connectTimeoutMs: 5000, readOnly: false });
    try {
      await migrateToShape(h.db, 'newton');
    } finally {
      await h.close();
    }
    conn = await mysql.createConnection(db.url);
    const u = new URL(db.url);
    dbRelay = await lab.relay(u.hostname, Number(u.port || 3306));
  });

  afterEach(async () => {
    await serve?.stop();
    serve = null;
    await conn?.end().catch(() => undefined);
    await lab?.cleanup();
    await db?.drop();
  });

  const novaConf = (defaults = '', sections = ''): string => {
    const u = new URL(db.url);
    const cred = `${u.username || 'root'}${u.password === '' ? '' : `:${u.password}`}`;
    return `[DEFAULT]\nhost = ${HOST}\npublic_interface = ${lab.pair.senderIf}\nrouting_source_ip = 10.77.0.1\n${defaults}[database]\nconnection = mysql://${cred}@${lab.mgmtIp}:${dbRelay.port}${u.pathname}\n${sections}`;
  };

  const floatingIps = (n: number, third = 1): string[] => Array.from({ length: n }, (_, i) => `10.77.${third}.${i + 10}`);

  async function associateRows(addresses: string[], iface: string | null = null): Promise<void> {
    for (const a of addresses) await conn.query('INSERT INTO floating_ips (address, fixed_ip_id, host, interface, deleted) VALUES (?, 1, ?, ?, 0)', [a, HOST, iface]);
  }

  /** The router believes the old primary holds them (stale entries first, as after a takeover), then nova binds them here. */
  async function bindAndStale(addresses: string[]): Promise<void> {
    for (const a of addresses) await staleEntry(lab.pair, a);
    const file = join(lab.dir, `bind-${addresses[0]}.batch`);
    await writeFile(file, addresses.map((a) => `addr add ${a}/32 dev ${lab.pair.senderIf}`).join('\n') + '\n');
    await lab.pair.group.ip(lab.pair.sender, '-batch', file);
  }

  const allMoved = (addresses: string[]) => async (): Promise<boolean> => {
    for (const a of addresses) if ((await neighbourMac(lab.pair, a)) !== lab.pair.senderMac) return false;
    return true;
  };

  it('no snapshot, hook within 50 ms of the socket appearing: every bound target is announced', async () => {
    const fips = floatingIps(20);
    await associateRows(fips);
    await bindAndStale(fips);
    serve = await lab.startServe(['--no-amqp', '--announce-on-start', 'no'], novaConf());
    await waitFor(async () => (await stat(lab.socket).catch(() => null)) !== null, { what: 'the control socket', timeoutMs: 15_000, everyMs: 2 });
    // How fast the hook is answered is bench/sidecar's figure; here, that it is answered.
    expect(await pythonHook(lab.socket, HOST)).toMatch(/True|202|accepted/i);
    await waitFor(allMoved(fips), { what: 'router entries moved', everyMs: 50 });
    const hook = await serve.waitForLog((l) => l.msg === 'burst' && l.trigger === 'hook');
    expect(hook).toBeDefined();
  });

  it('no snapshot, database unreachable at the hook and back after failed retries: announced with no second hook', async () => {
    const fips = floatingIps(10, 2);
    await associateRows(fips);
    await bindAndStale(fips);
    dbRelay.cut();
    serve = await lab.startServe(['--no-amqp', '--announce-on-start', 'no', '--db-timeout-ms', '500'], novaConf());
    await serve.waitForLog((l) => l.msg === 'ready');
    await pythonHook(lab.socket, HOST);
    await serve.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('database unavailable'));
    expect(await allMoved(fips)()).toBe(false);
    // The outage lasts past the hook's read and a retry after it: the sidecar is in its backoff loop.
    await waitFor(async () => ((await controlRequest(lab.socket, 'GET', '/v1/status')).body as { database: { failures: number } }).database.failures >= 2, {
      what: 'two failed database reads',
    });
    dbRelay.restore();
    // How long the recovery takes is bench/faults' figure ("database back → first / last"); here, that it comes.
    await waitFor(allMoved(fips), { what: 'router entries moved after the database came back', timeoutMs: 15_000, everyMs: 50 });
    expect(serve.logs.filter((l) => l.msg === 'nova-network started')).toHaveLength(1);
  });

  describe('with RabbitMQ', () => {
    let amqp: ChannelModel;
    let ch: Channel;
    let amqpRelay: TcpRelay;
    const exchange = uniqueExchange();

    beforeEach(async () => {
      const b = await broker();
      amqpRelay = await lab.relay(b.host, b.port);
      amqp = await connect();
      ch = await amqp.createChannel();
      await ch.assertExchange(exchange, 'topic', { durable: false, autoDelete: false });
    });

    afterEach(async () => {
      await ch?.deleteExchange(exchange).catch(() => undefined);
      await amqp?.close().catch(() => undefined);
    });

    const amqpConf = (): string => novaConf(`control_exchange = ${exchange}\n`, `[oslo_messaging_rabbit]\nrabbit_host = ${lab.mgmtIp}\nrabbit_port = ${amqpRelay.port}\n`);

    it('broker gone while a floating IP is associated (row written, call cast) and bound: announced once it is back', async () => {
      serve = await lab.startServe(['--announce-on-start', 'no'], amqpConf());
      await serve.waitForLog((l) => l.msg === 'RabbitMQ connected');
      amqpRelay.cut();
      await serve.waitForLog((l) => l.msg === 'RabbitMQ unavailable; retrying');
      const [fip] = floatingIps(1, 3);
      await associateRows([fip!]);
      // The cast goes to nova's topic; the sidecar's own queue is gone with its connection.
      ch.publish(exchange, `network.${HOST}`, Buffer.from(JSON.stringify({ method: 'associate_floating_ip', args: { floating_address: fip, fixed_address: '10.0.0.3' } })));
      await bindAndStale([fip!]);
      amqpRelay.restore();
      await serve.waitForLog((l) => l.msg === 'RabbitMQ connected' && serve!.logs.indexOf(l) > serve!.logs.findIndex((x) => x.msg === 'RabbitMQ unavailable; retrying'), 40_000);
      await waitFor(allMoved([fip!]), { what: 'router entry moved', everyMs: 50 });
      // Found by the re-read after the reconnect, or already by the lookup its unknown bind started.
      expect(serve.logs.some((l) => l.msg === 'inventory read from database' && (l.reason === 'RabbitMQ connected' || String(l.reason).startsWith('unknown address')))).toBe(true);
    });

    it('an association naming another interface than public_interface is announced on public_interface', async () => {
      serve = await lab.startServe(['--announce-on-start', 'no'], amqpConf());
      await serve.waitForLog((l) => l.msg === 'RabbitMQ connected');
      const [fip] = floatingIps(1, 4);
      const inner = { method: '_associate_floating_ip', args: { floating_address: fip, fixed_address: '10.0.0.4', interface: 'eth1', instance_uuid: 'u' }, version: '1.6' };
      ch.publish(exchange, `network.${HOST}`, Buffer.from(JSON.stringify({ 'oslo.version': '2.0', 'oslo.message': JSON.stringify(inner) })));
      const learnt = await serve.waitForLog((l) => l.msg === 'floating IP associated' && l.address === fip);
      expect(learnt.interface).toBe(lab.pair.senderIf);
      await bindAndStale([fip!]);
      await waitFor(allMoved([fip!]), { what: 'router entry moved', everyMs: 50 });
    });
  });
});
