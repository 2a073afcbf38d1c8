/**
 * bench/faults, second part: how long the sidecar takes to heal after nova's database or the
 * broker comes back, with the real MariaDB and RabbitMQ reached through relays that can be cut.
 * A real `serve` in a namespace; frames timed by a capture at the receiver.
 *  - database down at the hook, back 3 s later: back → first and last frame of the N floating IPs;
 *  - broker down while a floating IP is associated (row written, cast lost) and bound: bind →
 *    first frame, and which path found it; broker back → reconnected.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import amqp from 'amqplib';
import mysql from 'mysql2/promise';
import { migrateToShape } from '../../migrations/index.js';
import { openNovaDb } from '../../src/nova/db-connection.js';
import { parseDatabaseUrl } from '../../src/nova/database-url.js';
import { NamespaceGroup, uniqueTag } from '../../tools/netns/namespaces.js';
import { TcpRelay } from '../../tools/netns/tcp-relay.js';
import { run } from '../../src/shell.js';
import { Capture } from '../../tools/capture/tcpdump.js';
import { parseArpFrame } from '../../src/frames/arp-frame.js';
import { controlRequest } from '../../src/sidecar/control-client.js';
import { ServeProcess } from '../../tools/serve/serve-process.js';
import { createDatabase } from '../../tools/seed/nova-rows.js';

const MYSQL = process.env.NOVA_GARP_BENCH_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/';
const AMQP = process.env.NOVA_GARP_BENCH_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672/';
const wallNow = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface RecoveryFigures {
  floatingIps: number;
  database: { backToFirstFrameMs: number; backToLastFrameMs: number; announced: number };
  broker: { bindToFirstFrameMs: number | null; foundBy: string; backToReconnectedMs: number | null };
}

export async function recovery(n = 20): Promise<RecoveryFigures> {
  const tag = uniqueTag();
  const group = new NamespaceGroup(`ngr${tag}-`);
  const dir = await mkdtemp(join(tmpdir(), 'nova-garp-bench-recovery-'));
  const dbName = `ngbench_${process.pid}_${tag}`;
  const admin = await mysql.createConnection(MYSQL);
  const relays: TcpRelay[] = [];
  let serve: ServeProcess | null = null;
  const exchange = `ngbench_${tag}`;
  const amqpConn = await amqp.connect(AMQP);
  try {
    const ch = await amqpConn.createChannel();
    await ch.assertExchange(exchange, 'topic', { durable: false, autoDelete: false });
    const dbUrl = new URL(dbName, MYSQL.endsWith('/') ? MYSQL : `${MYSQL}/`).toString();
    await createDatabase(parseDatabaseUrl(dbUrl), 5000);
    const h = openNovaDb(parseDatabaseUrl(dbUrl), { connectTimeoutMs: 5000, readOnly: false });
    await migrateToShape(h.db, 'newton').finally(() => h.close());
    const fips = Array.from({ length: n + 1 }, (_, i) => `10.203.1.${i + 10}`);
    const conn = await mysql.createConnection(dbUrl);
    for (const a of fips.slice(0, n)) await conn.query('INSERT INTO floating_ips (address, fixed_ip_id, host, deleted) VALUES (?, 1, ?, 0)', [a, 'bench']);

    const snd = await group.add('snd');
    const rcv = await group.add('rcv');
    const sIf = `ngrs${tag}`;
    await group.veth({ ns: snd, name: sIf }, { ns: rcv, name: `ngrr${tag}` });
    await group.ip(rcv, 'addr', 'add', '10.203.1.254/24', 'dev', `ngrr${tag}`);
    await group.veth({ ns: null, name: `ngrm${tag}` }, { ns: snd, name: `ngrn${tag}` });
    await run(['ip', 'addr', 'add', '10.203.0.1/30', 'dev', `ngrm${tag}`]);
    await group.ip(snd, 'addr', 'add', '10.203.0.2/30', 'dev', `ngrn${tag}`);
    const mac = (await group.exec(snd, ['cat', `/sys/class/net/${sIf}/address`])).trim();
    await group.batch(snd, fips.slice(0, n).map((a) => `addr add ${a}/32 dev ${sIf}`));
    const u = new URL(MYSQL);
    const a = new URL(AMQP);
    const dbRelay = await TcpRelay.start('10.203.0.1', { host: u.hostname, port: Number(u.port || 3306) });
    const amqpRelay = await TcpRelay.start('10.203.0.1', { host: a.hostname, port: Number(a.port || 5672) });
    relays.push(dbRelay, amqpRelay);
    const conf = join(dir, 'nova.conf');
    await writeFile(
      conf,
      `[DEFAULT]\nhost = bench\npublic_interface = ${sIf}\nrouting_source_ip = 10.203.1.1\ncontrol_exchange = ${exchange}\n` +
        `[database]\nconnection = mysql://${u.username || 'root'}@10.203.0.1:${dbRelay.port}/${dbName}\n` +
        `[oslo_messaging_rabbit]\nrabbit_host = 10.203.0.1\nrabbit_port = ${amqpRelay.port}\n`,
    );
    const socket = join(dir, 'control.sock');
    dbRelay.cut();
    serve = ServeProcess.spawn({
      netns: snd,
      args: ['--nova-config', conf, '--control-socket', socket, '--state-dir', join(dir, 'state'), '--metrics-listen', 'off', '--announce-on-start', 'no', '--db-timeout-ms', '500'],
    });
    const running = serve;
    /** The first log line from `after` on (receipt time, wall clock) that `pred` accepts. */
    const waitLog = async (pred: (l: Record<string, unknown>) => boolean, after = 0, timeoutMs = 30_000): Promise<Record<string, unknown> & { at: number }> => {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const i = running.logs.findIndex((l, k) => running.receivedAt[k]! >= after && pred(l));
        if (i >= 0) return { ...running.logs[i]!, at: running.receivedAt[i]! };
        if (Date.now() > until) throw new Error(`no such log line; last: ${running.tail(3)}`);
        await sleep(10);
      }
    };
    await waitLog((l) => l.msg === 'ready');

    // Database down at the hook, back 3 s later.
    const cap = await Capture.start(rcv, `ngrr${tag}`, `arp and ether src ${mac}`, 65536);
    await controlRequest(socket, 'POST', '/v1/events', { event: 'nova-network-started', host: 'bench' }, 5000);
    await sleep(3000);
    const back = wallNow();
    dbRelay.restore();
    await waitLog((l) => l.msg === 'inventory read from database', back);
    await sleep(500);
    const first = new Map<string, number>();
    for (const f of (await cap.stop()).frames) {
      const p = parseArpFrame(f.data);
      if (p !== null && f.timeMs >= back && !first.has(p.senderIp)) first.set(p.senderIp, f.timeMs);
    }
    const dbTimes = fips.slice(0, n).map((x) => first.get(x) ?? Infinity);
    const database = { backToFirstFrameMs: Math.min(...dbTimes) - back, backToLastFrameMs: Math.max(...dbTimes) - back, announced: dbTimes.filter(Number.isFinite).length };

    // Broker down while a floating IP is associated and bound.
    await waitLog((l) => l.msg === 'RabbitMQ connected');
    const cutAt = wallNow();
    amqpRelay.cut();
    await waitLog((l) => l.msg === 'RabbitMQ unavailable; retrying', cutAt);
    const spare = fips[n]!;
    await conn.query('INSERT INTO floating_ips (address, fixed_ip_id, host, deleted) VALUES (?, 1, ?, 0)', [spare, 'bench']);
    ch.publish(exchange, 'network.bench', Buffer.from(JSON.stringify({ method: 'associate_floating_ip', args: { floating_address: spare, fixed_address: '10.0.0.9' } })));
    const cap2 = await Capture.start(rcv, `ngrr${tag}`, `arp and ether src ${mac} and arp src host ${spare}`, 4096);
    const boundAt = wallNow();
    await group.ip(snd, 'addr', 'add', `${spare}/32`, 'dev', sIf);
    await sleep(1500);
    const restoreAt = wallNow();
    amqpRelay.restore();
    const reconnected = await waitLog((l) => l.msg === 'RabbitMQ connected', restoreAt, 40_000).catch(() => null);
    await sleep(500);
    const spareFrames = (await cap2.stop()).frames.map((f) => f.timeMs).sort((x, y) => x - y);
    const read = await waitLog((l) => l.msg === 'inventory read from database', boundAt, 0).catch(() => undefined);
    const broker = {
      bindToFirstFrameMs: spareFrames.length === 0 ? null : spareFrames[0]! - boundAt,
      foundBy: read === undefined ? 'not found' : String(read.reason),
      backToReconnectedMs: reconnected === null ? null : reconnected.at - restoreAt,
    };
    await conn.end();
    await ch.deleteExchange(exchange).catch(() => undefined);
    return { floatingIps: n, database, broker };
  } finally {
    await serve?.stop();
    for (const r of relays) await r.close().catch(() => undefined);
    await amqpConn.close().catch(() => undefined);
    await admin.query(`DROP DATABASE IF EXISTS \`${dbName}\``).catch(() => undefined);
    await admin.end();
    await group.cleanup();
    await rm(dir, { recursive: true, force: true });
  }
}
