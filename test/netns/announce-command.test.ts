import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { missingRoot, requirement } from '../helpers/requirements.js';
import { createPair, neighbourMac, staleEntry, OLD_MAC, type Pair } from '../helpers/pair.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { waitForFrames } from '../helpers/wait-for.js';
import { Capture } from '../../tools/capture/tcpdump.js';
import { classifyArp, parseArpFrame } from '../../src/frames/arp-frame.js';
import { parseNeighborAdvert } from '../../src/frames/neighbor-advert.js';
import { listNamespaces } from '../../tools/netns/namespaces.js';

const enabled = requirement('announce namespace tests', missingRoot());

describe.runIf(enabled)('nova-garp announce on the wire', () => {
  let p: Pair;
  beforeAll(async () => {
    p = await createPair();
  });
  afterAll(async () => {
    await p?.group.cleanup();
    expect(listNamespaces(p.group.prefix)).toEqual([]);
  });

  const bind = (addr: string): Promise<string> =>
    p.group.ip(p.sender, 'addr', 'add', addr.includes(':') ? `${addr}/128` : `${addr}/32`, 'dev', p.senderIf, ...(addr.includes(':') ? ['nodad'] : []));

  /**
   * `listening` resolves once a line-buffered tcpdump on the router's link is capturing; `seen`
   * when it has shown an ARP frame from `address`.
   */
  function firstFrameFrom(address: string, timeoutMs = 20_000): { listening: Promise<void>; seen: Promise<void> } {
    const child = spawn('ip', ['netns', 'exec', p.router, 'tcpdump', '-l', '-n', '-i', p.routerIf, 'arp'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const listening = new Promise<void>((resolve) => createInterface({ input: child.stderr! }).on('line', (l) => l.includes('listening on') && resolve()));
    const seen = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill();
        reject(new Error(`no ARP frame from ${address} within ${timeoutMs} ms`));
      }, timeoutMs);
      createInterface({ input: child.stdout! }).on('line', (line) => {
        if (!line.includes(` ${address} `) && !line.endsWith(` ${address}`) && !line.includes(`tell ${address}`)) return;
        clearTimeout(timer);
        child.kill();
        resolve();
      });
    });
    return { listening, seen };
  }

  /** Frames nova-garp put on the router's link: ARP from the sender's MAC, NAs naming it. */
  const ours = (frames: Uint8Array[]): Uint8Array[] =>
    frames.filter((f) => parseArpFrame(f)?.ethSrc === p.senderMac || parseNeighborAdvert(f)?.targetLinkLayer === p.senderMac);

  /**
   * Runs `nova-garp announce ... --json` with the router's link captured, and stops the capture
   * once it holds every frame the command says it sent (not after a fixed sleep).
   */
  async function capture(fn: () => Promise<CliResult>): Promise<{ result: CliResult; frames: Uint8Array[] }> {
    const cap = await Capture.start(p.router, p.routerIf, 'arp or icmp6');
    const result = await fn();
    const sent = (JSON.parse(result.stdout) as { frames: number }).frames;
    await waitForFrames(cap, (fs) => ours(fs.map((f) => f.data)).length >= sent, { what: `the ${sent} frames nova-garp announce sent, at the router` });
    const stats = await cap.stop();
    expect(stats.droppedByKernel).toBe(0);
    return { result, frames: stats.frames.map((f) => f.data) };
  }

  it('moves a router neighbour entry from the old MAC to the sender after one announce (both forms)', async () => {
    await staleEntry(p, '10.77.0.10');
    await bind('10.77.0.10');
    expect(await neighbourMac(p, '10.77.0.10')).toBe(OLD_MAC);
    const r = await runCli(p.sender, ['announce', '-i', p.senderIf, '-a', '10.77.0.10', '--rounds', '1', '--json']);
    expect(r.stderr).toMatch(/locktime/); // one round is allowed, and warned about
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ interface: p.senderIf, announced: 1, skipped: [], frames: 2, rounds: 1 });
    expect(out.firstRoundMs).toBeGreaterThan(0);
    expect(await neighbourMac(p, '10.77.0.10')).toBe(p.senderMac);
  });

  for (const form of ['request', 'reply'] as const) {
    it(`updates the router with the ${form} form alone`, async () => {
      const addr = form === 'request' ? '10.77.0.11' : '10.77.0.12';
      await bind(addr);
      await staleEntry(p, addr);
      const { result, frames } = await capture(() => runCli(p.sender, ['announce', '-i', p.senderIf, '-a', addr, '--rounds', '1', '--form', form, '--json']));
      expect(result.code).toBe(0);
      const kinds = frames.map((f) => parseArpFrame(f)).filter((x) => x !== null && x.senderIp === addr).map((x) => classifyArp(x!));
      expect(kinds).toEqual([form === 'request' ? 'garp-request' : 'garp-reply']);
      expect(await neighbourMac(p, addr)).toBe(p.senderMac);
    });
  }

  it('never puts an unbound address on the wire, and says why (exit 3)', async () => {
    await bind('10.77.0.20');
    const { result, frames } = await capture(() =>
      runCli(p.sender, ['announce', '-i', p.senderIf, '-a', '10.77.0.20', '-a', '10.77.0.21', '-a', '2001:db8:77::21', '--rounds', '1', '--json']),
    );
    expect(result.code).toBe(3);
    const out = JSON.parse(result.stdout);
    expect(out.announced).toBe(1);
    expect(out.skipped).toEqual([
      { address: '10.77.0.21', reason: `not bound on ${p.senderIf}` },
      { address: '2001:db8:77::21', reason: `not bound on ${p.senderIf}` },
    ]);
    const senders = frames.map((f) => parseArpFrame(f)?.senderIp ?? parseNeighborAdvert(f)?.target).filter((x) => x !== undefined);
    expect(senders).toContain('10.77.0.20');
    expect(senders).not.toContain('10.77.0.21');
    expect(senders).not.toContain('2001:db8:77::21');
  });

  it('puts both forms and the directed request on the wire, breadth-first', async () => {
    const addrs = ['10.77.0.31', '10.77.0.32', '10.77.0.33'];
    for (const a of addrs) await bind(a);
    const { result, frames } = await capture(() =>
      runCli(p.sender, ['announce', '-i', p.senderIf, ...addrs.flatMap((a) => ['-a', a]), '--rounds', '1', '--upstream', '10.77.0.254', '--json']),
    );
    expect(result.code).toBe(0);
    const seen = frames
      .map((f) => parseArpFrame(f))
      .filter((x) => x !== null && x.ethSrc === p.senderMac)
      .map((x) => `${classifyArp(x!)} ${x!.senderIp}${x!.targetIp !== x!.senderIp ? '>' + x!.targetIp : ''}`);
    expect(seen).toEqual([
      ...addrs.map((a) => `garp-request ${a}`),
      ...addrs.map((a) => `garp-reply ${a}`),
      ...addrs.map((a) => `directed-request ${a}>10.77.0.254`),
    ]);
  });

  it('updates an IPv6 neighbour entry with an unsolicited NA', async () => {
    const addr = '2001:db8:77::10';
    await bind(addr);
    await staleEntry(p, addr);
    const { result, frames } = await capture(() => runCli(p.sender, ['announce', '-i', p.senderIf, '-a', addr, '--rounds', '1', '--na-router', 'yes', '--json']));
    expect(result.code).toBe(0);
    const na = frames.map((f) => parseNeighborAdvert(f)).find((x) => x?.target === addr);
    expect(na).toMatchObject({ dst: 'ff02::1', hopLimit: 255, override: true, solicited: false, router: true, targetLinkLayer: p.senderMac, checksumValid: true });
    expect(await neighbourMac(p, addr)).toBe(p.senderMac);
  });

  it('repeats on schedule and drops an address that stops being bound', async () => {
    await bind('10.77.0.40');
    await bind('10.77.0.41');
    const { result, frames } = await capture(async () => {
      // Round 1 for .41 seen at the router, then .41 goes: rounds 2 and 3 must leave it out.
      const { listening, seen } = firstFrameFrom('10.77.0.41');
      await listening;
      const cli = runCli(p.sender, ['announce', '-i', p.senderIf, '-a', '10.77.0.40', '-a', '10.77.0.41', '--rounds', '3', '--interval-ms', '1500', '--form', 'request', '--json']);
      await seen;
      await p.group.ip(p.sender, 'addr', 'del', '10.77.0.41/32', 'dev', p.senderIf);
      return cli;
    });
    const out = JSON.parse(result.stdout);
    expect(out.rounds).toBe(3);
    expect(out.dropped).toEqual([{ address: '10.77.0.41', round: 2, reason: `not bound on ${p.senderIf}` }]);
    const count = (a: string): number => frames.filter((f) => parseArpFrame(f)?.senderIp === a && parseArpFrame(f)?.ethSrc === p.senderMac).length;
    expect(count('10.77.0.40')).toBe(3);
    expect(count('10.77.0.41')).toBe(1);
  });

  it('paces frames with --max-pps and states the budget first', async () => {
    const addrs = Array.from({ length: 8 }, (_, i) => `10.77.0.${50 + i}`);
    for (const a of addrs) await bind(a);
    const cap = await Capture.start(p.router, p.routerIf, `arp and ether src ${p.senderMac}`);
    const r = await runCli(p.sender, ['announce', '-i', p.senderIf, ...addrs.flatMap((a) => ['-a', a]), '--rounds', '1', '--form', 'request', '--max-pps', '20']);
    await waitForFrames(cap, (fs) => fs.length >= 8, { what: 'the 8 paced frames at the router' });
    const stats = await cap.stop();
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/pacing: at most 20 frames\/s .*round 1 \(8 frames\) takes 0\.35 s/);
    const times = stats.frames.map((f) => f.timeMs);
    expect(times.length).toBe(8);
    // 8 frames at 20/s: 7 gaps of 50 ms.
    expect(times[7]! - times[0]!).toBeGreaterThanOrEqual(330);
  });

  it('refuses usage errors with exit 2 and a clear message', async () => {
    const noIf = await runCli(p.sender, ['announce', '-i', 'nope0', '-a', '10.77.0.1']);
    expect(noIf.code).toBe(2);
    expect(noIf.stderr).toMatch(/no interface 'nope0'/);
    const bad = await runCli(p.sender, ['announce', '-i', p.senderIf, '-a', '10.77.0.999']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--address '10.77.0.999' is not an IP address; /);
    const flag = await runCli(p.sender, ['announce', '--bogus']);
    expect(flag.code).toBe(2);
    const help = await runCli(p.sender, ['announce', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--max-pps/);
  });

  it('says in one line that CAP_NET_RAW is missing', async () => {
    const r = await runCli(p.sender, ['announce', '-i', p.senderIf, '-a', '10.77.0.1'], {
      prefix: ['setpriv', '--bounding-set', '-net_raw', '--inh-caps', '-net_raw'],
    });
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toMatch(/^nova-garp announce: .*CAP_NET_RAW/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});
