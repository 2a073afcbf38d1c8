import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { missingRoot, requirement } from '../helpers/requirements.js';
import { createSidecarLab, type SidecarLab, type ServeProcess } from '../helpers/sidecar-fixture.js';
import { neighbourMac, OLD_MAC, staleEntry } from '../helpers/pair.js';
import { controlRequest } from '../../src/sidecar/control-client.js';
import type { VerificationReport } from '../../src/verify/verifier.js';
import { Capture } from '../../tools/capture/tcpdump.js';
import { parseArpFrame } from '../../src/frames/arp-frame.js';
import { waitFor, waitForFrames, waitForLogSince } from '../helpers/wait-for.js';

const enabled = requirement('verification through the upstream router', missingRoot());
const HOST = 'nethost1';
const FLOATING = Array.from({ length: 20 }, (_, i) => `10.77.0.${100 + i}`);

interface Status {
  verification: VerificationReport | null;
  conflicts: unknown[];
}

const status = async (lab: SidecarLab): Promise<Status> => (await controlRequest(lab.socket, 'GET', '/v1/status')).body as Status;

/** The hook, then the verification report that follows it (a new one, not the last run's). */
async function hookAndReport(lab: SidecarLab, timeoutMs: number): Promise<{ report: VerificationReport; t0: number }> {
  const before = (await status(lab)).verification?.startedAt ?? null;
  const t0 = Date.now();
  expect((await controlRequest(lab.socket, 'POST', '/v1/events', { event: 'nova-network-started', host: HOST })).status).toBe(202);
  const report = await waitFor(async () => {
      const v = (await status(lab)).verification;
      return v !== null && v.startedAt !== before ? v : null;
    }, { what: 'verification report', timeoutMs });
  return { report, t0 };
}

/** No --upstream: the router comes from the sender's default route. */
describe.runIf(enabled)('verification and escalation through the upstream router', () => {
  let lab: SidecarLab;
  let serve: ServeProcess;

  beforeAll(async () => {
    lab = await createSidecarLab();
    const { pair } = lab;
    const g = pair.group;
    await g.ip(pair.sender, 'route', 'add', 'default', 'via', '10.77.0.254', 'dev', pair.senderIf);
    // A router that ignores gratuitous ARP (request and reply forms).
    for (const k of ['all', pair.routerIf]) await g.exec(pair.router, ['sysctl', '-qw', `net.ipv4.conf.${k}.drop_gratuitous_arp=1`]);
    const inventory = join(lab.dir, 'inventory.json');
    await writeFile(inventory, JSON.stringify({ targets: FLOATING.map((address) => ({ kind: 'floating', address, interface: pair.senderIf })) }));
    for (const a of FLOATING) {
      await g.ip(pair.sender, 'addr', 'add', `${a}/32`, 'dev', pair.senderIf);
      await staleEntry(pair, a);
    }
    serve = await lab.startServe(['--no-amqp', '--inventory', inventory, '--announce-on-start', 'no', '--coalesce-ms', '0'], `[DEFAULT]\nhost = ${HOST}\npublic_interface = ${pair.senderIf}\nrouting_source_ip = 10.77.0.1\n`);
    await serve.waitForLog((l) => l.msg === 'ready');
  });

  afterAll(async () => {
    await lab?.cleanup();
  });

  it('behind a router that drops GARP, converges every stale entry through escalation before the deadline, 0 unverified', async () => {
    // Stale, as after a takeover (whatever the tests before left in the router's table).
    for (const a of FLOATING) await staleEntry(lab.pair, a);
    for (const a of FLOATING) expect(await neighbourMac(lab.pair, a)).toBe(OLD_MAC);
    // Verified before the verifier's 4 s deadline, or the report would say unverified. How fast
    // (msUntilAllVerified) is printed, not asserted: a loaded machine stretches it.
    const since = serve.logs.length;
    const { report, t0 } = await hookAndReport(lab, 8000);
    console.log(`verification behind a GARP-dropping router: report ${Date.now() - t0} ms after the hook; all verified ${report.msUntilAllVerified} ms after the trigger; escalated ${report.escalated}`);
    expect(report).toMatchObject({ addresses: 20, verified: 20, unverified: 0, unverifiedAddresses: [] });
    // Not always all 20: resolving the router's MAC for the first echo, the sender's kernel asks
    // with that echo's source address, and the router learns that one address from the question.
    expect(report.escalated).toBeGreaterThanOrEqual(19);
    expect(report.msUntilAllVerified).not.toBeNull();
    // The router's table is the judge.
    for (const a of FLOATING) expect(await neighbourMac(lab.pair, a)).toBe(lab.pair.senderMac);
    await waitForLogSince(serve, since, (l) => l.msg === 'verification' && l.verified === 20, { what: "the 'verification' log line" });
  });

  it('with the router already right, verifies without escalation traffic', async () => {
    // Right, whatever the tests before left: every entry already points at the sender, and the
    // sender knows the router's MAC (else its kernel asks for it, from a floating IP, at the first echo).
    const { group, router, routerIf, sender, senderIf, senderMac } = lab.pair;
    for (const a of FLOATING) await group.ip(router, 'neigh', 'replace', a, 'lladdr', senderMac, 'dev', routerIf, 'nud', 'reachable');
    const routerMac = (await group.exec(router, ['cat', `/sys/class/net/${routerIf}/address`])).trim();
    await group.ip(sender, 'neigh', 'replace', '10.77.0.254', 'lladdr', routerMac, 'dev', senderIf, 'nud', 'reachable');
    const cap = await Capture.start(lab.pair.router, lab.pair.routerIf, `arp and ether src ${lab.pair.senderMac}`);
    const { report } = await hookAndReport(lab, 8000);
    // The round's GARPs went out before the echoes that verified them: all in the capture.
    await waitForFrames(cap, (fs) => fs.filter((f) => { const p = parseArpFrame(f.data); return p !== null && p.senderIp === p.targetIp; }).length >= 20, { what: "the round's 20 GARPs at the router" });
    const { frames } = await cap.stop();
    expect(report).toMatchObject({ addresses: 20, verified: 20, escalated: 0, unverified: 0 });
    // The capture as judge: no broadcast request from a floating IP to the router (escalation's
    // first frame); the round's GARPs (sender IP = target IP) are there.
    const arps = frames.map((f) => parseArpFrame(f.data)).filter((p) => p !== null);
    expect(arps.filter((p) => p.ethDst === 'ff:ff:ff:ff:ff:ff' && p.op === 1 && p.targetIp === '10.77.0.254' && FLOATING.includes(p.senderIp))).toEqual([]);
    expect(arps.filter((p) => p.senderIp === p.targetIp).length).toBeGreaterThanOrEqual(20);
  });

  it('with a silent router, reports every address unverified with a reason, and keeps serving', async () => {
    await lab.pair.group.exec(lab.pair.router, ['sysctl', '-qw', 'net.ipv4.icmp_echo_ignore_all=1']);
    try {
      const { report } = await hookAndReport(lab, 8000);
      expect(report).toMatchObject({ addresses: 20, verified: 0, unverified: 20, escalated: 20 });
      expect(report.unverifiedAddresses[0]!.reason).toMatch(/no echo reply/);
      await serve.waitForLog((l) => l.msg === 'verification: some addresses not verified through the router' && l.unverified === 20);
      expect(serve.child.exitCode).toBeNull();
      expect((await controlRequest(lab.socket, 'GET', '/healthz')).status).toBe(200);
    } finally {
      await lab.pair.group.exec(lab.pair.router, ['sysctl', '-qw', 'net.ipv4.icmp_echo_ignore_all=0']);
    }
  });
});
