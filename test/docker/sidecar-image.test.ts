import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missingRoot, requirement } from '../helpers/requirements.js';
import { OLD_MAC } from '../helpers/pair.js';
import { createTestDatabase, missingMysql, stopTestServer, type TestDatabase } from '../helpers/mysql.js';
import { migrateToShape } from '../../migrations/index.js';
import { openNovaDb } from '../../src/nova/db-connection.js';
import { parseDatabaseUrl } from '../../src/nova/database-url.js';
import { seedNova, type SeedSummary } from '../../tools/seed/seed.js';
import { NamespaceGroup, uniqueTag } from '../../tools/netns/namespaces.js';
import { run } from '../../src/shell.js';
import { waitFor } from '../helpers/wait-for.js';

/**
 * The sidecar image (docker/build-images) run as docker/Dockerfile's header says: host network,
 * every capability dropped but NET_RAW, nova.conf mounted read-only. It reads a Newton-shaped nova
 * database (the test MariaDB: a container of its own, or the machine's) over the host's network.
 * One end of a veth is the host's public interface; the other is in a router namespace that still
 * believes the routing source IP lives at an old MAC (the dead primary's). Once the sidecar has
 * read its inventory, the host takes the address over (binds it, as nova-network does at
 * failover); the container's announcement must move the router's entry.
 */
const IMAGE = 'nova-garp';
const exec = promisify(execFile);
const docker = async (...args: string[]): Promise<string> => (await exec('docker', args, { timeout: 60_000 })).stdout.trim();
/** The container's log (pino JSON lines go to stderr), both streams. */
async function containerLog(id: string): Promise<string> {
  const r = await exec('docker', ['logs', id], { timeout: 60_000 });
  return r.stdout + r.stderr;
}

async function missingImage(): Promise<string | null> {
  try {
    await docker('image', 'inspect', '--format', '{{.Id}}', IMAGE);
    return null;
  } catch (err) {
    const msg = (err as { stderr?: string }).stderr?.trim() || (err as Error).message;
    return `needs a Docker engine and image ${IMAGE} (docker/build-images): ${msg.split('\n')[0]}`;
  }
}

const enabled = requirement('sidecar container image', missingRoot() ?? (await missingImage()) ?? (await missingMysql()));
afterAll(stopTestServer);

