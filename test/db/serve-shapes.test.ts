import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_SHAPES, migrateToShape, type AnyShape } from '../../migrations/index.js';
import { openNovaDb } from '../../src/nova/db-connection.js';
import { parseDatabaseUrl } from '../../src/nova/database-url.js';
import { networkRow } from '../../tools/seed/nova-rows.js';
import { controlRequest } from '../../src/sidecar/control-client.js';
import { createTestDatabase, missingMysql, stopTestServer, type TestDatabase } from '../helpers/mysql.js';
import { missingRoot, requirement } from '../helpers/requirements.js';
import { createSidecarLab, type SidecarLab } from '../helpers/sidecar-fixture.js';
import type { TcpRelay } from '../../tools/netns/tcp-relay.js';
import { waitFor } from '../helpers/wait-for.js';

/**
 * A real `nova-garp serve` (in the lab's sender namespace, the database reached through a relay)
 * on a database of every shape: it reads exactly this host's targets from that release's tables,
 * and the hook announces the bound ones.
 */

const enabled = requirement('nova-garp serve on every database shape', missingRoot() ?? (await missingMysql()));
const HOST = 'nethost1';

interface Status {
  inventory: { source: string | null; targets: Array<{ kind: string; address: string; interface: string; bound: boolean }>; skipped: Array<{ source: string }> };
}

