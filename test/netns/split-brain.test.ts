import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { missingRoot, requirement } from '../helpers/requirements.js';
import { createSidecarLab, type SidecarLab, type ServeProcess } from '../helpers/sidecar-fixture.js';
import { OLD_MAC } from '../helpers/pair.js';
import { controlRequest } from '../../src/sidecar/control-client.js';
import { Capture } from '../../tools/capture/tcpdump.js';
import { parseArpFrame } from '../../src/frames/arp-frame.js';
import { waitFor, waitForFrames } from '../helpers/wait-for.js';

const enabled = requirement('split-brain detection tests', missingRoot());
const HOST = 'nethost1';
const ADDRESSES = ['10.77.0.80', '10.77.0.81', '10.77.0.82', '10.77.0.83', '10.77.0.84'];
const HELD_BY_OLD = '10.77.0.81';

interface Status {
  conflicts: Array<{ address: string; interface: string; mac: string; firstSeen: string; lastSeen: string; count: number }>;
}

/** Scrapes the sidecar's Prometheus endpoint from inside its namespace (it listens on loopback). */
async function scrape(lab: SidecarLab, port: number): Promise<string> {
  const code = `fetch('http://127.0.0.1:${port}/metrics').then(r => r.text()).then(t => process.stdout.write(t))`;
  return lab.pair.group.exec(lab.pair.sender, [process.execPath, '-e', code]);
}

const METRICS_PORT = 19471;
const NOVA_CONF = (lab: SidecarLab): string => `[DEFAULT]\nhost = ${HOST}\npublic_interface = ${lab.pair.senderIf}\nrouting_source_ip = 10.77.0.1\n`;

/**
 * Sender (nova-garp), router and an old primary that is still up, the three on one bridge in the
 * router namespace; the old primary keeps one floating IP bound under its own MAC.
 */
async function splitBrainLab(): Promise<{ lab: SidecarLab; old: string }> {
  const lab = await createSidecarLab();
  const { pair } = lab;
  const g = pair.group;
  const old = await g.add('old');
  const oldIf = `ngo${pair.tag}`;
  const brPort = `ngb${pair.tag}`;
  await g.veth({ ns: old, name: oldIf }, { ns: pair.router, name: brPort });
  await g.ip(pair.router, 'link', 'add', 'br0', 'type', 'bridge');
  await g.ip(pair.router, 'addr', 'del', '10.77.0.254/24', 'dev', pair.routerIf);
  for (const port of [pair.routerIf, brPort]) await g.ip(pair.router, 'link', 'set', port, 'master', 'br0');
  await g.ip(pair.router, 'addr', 'add', '10.77.0.254/24', 'dev', 'br0');
  await g.ip(pair.router, 'link', 'set', 'br0', 'up');
  await g.ip(old, 'link', 'set', oldIf, 'address', OLD_MAC);
  await g.ip(old, 'addr', 'add', `${HELD_BY_OLD}/24`, 'dev', oldIf);
  await writeFile(join(lab.dir, 'inventory.json'), JSON.stringify({ targets: ADDRESSES.map((address) => ({ kind: 'floating', address, interface: pair.senderIf })) }));
  for (const a of ADDRESSES) await g.ip(pair.sender, 'addr', 'add', `${a}/32`, 'dev', pair.senderIf);
  return { lab, old };
}

const hook = async (lab: SidecarLab): Promise<void> => {
  expect((await controlRequest(lab.socket, 'POST', '/v1/events', { event: 'nova-network-started', host: HOST })).status).toBe(202);
};

const conflictsNow = async (lab: SidecarLab): Promise<Status['conflicts']> => ((await controlRequest(lab.socket, 'GET', '/v1/status')).body as Status).conflicts;

