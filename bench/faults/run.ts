/**
 * bench/faults: the sidecar at the edges, measured with the kernel and a capture as judges.
 *
 * Storm: N addresses bound on one interface of a namespace, a real `nova-garp serve` holding them
 * as targets. Half are deleted in one `ip -batch`, the hook arrives 300 ms later, then the deleted
 * half is re-added in one batch. Judged by `ip -ts monitor address` in the sender's namespace (when
 * the kernel reported each deletion and each bind) and a capture at the receiver (when each frame
 * arrived):
 *  - frames for deleted addresses, and how many left 5 ms or more after the deletion was reported;
 *  - per re-added address, its bind → its first frame (p50 / p99 / max);
 *  - bursts the re-add became; /healthz's longest answer during it; peak RSS (VmHWM) of serve.
 * Baseline in the same run: nova's way, `arping -U -A -c 3` per address, serially (3 addresses).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { NamespaceGroup, uniqueTag } from '../../tools/netns/namespaces.js';
import { Capture } from '../../tools/capture/tcpdump.js';
import { parseArpFrame } from '../../src/frames/arp-frame.js';
import { controlRequest } from '../../src/sidecar/control-client.js';
import { run } from '../../src/shell.js';
import { fmtMs, progress, table, writeResult } from '../lib/report.js';
import { recovery } from './recovery.js';
import { ServeProcess } from '../../tools/serve/serve-process.js';

const N = Number(process.env.FAULTS_ADDRESSES ?? 10_000);
const addressOf = (i: number): string => `10.202.${i >> 8}.${i & 0xff}`;
const wallNow = (): number => performance.timeOrigin + performance.now();
const pct = (v: number[], p: number): number => {
  if (v.length === 0) return Number.NaN;
  const s = [...v].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

const EAR = fileURLToPath(new URL('./kernel-events.js', import.meta.url));

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench/faults needs root (network namespaces, raw sockets)');
  const tag = uniqueTag();
  const group = new NamespaceGroup(`ngf${tag}-`);
  const dir = await mkdtemp(join(tmpdir(), 'nova-garp-bench-faults-'));
  try {
    const snd = await group.add('snd');
    const rcv = await group.add('rcv');
    const sIf = `ngfs${tag}`;
    const rIf = `ngfr${tag}`;
    await group.veth({ ns: snd, name: sIf }, { ns: rcv, name: rIf });
    await group.ip(rcv, 'addr', 'add', '10.202.255.254/16', 'dev', rIf);
    const mac = (await group.exec(snd, ['cat', `/sys/class/net/${sIf}/address`])).trim();
    const all = Array.from({ length: N }, (_, i) => addressOf(i + 1));
    const half = all.filter((_, i) => i % 2 === 1);
    progress(`binding ${N} addresses on ${sIf}`);
    await group.batch(snd, all.map((a) => `addr add ${a}/32 dev ${sIf}`));

    const inv = join(dir, 'inventory.json');
    await writeFile(inv, JSON.stringify({ targets: all.map((address) => ({ kind: 'floating', address, interface: sIf })) }));
    const conf = join(dir, 'nova.conf');
    await writeFile(conf, `[DEFAULT]\nhost = bench\npublic_interface = ${sIf}\nrouting_source_ip = 10.202.255.1\n`);
    const socket = join(dir, 'control.sock');
    const serve = ServeProcess.spawn({
      netns: snd,
      // FAULTS_CPU_PROFILE=DIR: a V8 CPU profile of serve, to find what holds its event loop.
      nodeArgs: process.env.FAULTS_CPU_PROFILE === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${process.env.FAULTS_CPU_PROFILE}`],
      args: ['--nova-config', conf, '--inventory', inv, '--control-socket', socket, '--state-dir', join(dir, 'state'), '--metrics-listen', 'off', '--no-amqp', '--announce-on-start', 'no'],
    });
    const logs = serve.logs;
    const child = serve.child;
    await serve.ready(10_000);

    // The kernel's own account, time-stamped on receipt by a second netlink listener in the
    // sender's namespace (a separate process: it competes with serve for the CPU like any judge).
    const mon = spawn('ip', ['netns', 'exec', snd, process.execPath, EAR], { stdio: ['ignore', 'pipe', 'inherit'] });
    const kernel: Array<{ t: number; deleted: boolean; address: string }> = [];
    let earOverflow = false;
    await new Promise<void>((resolve) => {
      createInterface({ input: mon.stdout! }).on('line', (l) => {
        if (l === 'ready') return resolve();
        const e = JSON.parse(l) as { t: number; deleted?: boolean; address?: string; overflow?: boolean };
        if (e.overflow === true) earOverflow = true;
        else kernel.push(e as { t: number; deleted: boolean; address: string });
      });
    });
    const cap = await Capture.start(rcv, rIf, `arp and ether src ${mac}`, 262144);

    let healthMax = 0;
    let probing = true;
    const prober = (async () => {
      while (probing) {
        const t = performance.now();
        await controlRequest(socket, 'GET', '/healthz', undefined, 5000).catch(() => undefined);
        healthMax = Math.max(healthMax, performance.now() - t);
        await new Promise((r) => setTimeout(r, 10));
      }
    })();

    progress(`deleting ${half.length} addresses in one batch, hook 300 ms later`);
    const burstsBefore = logs.filter((l) => l.msg === 'burst').length;
    await group.batch(snd, half.map((a) => `addr del ${a}/32 dev ${sIf}`));
    await new Promise((r) => setTimeout(r, 300));
    await controlRequest(socket, 'POST', '/v1/events', { event: 'nova-network-started', host: 'bench' }, 5000);
    await new Promise((r) => setTimeout(r, 1500));
    progress(`re-adding ${half.length} addresses in one batch`);
    const readdAt = wallNow();
    const burstsMid = logs.filter((l) => l.msg === 'burst').length;
    await group.batch(snd, half.map((a) => `addr add ${a}/32 dev ${sIf}`));
    await new Promise((r) => setTimeout(r, 5000));
    probing = false;
    await prober;
    const status = (await controlRequest(socket, 'GET', '/v1/status', undefined, 5000)).body as { eventLoopDelayMs?: { max: number; p99: number } };
    const loop = status.eventLoopDelayMs ?? { max: Number.NaN, p99: Number.NaN };
    const { frames, droppedByKernel } = await cap.stop();
    mon.kill('SIGTERM');
    await new Promise((r) => mon.once('exit', r));
    const proc = await readFile(`/proc/${child.pid}/status`, 'utf8').catch(() => '');
    const hwmMiB = Number(/VmHWM:\s+(\d+)/.exec(proc)?.[1] ?? 0) / 1024;
    await serve.stop();

    // Per address: deletion time, re-add time (the last add after readdAt), frame times.
    const deletedAt = new Map<string, number>();
    const boundAgainAt = new Map<string, number>();
    for (const e of kernel) {
      if (e.deleted) deletedAt.set(e.address, e.t);
      else if (e.t >= readdAt - 5 && deletedAt.has(e.address)) boundAgainAt.set(e.address, e.t);
    }
    const framesOf = new Map<string, number[]>();
    for (const f of frames) {
      const p = parseArpFrame(f.data);
      if (p === null) continue;
      const list = framesOf.get(p.senderIp) ?? [];
      list.push(f.timeMs);
      framesOf.set(p.senderIp, list);
    }
    let whileDeleted = 0;
    let late5 = 0;
    let worstLate = 0;
    const firstAfterBind: number[] = [];
    let judgeLate = 0;
    for (const a of half) {
      const del = deletedAt.get(a);
      const back = boundAgainAt.get(a);
      for (const t of framesOf.get(a) ?? []) {
        // Before the re-add was started: no frame in that window can belong to the re-add.
        if (del !== undefined && t > del && t < readdAt && (back === undefined || t < back)) {
          whileDeleted++;
          worstLate = Math.max(worstLate, t - del);
          if (t - del >= 5) late5++;
        }
      }
      if (back !== undefined) {
        // The address was deleted until the re-add began: its first frame after that is round 1
        // of the re-add. The judge is another process and may stamp the bind after serve sent it.
        const first = (framesOf.get(a) ?? []).filter((t) => t >= readdAt).sort((x, y) => x - y)[0];
        firstAfterBind.push(first === undefined ? Infinity : first - back);
        if (first !== undefined && first < back) judgeLate++;
      }
    }
    const readdBursts = logs.filter((l) => l.msg === 'burst').length - burstsMid;

    progress(`baseline: nova's way, arping -U -A -c 3 serially, 3 addresses`);
    const b0 = performance.now();
    for (let i = 0; i < 3; i++) await run(['ip', 'netns', 'exec', snd, 'arping', '-U', all[i]!, '-A', '-I', sIf, '-c', '3']).catch(() => '');
    const novaPerAddr = (performance.now() - b0) / 3;

    const rows: (string | number)[][] = [
      ['figure', 'value', 'goal'],
      ['addresses on the interface', N, ''],
      ['frames for deleted addresses (while deleted)', whileDeleted, ''],
      ['of which ≥ 5 ms after the kernel reported the deletion', late5, '0'],
      ['latest such frame after its deletion', whileDeleted === 0 ? '-' : fmtMs(worstLate), '< 5 ms'],
      [`re-added addresses seen re-bound / with a first frame`, `${boundAgainAt.size} / ${firstAfterBind.filter(Number.isFinite).length}`, `${half.length}`],
      ['bind → first frame, p50 / p99 / max', `${fmtMs(pct(firstAfterBind, 50))} / ${fmtMs(pct(firstAfterBind, 99))} / ${fmtMs(Math.max(...firstAfterBind))}`, 'max ≤ 100 ms'],
      ['  first frame before the judge heard the bind (counted as ≤ 0)', judgeLate, ''],
      ['bursts the re-add became', readdBursts, 'few'],
      ['hook burst + delete phase bursts', burstsMid - burstsBefore, ''],
      ['/healthz slowest answer during the run (seen from another process)', fmtMs(healthMax), ''],
      ["serve's event loop held at most / p99 (its own monitor)", `${fmtMs(loop.max)} / ${fmtMs(loop.p99)}`, ''],
      ['peak RSS of serve (VmHWM)', `${hwmMiB.toFixed(0)} MiB`, '≤ 200 MiB'],
      ['capture dropped by kernel', droppedByKernel, '0'],
      ["judge's listener lost events (overflow)", earOverflow ? 'yes' : 'no', 'no'],
      ["nova's way per address (arping -c 3, measured)", fmtMs(novaPerAddr), ''],
      [`nova's way for the ${half.length} re-added (extrapolated)`, fmtMs(novaPerAddr * half.length), ''],
    ];
    progress('recovery: database down at the hook and back 3 s later; broker down during an association');
    const rec = await recovery();
    rows.push(
      [`database back → first / last of ${rec.floatingIps} floating IPs announced`, `${fmtMs(rec.database.backToFirstFrameMs)} / ${fmtMs(rec.database.backToLastFrameMs)} (${rec.database.announced}/${rec.floatingIps})`, 'a few s'],
      ['associated + bound while the broker is down: bind → first frame', rec.broker.bindToFirstFrameMs === null ? 'NOT announced' : fmtMs(rec.broker.bindToFirstFrameMs), ''],
      ['  found by', rec.broker.foundBy, ''],
      ['broker back → sidecar reconnected', rec.broker.backToReconnectedMs === null ? 'not within 40 s' : fmtMs(rec.broker.backToReconnectedMs), ''],
    );
    process.stdout.write('\n' + table(rows) + '\n');
    const file = await writeResult('faults', { recovery: rec, n: N, whileDeleted, late5, worstLateMs: worstLate, firstAfterBindMs: { p50: pct(firstAfterBind, 50), p99: pct(firstAfterBind, 99), max: Math.max(...firstAfterBind) }, judgeLate, readdBursts, healthMaxMs: healthMax, eventLoopDelayMs: loop, hwmMiB, droppedByKernel, novaPerAddrMs: novaPerAddr });
    process.stdout.write(`JSON: ${file}\n`);
  } finally {
    await group.cleanup();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: Error) => {
  process.stderr.write(`bench/faults: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