describe.runIf(enabled)('the nova-garp container image', () => {
  const tag = uniqueTag();
  const group = new NamespaceGroup(`ngi${tag}-`);
  const hostIf = `ngih${tag}`; // in the root namespace, where --network host puts the container
  const routerIf = `ngir${tag}`;
  const address = `10.79.${Number.parseInt(tag.slice(0, 2), 16)}.1`;
  const routerAddress = address.replace(/\.1$/, '.2');
  let router: string;
  let dir: string;
  let container: string | undefined;
  let database: TestDatabase | undefined;
  let seed: SeedSummary;

  beforeAll(async () => {
    database = await createTestDatabase('image');
    const h = openNovaDb(parseDatabaseUrl(database.url), { connectTimeoutMs: 5000, readOnly: false });
    try {
      await migrateToShape(h.db, 'newton');
      seed = await seedNova(h.db, { host: 'imagehost', floatingIps: 6, networks: 2 });
    } finally {
      await h.close();
    }
    dir = await mkdtemp(join(tmpdir(), 'nova-garp-image-'));
    router = await group.add('rtr');
    await group.veth({ ns: null, name: hostIf }, { ns: router, name: routerIf });
    await group.ip(router, 'addr', 'add', `${routerAddress}/30`, 'dev', routerIf);
    await mkdir(join(dir, 'nova'));
    await mkdir(join(dir, 'run'));
    await mkdir(join(dir, 'state'));
    await writeFile(
      join(dir, 'nova', 'nova.conf'),
      `[DEFAULT]\nhost = imagehost\npublic_interface = ${hostIf}\nrouting_source_ip = ${address}\n` +
        `[database]\nconnection = ${database.url.replace('mysql://', 'mysql+pymysql://')}?charset=utf8\n`,
    );
  });

  afterAll(async () => {
    if (container !== undefined) {
      await docker('rm', '--force', container).catch((err: Error) => console.error(`docker rm ${container}: ${err.message}`));
      console.log(`[sidecar image] removed container ${container.slice(0, 12)}`);
    }
    await group.cleanup();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    await database?.drop();
  });

  it('runs with only NET_RAW on the host network and moves a router neighbour entry to the host MAC', async () => {
    const hostMac = (await readFile(`/sys/class/net/${hostIf}/address`, 'utf8')).trim();
    // The router still has the address at the old primary's MAC.
    await group.ip(router, 'neigh', 'replace', address, 'lladdr', OLD_MAC, 'dev', routerIf, 'nud', 'stale');
    const routerMac = async (): Promise<string | undefined> =>
      (JSON.parse(await group.ip(router, '-j', 'neigh', 'show', address, 'dev', routerIf)) as Array<{ lladdr?: string }>)[0]?.lladdr;
    expect(await routerMac()).toBe(OLD_MAC);

    const t0 = performance.now();
    container = await docker(
      'run', '--detach', '--name', `nova-garp-test-${tag}`, '--label', 'nova-garp.test=sidecar-image',
      '--network', 'host', '--cap-drop', 'ALL', '--cap-add', 'NET_RAW',
      '--volume', `${join(dir, 'nova')}:/etc/nova:ro`,
      '--volume', `${join(dir, 'run')}:/run/nova-garp`,
      '--volume', `${join(dir, 'state')}:/var/lib/nova-garp`,
      IMAGE, 'serve', '--nova-config', '/etc/nova/nova.conf', '--metrics-listen', 'off',
    );
    console.log(`[sidecar image] container ${container.slice(0, 12)} (${IMAGE}) started: --network host --cap-drop ALL --cap-add NET_RAW, nova.conf read-only`);

    // The inventory comes from nova's database: the routing source IP (not bound yet) and the
    // seeded host's floating IPs and gateways (never bound here: reported, never announced).
    const logLines = async (): Promise<Array<Record<string, unknown>>> =>
      (await containerLog(container!))
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    const fromDb = await waitFor(async () => (await logLines()).find((l) => l.msg === 'inventory read from database'), { what: 'inventory read from database', timeoutMs: 30_000, everyMs: 100 }).catch(async (err: Error) => {
      throw new Error(`${err.message}; container log:\n${await containerLog(container!).catch((e: Error) => e.message)}`);
    });
    expect(fromDb.targets).toBe(1 + seed.expected.floating + seed.expected.gateway + seed.expected.gatewayV6);

    // The takeover: the address appears on the host's interface.
    const bound = performance.now();
    await run(['ip', 'addr', 'add', `${address}/30`, 'dev', hostIf]);
    const moved = await waitFor(
      async () => {
        const mac = await routerMac();
        return mac === hostMac ? mac : undefined;
      },
      { what: `router entry for ${address} moves from ${OLD_MAC} to ${hostMac}`, timeoutMs: 10_000, everyMs: 100 },
    ).catch(async (err: Error) => {
      throw new Error(`${err.message}; container log:\n${await containerLog(container!).catch((e: Error) => e.message)}`);
    });
    expect(moved).toBe(hostMac);
    console.log(
      `[sidecar image] router ${routerIf}: ${address} moved from ${OLD_MAC} to ${hostMac} ` +
        `${((performance.now() - bound) / 1000).toFixed(2)} s after the bind (${((performance.now() - t0) / 1000).toFixed(1)} s after docker run)`,
    );
    const burst = await waitFor(async () => (await logLines()).find((l) => l.msg === 'burst' && l.trigger === 'address'), { what: 'burst log line', timeoutMs: 5_000, everyMs: 100 });
    expect(burst).toMatchObject({ announced: 1 });

    // As configured: only CAP_NET_RAW (bit 13) effective, nova.conf read-only, host network.
    const status = await docker('exec', container, 'cat', '/proc/1/status');
    expect(/^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1]).toBe('0000000000002000');
    const mounts = JSON.parse(await docker('inspect', '--format', '{{json .Mounts}}', container)) as Array<{ Destination: string; RW: boolean }>;
    expect(mounts.find((m) => m.Destination === '/etc/nova')?.RW).toBe(false);
    expect(await docker('inspect', '--format', '{{.HostConfig.NetworkMode}}', container)).toBe('host');
    expect(await docker('exec', container, 'node', '--version')).toMatch(/^v24\./);
    expect(await docker('inspect', '--format', '{{.State.Running}}', container)).toBe('true');
  }, 60_000);
});