describe.runIf(enabled)('split brain: the old primary still holds an address (--on-conflict defend)', () => {
  let lab: SidecarLab;
  let serve: ServeProcess;
  let old: string;

  beforeAll(async () => {
    ({ lab, old } = await splitBrainLab());
    serve = await lab.startServe(['--no-amqp', '--inventory', join(lab.dir, 'inventory.json'), '--announce-on-start', 'no', '--conflict-expire-s', '2', '--metrics-listen', `127.0.0.1:${METRICS_PORT}`], NOVA_CONF(lab));
    await serve.waitForLog((l) => l.msg === 'ready');
  });

  afterAll(async () => {
    await lab?.cleanup();
  });

  // One scenario, one test: the conflict, its defence (at most one per 10 s) and its clearing
  // follow from each other; split into tests they would depend on their order.
  it('reports only the address the old primary holds, with its MAC, defends it once, and clears it when the old primary lets go', async () => {
    const before = (await controlRequest(lab.socket, 'GET', '/v1/status')).body as Status;
    expect(before.conflicts).toEqual([]);
    const t0 = Date.now();
    const r = await controlRequest(lab.socket, 'POST', '/v1/events', { event: 'nova-network-started', host: HOST });
    expect(r.status).toBe(202);
    // How fast detection is gets printed, not asserted (a loaded machine stretches it).
    const conflicts = await waitFor(async () => {
      const s = (await controlRequest(lab.socket, 'GET', '/v1/status')).body as Status;
      return s.conflicts.length > 0 ? s.conflicts : null;
    }, { what: 'conflict reported', timeoutMs: 10_000 });
    console.log(`split brain: conflict in /v1/status ${Date.now() - t0} ms after the hook`);
    expect(conflicts).toHaveLength(1);
    expect(conflicts[0]).toMatchObject({ address: HELD_BY_OLD, interface: lab.pair.senderIf, mac: OLD_MAC });
    // Logged once at warn, and defended at most once per 10 s.
    const warned = await serve.waitForLog((l) => l.msg?.toString().startsWith('address conflict:') === true);
    expect(warned).toMatchObject({ level: 40, address: HELD_BY_OLD, mac: OLD_MAC });
    // The other addresses stay quiet a while longer: still only the one.
    await serve.waitForLog((l) => l.msg === 'address defended (one announcement; next no sooner than 10 s)');
    const again = (await controlRequest(lab.socket, 'GET', '/v1/status')).body as Status;
    expect(again.conflicts.map((c) => c.address)).toEqual([HELD_BY_OLD]);
    expect(serve.logs.filter((l) => String(l.msg).startsWith('address conflict:'))).toHaveLength(1);
    expect(serve.logs.filter((l) => String(l.msg).startsWith('address defended')).length).toBeLessThanOrEqual(1);
    expect(await scrape(lab, METRICS_PORT)).toMatch(/^nova_garp_conflicts 1$/m);
    await serve.waitForLog((l) => l.msg === 'conflict probes sent' && l.probes === ADDRESSES.length);

    // The old primary lets the address go: the conflict expires (--conflict-expire-s 2).
    await lab.pair.group.ip(old, 'addr', 'del', `${HELD_BY_OLD}/24`, 'dev', `ngo${lab.pair.tag}`);
    const t1 = Date.now();
    await waitFor(async () => (((await controlRequest(lab.socket, 'GET', '/v1/status')).body as Status).conflicts.length === 0 ? true : null), { what: 'conflict cleared', timeoutMs: 10_000 });
    console.log(`split brain: conflict cleared ${Date.now() - t1} ms after the old primary let go (expiry 2 s)`);
    await serve.waitForLog((l) => l.msg === 'address conflict cleared (not seen again)');
    expect(await scrape(lab, METRICS_PORT)).toMatch(/^nova_garp_conflicts 0$/m);
  });
});

describe.runIf(enabled)('split brain with --on-conflict alarm', () => {
  let lab: SidecarLab;
  let serve: ServeProcess;

  beforeAll(async () => {
    ({ lab } = await splitBrainLab());
    serve = await lab.startServe(['--no-amqp', '--inventory', join(lab.dir, 'inventory.json'), '--announce-on-start', 'no', '--on-conflict', 'alarm'], NOVA_CONF(lab));
    await serve.waitForLog((l) => l.msg === 'ready');
  });

  afterAll(async () => {
    await lab?.cleanup();
  });

  it('reports the conflict and sends no defence', async () => {
    await hook(lab);
    const conflicts = await waitFor(async () => {
      const c = await conflictsNow(lab);
      return c.length > 0 ? c : null;
    }, { what: 'conflict reported', timeoutMs: 10_000 });
    expect(conflicts.map((c) => [c.address, c.mac])).toEqual([[HELD_BY_OLD, OLD_MAC]]);
    await serve.waitForLog((l) => l.msg === 'conflict probes sent');
    expect(serve.logs.filter((l) => String(l.msg).startsWith('address defended'))).toEqual([]);
  });
});

describe.runIf(enabled)('split brain with --max-pps: probes wait for the rounds', () => {
  let lab: SidecarLab;
  let serve: ServeProcess;

  beforeAll(async () => {
    ({ lab } = await splitBrainLab());
    serve = await lab.startServe(['--no-amqp', '--inventory', join(lab.dir, 'inventory.json'), '--announce-on-start', 'no', '--max-pps', '200', '--on-conflict', 'alarm'], NOVA_CONF(lab));
    await serve.waitForLog((l) => l.msg === 'ready');
  });

  afterAll(async () => {
    await lab?.cleanup();
  });

  it('sends no probe before the last GARP of the schedule, and still finds the conflict', async () => {
    // alarm: no defending GARP, so every GARP on the wire is the schedule's.
    const cap = await Capture.start(lab.pair.router, lab.pair.routerIf, `arp and ether src ${lab.pair.senderMac}`);
    const t0 = Date.now();
    await hook(lab);
    const conflicts = await waitFor(async () => {
      const c = await conflictsNow(lab);
      return c.length > 0 ? c : null;
    }, { what: 'conflict reported', timeoutMs: 10_000 });
    console.log(`split brain with --max-pps 200: conflict in /v1/status ${Date.now() - t0} ms after the hook (probes wait for rounds 2 and 3)`);
    expect(conflicts.map((c) => c.address)).toEqual([HELD_BY_OLD]);
    await serve.waitForLog((l) => l.msg === 'conflict probes sent');
    // The probes were sent before that line: wait until the capture holds them all.
    await waitForFrames(cap, (fs) => fs.filter((f) => parseArpFrame(f.data)?.senderIp === '0.0.0.0').length >= ADDRESSES.length, { what: 'the conflict probes at the router' });
    const { frames } = await cap.stop();
    const arps = frames.map((f) => ({ t: f.timeMs, p: parseArpFrame(f.data) })).filter((x) => x.p !== null);
    const lastGarp = Math.max(...arps.filter((x) => x.p!.senderIp === x.p!.targetIp).map((x) => x.t));
    const probes = arps.filter((x) => x.p!.senderIp === '0.0.0.0').map((x) => x.t);
    expect(probes).toHaveLength(ADDRESSES.length);
    expect(Math.min(...probes)).toBeGreaterThan(lastGarp);
  });
});