describe.runIf(enabled)('nova-garp serve on every shape (real MariaDB, network namespaces)', () => {
  let lab: SidecarLab;
  let relay: TcpRelay;
  const dbs: TestDatabase[] = [];

  beforeAll(async () => {
    lab = await createSidecarLab();
    // The same server the test databases are on, relayed into the sender namespace.
    const probe = parseDatabaseUrl((await createProbe()).url);
    relay = await lab.relay(probe.host, probe.port);
    // The routing source IP, bound as nova.conf says.
    await lab.pair.group.ip(lab.pair.sender, 'addr', 'add', '10.77.0.1/32', 'dev', lab.pair.senderIf);
  });

  afterAll(async () => {
    await lab?.cleanup();
    for (const d of dbs) await d.drop().catch(() => undefined);
    await stopTestServer();
  });

  async function createProbe(): Promise<TestDatabase> {
    const t = await createTestDatabase('serveprobe');
    dbs.push(t);
    return t;
  }

  ALL_SHAPES.forEach((shape: AnyShape, i) => {
    it(`${shape}: reads exactly this host's targets and announces the bound ones on the hook`, async () => {
      const t = await createTestDatabase(`serve${shape}`);
      dbs.push(t);
      const integer = shape === 'grizzly' || shape === 'newton';
      const multiHost = shape !== 'cactus';
      const iface = shape === 'folsom' || shape === 'grizzly' || shape === 'newton';
      const dhcp = shape === 'newton';
      const net = `10.77.${10 + i}`;
      const live = integer ? 0 : false;
      const h = openNovaDb(parseDatabaseUrl(t.url), { connectTimeoutMs: 5000, readOnly: false });
      try {
        await migrateToShape(h.db, shape);
        const spec = (id: number, host: string, over: Record<string, unknown> = {}) => ({
          id,
          vlan: 200 + id,
          net,
          bridge: lab.pair.senderIf,
          gateway: `${net}.${id}`,
          gatewayV6: null,
          host,
          deleted: false,
          projectId: 'p',
          vpnPort: 2000 + id,
          uuid: `00000000-0000-4000-8000-0000000000${10 + id}`,
          multiHost: false,
          dhcpServer: null,
          ...over,
        });
        const rows = [networkRow(spec(1, HOST, dhcp ? { dhcpServer: `${net}.2` } : {}), shape, null), networkRow(spec(3, 'other-host'), shape, null), networkRow(spec(4, HOST, { deleted: true }), shape, null)];
        if (multiHost) rows.push(networkRow(spec(5, HOST, { multiHost: true }), shape, null));
        // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the shape's own columns
        await h.db.insertInto('networks').values(rows as any).execute();
        // eslint-disable-next-line @typescript-eslint/no-explicit-any -- as above
        await h.db.insertInto('fixed_ips').values([1, 2, 3].map((id) => ({ id, deleted: live, address: `10.99.0.${id}`, network_id: 1, allocated: true, leased: true, reserved: false })) as any).execute();
        const fip = (id: number, fixed: number | null, host: string, deleted = false): Record<string, unknown> => ({
          id,
          deleted: deleted ? (integer ? id : true) : live,
          address: `${net}.${100 + id}`,
          fixed_ip_id: fixed,
          host,
          ...(multiHost ? { auto_assigned: false } : {}),
          ...(iface ? { pool: 'nova', interface: 'eth9' } : {}),
        });
        // eslint-disable-next-line @typescript-eslint/no-explicit-any -- as above
        await h.db.insertInto('floating_ips').values([fip(1, 1, HOST), fip(2, 2, HOST), fip(3, null, HOST), fip(4, 3, HOST, true), fip(5, 3, 'other-host')] as any).execute();
      } finally {
        await h.close();
      }
      // Bound: the gateway (and Juno's dhcp_server) and the first floating IP; the second is not.
      const bound = [`${net}.1`, `${net}.101`, ...(dhcp ? [`${net}.2`] : [])];
      for (const a of bound) await lab.pair.group.ip(lab.pair.sender, 'addr', 'add', `${a}/32`, 'dev', lab.pair.senderIf);

      const u = parseDatabaseUrl(t.url);
      const url = `mysql://${encodeURIComponent(u.user)}${u.password ? `:${encodeURIComponent(u.password)}` : ''}@${lab.mgmtIp}:${relay.port}/${u.database}`;
      const flagfile = shape === 'cactus' || shape === 'diablo';
      const conf = flagfile
        ? `--host=${HOST}\n--public_interface=${lab.pair.senderIf}\n--routing_source_ip=10.77.0.1\n--sql_connection=${url}\n`
        : `[DEFAULT]\nhost = ${HOST}\npublic_interface = ${lab.pair.senderIf}\nrouting_source_ip = 10.77.0.1\n[database]\nconnection = ${url.replace('mysql://', 'mysql+pymysql://')}?charset=utf8\n`;
      // No snapshot from the previous shape's run: this run's inventory comes from its database.
      await rm(lab.stateDir, { recursive: true, force: true });
      const serve = await lab.startServe(['--no-amqp', '--announce-on-start', 'no'], conf);
      try {
        await serve.waitForLog((l) => l.msg === 'ready');
        const status = await waitFor(
          async () => {
            const s = (await controlRequest(lab.socket, 'GET', '/v1/status')).body as Status;
            return s.inventory.source === 'db' ? s : null;
          },
          { what: 'the inventory read from the database in /v1/status' },
        );
        const dev = lab.pair.senderIf;
        expect(status.inventory.targets.map(({ kind, address, interface: i, bound: b }) => ({ kind, address, interface: i, bound: b }))).toEqual([
          { kind: 'routing_source', address: '10.77.0.1', interface: dev, bound: true },
          // Juno on: nova binds dhcp_server on the bridge, and a gateway that differs is outside.
          dhcp ? { kind: 'gateway', address: `${net}.2`, interface: dev, bound: true } : { kind: 'gateway', address: `${net}.1`, interface: dev, bound: true },
          { kind: 'floating', address: `${net}.101`, interface: dev, bound: true },
          { kind: 'floating', address: `${net}.102`, interface: dev, bound: false },
        ]);
        expect(status.inventory.skipped.map((s) => s.source)).toEqual([...(dhcp ? ['networks.id=1 gateway'] : []), ...(multiHost ? ['networks.id=5'] : [])]);

        const hook = await controlRequest(lab.socket, 'POST', '/v1/events', { event: 'nova-network-started', host: HOST, manager: 'VlanManager', pid: 1 });
        expect(hook.status).toBe(202);
        const burst = await serve.waitForLog((l) => l.msg === 'burst' && l.trigger === 'hook');
        expect(burst).toMatchObject({ targets: 4, announced: 3, notBound: 1 });
      } finally {
        expect(await serve.stop()).toBe(0);
        for (const a of bound) await lab.pair.group.ip(lab.pair.sender, 'addr', 'del', `${a}/32`, 'dev', lab.pair.senderIf);
      }
    }, 60_000);
  });
});
