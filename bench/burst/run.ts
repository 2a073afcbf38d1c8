/**
 * bench/burst: how fast nova-garp puts the first round of announcements on the wire, against the
 * kernel's floor (bench/lib/kernel-floor.c: the same prebuilt frames through one AF_PACKET socket
 * with sendmmsg, nothing else) run alternately with it in the same run on the same veth, and against
 * iputils arping run the way nova does (serially) and in parallel.
 *
 * For each size, BURST_REPEATS times each (default 5), alternating which goes first:
 *  - the floor program, timed around its send loop (frames built before the clock starts);
 *  - `nova-garp announce --rounds 1` (both forms), timed by its own `firstRoundMs`: from building
 *    round 1's first slice of frames to the return of its last sendmmsg (process start, reading the
 *    address file and the interface's addresses, and planning are outside it, as the floor's
 *    startup and file reading are outside its loop; building the frames is inside it);
 *  - for both, the CPU time of the sending thread over that span, and the span from the first to
 *    the last frame at the receiver (tcpdump in the receiving namespace).
 *  - and, without a capture, `announce --rounds 3 --interval-ms 400`: its third round, timed the
 *    same way, is the engine with its code compiled (a long-running sidecar's state), where round 1
 *    of a fresh process runs partly in V8's interpreter while the optimising compilers work.
 * Reported: medians, the ratio nova-garp / floor of each, µs per address and how it grows per 10×.
 *
 * Environment: BURST_SIZES (default 100,1000,10000,50000), BURST_REPEATS (5), BURST_SERIAL_N (20),
 * BURST_PARALLEL_N (1000), BURST_OUT (a directory for burst.json and burst-curve.svg instead of
 * bench/results/).
 */
import { spawn } from 'node:child_process';
import { writeFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { NamespaceGroup, uniqueTag } from '../../tools/netns/namespaces.js';
import { Capture } from '../../tools/capture/tcpdump.js';
import { parseArpFrame, classifyArp } from '../../src/frames/arp-frame.js';
import { run } from '../../src/shell.js';
import { RESULTS_DIR, fmtMs, progress, table, writeResult } from '../lib/report.js';
import { buildFloor, floorFrames, runFloor, writeFrameFile } from '../lib/kernel-floor.js';
import { plotLines } from '../lib/svg-plot.js';

const BIN = fileURLToPath(new URL('../../../bin/nova-garp', import.meta.url));
const intEnv = (name: string, fallback: number): number => {
  const v = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive integer, got ${process.env[name]}`);
  return v;
};
const SIZES = (process.env.BURST_SIZES ?? '100,1000,10000,50000').split(',').map(Number);
const REPEATS = intEnv('BURST_REPEATS', 5);
const SERIAL_N = intEnv('BURST_SERIAL_N', 20);
const PARALLEL_N = intEnv('BURST_PARALLEL_N', 1000);
const OUT = process.env.BURST_OUT ?? null;
/** tcpdump's ring (-B, KiB): 100,000 frames of 42 bytes need a few MiB; this leaves room for a slow reader. */
const CAPTURE_BUFFER_KIB = 256 * 1024;

const addressOf = (i: number): string => `10.200.${i >> 8}.${i & 0xff}`;

/** One timed run of either sender, judged at the receiver. */
interface Run {
  /** The sender's own figure: the floor's send loop, nova-garp's firstRoundMs. */
  senderMs: number;
  /** The sending thread's CPU time over the same span. */
  cpuMs: number;
  /** First → last frame at the receiver. */
  wireMs: number;
  received: number;
  /** Frames tcpdump says the kernel dropped from its capture ring (then `received` is no judge). */
  captureDropped: number;
}

interface Side {
  runs: Run[];
  senderMs: number;
  cpuMs: number;
  wireMs: number;
  usPerAddress: number;
  wireUsPerAddress: number;
}

interface SizeResult {
  addresses: number;
  frames: number;
  floor: Side;
  novaGarp: Side;
  /** Round 3 of one `announce --rounds 3` process (compiled code), against round 3 of one floor process. */
  warm: {
    runs: { senderMs: number; cpuMs: number }[];
    floorRuns: { senderMs: number; cpuMs: number }[];
    senderMs: number;
    cpuMs: number;
    floorSenderMs: number;
    floorCpuMs: number;
    ratio: { sender: number; cpu: number };
  };
  /** nova-garp / floor, of the medians. */
  ratio: { sender: number; cpu: number; wire: number };
  /** Median of the per-pair ratios (each nova-garp run against the floor run next to it). */
  pairedRatio: { sender: number; cpu: number; wire: number };
  framesLost: { floor: number; novaGarp: number };
  captureDropped: number;
}

function median(xs: readonly number[]): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const r3 = (x: number): number => Math.round(x * 1000) / 1000;

function side(runs: Run[], n: number): Side {
  const senderMs = median(runs.map((r) => r.senderMs));
  const wireMs = median(runs.map((r) => r.wireMs));
  return {
    runs,
    senderMs: r3(senderMs),
    cpuMs: r3(median(runs.map((r) => r.cpuMs))),
    wireMs: r3(wireMs),
    usPerAddress: r3((senderMs * 1000) / n),
    wireUsPerAddress: r3((wireMs * 1000) / n),
  };
}

/** Per-address cost growth per 10× more addresses between two sizes (1.0: linear in the addresses). */
function growthPer10x(n1: number, us1: number, n2: number, us2: number): number {
  return (us2 / us1) ** (1 / Math.log10(n2 / n1));
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench/burst needs root (network namespaces, raw sockets)');
  const max = Math.max(...SIZES, PARALLEL_N, SERIAL_N);
  if (SIZES.some((n) => !Number.isInteger(n) || n < 1) || max > 65_000) throw new Error('BURST_SIZES: positive integers up to 65000 (10.200.0.0/16)');
  const floorProgram = await buildFloor();
  const tag = uniqueTag();
  const group = new NamespaceGroup(`ngb${tag}-`);
  const dir = await mkdtemp(join(tmpdir(), 'nova-garp-burst-'));
  const loadBefore = loadavg();
  try {
    const snd = await group.add('snd');
    const rcv = await group.add('rcv');
    const sIf = `ngbs${tag}`;
    const rIf = `ngbr${tag}`;
    await group.veth({ ns: snd, name: sIf }, { ns: rcv, name: rIf });
    await group.ip(rcv, 'addr', 'add', '10.200.255.254/16', 'dev', rIf);
    // The kernel checks each new address against the interface's list, so binding grows with the
    // square of the count (50,000 take minutes on a busy machine): bound as the sizes need them, in
    // parts, each with room to finish.
    let bound = 0;
    const bindUpTo = async (count: number): Promise<void> => {
      if (count > bound) progress(`binding addresses ${bound + 1}..${count} on ${sIf}`);
      while (bound < count) {
        const lines = Array.from({ length: Math.min(5000, count - bound) }, (_, i) => `addr add ${addressOf(bound + i + 1)}/32 dev ${sIf}`);
        await run(['ip', '-n', snd, '-batch', '-'], { input: lines.join('\n') + '\n', timeoutMs: 900_000 });
        bound += lines.length;
      }
    };
    const mac = (await group.exec(snd, ['cat', `/sys/class/net/${sIf}/address`])).trim();

    /** Runs `send` with a capture at the receiver; counts the gratuitous ARP frames from the sender's MAC. */
    const judged = async (send: () => Promise<{ senderMs: number; cpuMs: number }>): Promise<Run> => {
      const cap = await Capture.start(rcv, rIf, `arp and ether src ${mac}`, CAPTURE_BUFFER_KIB);
      let sent: { senderMs: number; cpuMs: number };
      try {
        sent = await send();
      } finally {
        await new Promise((r) => setTimeout(r, 300));
      }
      const stats = await cap.stop();
      const times = stats.frames
        .filter((f) => {
          const p = parseArpFrame(f.data);
          return p !== null && classifyArp(p) !== 'other';
        })
        .map((f) => f.timeMs);
      let lo = Infinity;
      let hi = -Infinity;
      for (const t of times) {
        if (t < lo) lo = t;
        if (t > hi) hi = t;
      }
      return { ...sent, wireMs: times.length > 1 ? hi - lo : 0, received: times.length, captureDropped: stats.droppedByKernel };
    };

    // arping dumps the namespace's addresses to pick its source, holding the rtnl lock: with 50,000
    // bound, 1,000 of them in parallel take many minutes. Measured with only the addresses they use.
    await bindUpTo(Math.max(SERIAL_N, PARALLEL_N));
    const baselineBound = bound;
    progress(`baseline: sequential arping -U -c 1, ${SERIAL_N} addresses (nova's serial way, one process each)`);
    const serialT0 = performance.now();
    for (let i = 0; i < SERIAL_N; i++) {
      await run(['ip', 'netns', 'exec', snd, 'arping', '-U', '-c', '1', '-I', sIf, addressOf(i + 1)]).catch(() => '');
    }
    const serialPerAddrMs = (performance.now() - serialT0) / SERIAL_N;

    progress(`baseline: parallel arping -U -c 1, ${PARALLEL_N} processes at once`);
    const parCap = await Capture.start(rcv, rIf, `arp and ether src ${mac}`, CAPTURE_BUFFER_KIB);
    const parT0 = performance.now();
    await Promise.all(
      Array.from(
        { length: PARALLEL_N },
        (_, i) =>
          new Promise<void>((resolve) => {
            const c = spawn('ip', ['netns', 'exec', snd, 'arping', '-U', '-c', '1', '-I', sIf, addressOf(i + 1)], { stdio: 'ignore' });
            c.on('close', () => resolve());
            c.on('error', () => resolve());
          }),
      ),
    );
    const parallelMs = performance.now() - parT0;
    await new Promise((r) => setTimeout(r, 300));
    const parStats = await parCap.stop();
    const parallelReceived = parStats.frames.filter((f) => parseArpFrame(f.data) !== null).length;
    const parallelPerAddr = parallelMs / PARALLEL_N;

    const results: SizeResult[] = [];
    for (const n of SIZES) {
      await bindUpTo(n);
      const addresses = Array.from({ length: n }, (_, i) => addressOf(i + 1));
      const addrFile = join(dir, `addrs-${n}`);
      const frameFile = join(dir, `frames-${n}`);
      await writeFile(addrFile, addresses.join('\n') + '\n');
      await writeFrameFile(frameFile, floorFrames(mac, addresses));
      const floorRun = (): Promise<{ senderMs: number; cpuMs: number }> =>
        runFloor(floorProgram, snd, sIf, frameFile).then((f) => ({ senderMs: f.elapsedMs, cpuMs: f.cpuMs }));
      const novaRun = async (): Promise<{ senderMs: number; cpuMs: number }> => {
        const out = await run(['ip', 'netns', 'exec', snd, process.execPath, BIN, 'announce', '-i', sIf, '--addresses-from', addrFile, '--rounds', '1', '--form', 'both', '--json'], {
          timeoutMs: 120_000,
        }).catch((e: { message: string }) => {
          throw new Error(`announce failed: ${e.message}`);
        });
        const json = JSON.parse(out) as { firstRoundMs: number; firstRoundCpuMs: number | null; frames: number };
        if (json.frames !== 2 * n) throw new Error(`announce sent ${json.frames} frames for ${n} addresses`);
        return { senderMs: json.firstRoundMs, cpuMs: json.firstRoundCpuMs ?? Number.NaN };
      };
      const warmRun = async (): Promise<{ senderMs: number; cpuMs: number }> => {
        const out = await run(['ip', 'netns', 'exec', snd, process.execPath, BIN, 'announce', '-i', sIf, '--addresses-from', addrFile, '--rounds', '3', '--interval-ms', '400', '--form', 'both', '--json'], {
          timeoutMs: 120_000,
        });
        const json = JSON.parse(out) as { roundDetails: { durationMs: number; cpuMs: number | null; sent: number }[] };
        const third = json.roundDetails[2];
        if (third === undefined || third.sent !== 2 * n) throw new Error(`announce --rounds 3 did not send round 3 in full`);
        return { senderMs: third.durationMs, cpuMs: third.cpuMs ?? Number.NaN };
      };
      const warmFloorRun = (): Promise<{ senderMs: number; cpuMs: number }> =>
        runFloor(floorProgram, snd, sIf, frameFile, 3, 400).then((f) => ({ senderMs: f.rounds[2]!.elapsedMs, cpuMs: f.rounds[2]!.cpuMs }));
      const floor: Run[] = [];
      const ours: Run[] = [];
      const warm: { senderMs: number; cpuMs: number }[] = [];
      const warmFloor: { senderMs: number; cpuMs: number }[] = [];
      for (let rep = 0; rep < REPEATS; rep++) {
        progress(`${n} addresses (${2 * n} frames), pair ${rep + 1}/${REPEATS}: ${rep % 2 === 0 ? 'floor, then nova-garp' : 'nova-garp, then floor'}`);
        if (rep % 2 === 0) {
          floor.push(await judged(floorRun));
          ours.push(await judged(novaRun));
          warmFloor.push(await warmFloorRun());
          warm.push(await warmRun());
        } else {
          warm.push(await warmRun());
          warmFloor.push(await warmFloorRun());
          ours.push(await judged(novaRun));
          floor.push(await judged(floorRun));
        }
      }
      const f = side(floor, n);
      const g = side(ours, n);
      const paired = (k: 'senderMs' | 'cpuMs' | 'wireMs'): number => r3(median(ours.map((o, i) => o[k] / floor[i]![k])));
      results.push({
        addresses: n,
        frames: 2 * n,
        floor: f,
        novaGarp: g,
        warm: {
          runs: warm,
          floorRuns: warmFloor,
          senderMs: r3(median(warm.map((w) => w.senderMs))),
          cpuMs: r3(median(warm.map((w) => w.cpuMs))),
          floorSenderMs: r3(median(warmFloor.map((w) => w.senderMs))),
          floorCpuMs: r3(median(warmFloor.map((w) => w.cpuMs))),
          ratio: {
            sender: r3(median(warm.map((w) => w.senderMs)) / median(warmFloor.map((w) => w.senderMs))),
            cpu: r3(median(warm.map((w) => w.cpuMs)) / median(warmFloor.map((w) => w.cpuMs))),
          },
        },
        ratio: { sender: r3(g.senderMs / f.senderMs), cpu: r3(g.cpuMs / f.cpuMs), wire: r3(g.wireMs / f.wireMs) },
        pairedRatio: { sender: paired('senderMs'), cpu: paired('cpuMs'), wire: paired('wireMs') },
        framesLost: {
          floor: floor.reduce((s, r) => s + (2 * n - r.received), 0),
          novaGarp: ours.reduce((s, r) => s + (2 * n - r.received), 0),
        },
        captureDropped: [...floor, ...ours].reduce((s, r) => s + r.captureDropped, 0),
      });
      const last = results[results.length - 1]!;
      progress(
        `  ${n}: floor ${fmtMs(f.senderMs)}, nova-garp ${fmtMs(g.senderMs)} (${last.ratio.sender}x); CPU ${last.ratio.cpu}x; ` +
          `wire ${fmtMs(f.wireMs)} / ${fmtMs(g.wireMs)} (${last.ratio.wire}x); round 3 ${fmtMs(last.warm.floorSenderMs)} / ${fmtMs(last.warm.senderMs)} (${last.warm.ratio.sender}x, CPU ${last.warm.ratio.cpu}x)`,
      );
    }

    const loadAfter = loadavg();

    const vsFloor: (string | number)[][] = [
      ['addresses', 'frames (lost)', 'floor', 'nova-garp', 'ratio', 'floor CPU', 'nova-garp CPU', 'ratio', 'floor wire', 'nova-garp wire', 'ratio', 'round 3 floor', 'nova-garp', 'ratio', 'CPU ratio', 'µs/addr floor', 'µs/addr nova-garp'],
    ];
    for (const r of results) {
      vsFloor.push([
        r.addresses,
        `${r.frames} (${r.framesLost.floor}/${r.framesLost.novaGarp})`,
        fmtMs(r.floor.senderMs),
        fmtMs(r.novaGarp.senderMs),
        `${r.ratio.sender.toFixed(2)}x`,
        fmtMs(r.floor.cpuMs),
        fmtMs(r.novaGarp.cpuMs),
        `${r.ratio.cpu.toFixed(2)}x`,
        fmtMs(r.floor.wireMs),
        fmtMs(r.novaGarp.wireMs),
        `${r.ratio.wire.toFixed(2)}x`,
        fmtMs(r.warm.floorSenderMs),
        fmtMs(r.warm.senderMs),
        `${r.warm.ratio.sender.toFixed(2)}x`,
        `${r.warm.ratio.cpu.toFixed(2)}x`,
        r.floor.usPerAddress.toFixed(2),
        r.novaGarp.usPerAddress.toFixed(2),
      ]);
    }
    const vsArping: (string | number)[][] = [['addresses', 'nova-garp (wire)', 'serial arping (extrap.)', 'ratio', 'parallel arping (extrap.)', 'ratio']];
    for (const r of results) {
      const ourMs = Math.max(r.novaGarp.senderMs, r.novaGarp.wireMs);
      vsArping.push([
        r.addresses,
        fmtMs(r.novaGarp.wireMs),
        fmtMs(serialPerAddrMs * r.addresses),
        `${Math.round((serialPerAddrMs * r.addresses) / ourMs)}x`,
        fmtMs(parallelPerAddr * r.addresses),
        `${Math.round((parallelPerAddr * r.addresses) / ourMs)}x`,
      ]);
    }
    const curve = results.map((r, i) => {
      const prev = results[i - 1];
      return {
        addresses: r.addresses,
        floorUsPerAddress: r.floor.usPerAddress,
        novaGarpUsPerAddress: r.novaGarp.usPerAddress,
        floorWireUsPerAddress: r.floor.wireUsPerAddress,
        novaGarpWireUsPerAddress: r.novaGarp.wireUsPerAddress,
        novaGarpWarmUsPerAddress: r3((r.warm.senderMs * 1000) / r.addresses),
        floorWarmUsPerAddress: r3((r.warm.floorSenderMs * 1000) / r.addresses),
        ratio: r.ratio.sender,
        warmRatio: r.warm.ratio.sender,
        /** Per-address cost growth per 10× from the previous size (1.0: the total grows linearly). */
        growthPer10x:
          prev === undefined
            ? null
            : {
                floor: r3(growthPer10x(prev.addresses, prev.floor.usPerAddress, r.addresses, r.floor.usPerAddress)),
                novaGarp: r3(growthPer10x(prev.addresses, prev.novaGarp.usPerAddress, r.addresses, r.novaGarp.usPerAddress)),
              },
      };
    });

    const load = `load average ${loadBefore[0]!.toFixed(2)} before, ${loadAfter[0]!.toFixed(2)} after (${cpus().length} CPUs)`;
    process.stdout.write(`\nmedians of ${REPEATS} alternating runs each; lost frames: floor/nova-garp over all runs; ${load}\n\n${table(vsFloor)}\n`);
    process.stdout.write(
      `\nper-address cost growth per 10x addresses (1.00 = linear): ${curve
        .filter((c) => c.growthPer10x !== null)
        .map((c, i) => `${curve[i]!.addresses}->${c.addresses}: floor ${c.growthPer10x!.floor.toFixed(2)}, nova-garp ${c.growthPer10x!.novaGarp.toFixed(2)}`)
        .join('; ')}\n`,
    );
    process.stdout.write('\n' + table(vsArping) + '\n');
    process.stdout.write(
      `\nbaselines measured in this run with ${baselineBound} addresses bound: serial arping ${fmtMs(serialPerAddrMs)} per address (N=${SERIAL_N}); ` +
        `parallel arping ${PARALLEL_N} addresses in ${fmtMs(parallelMs)} (${Math.round((PARALLEL_N * 1000) / parallelMs)} addresses/s, ${parallelReceived} frames received)\n`,
    );

    const svg = plotLines({
      title: 'bench/burst: round 1 of nova-garp announce vs the kernel floor',
      xLabel: 'addresses (2 frames each: request + reply)',
      yLabel: 'µs per address (median)',
      logX: true,
      note: `round 1 in a fresh process, round 3 800 ms later in it; medians of ${REPEATS}; load ${loadBefore[0]!.toFixed(1)} → ${loadAfter[0]!.toFixed(1)}`,
      series: [
        { name: 'nova-garp, round 1', points: results.map((r) => [r.addresses, r.novaGarp.usPerAddress] as const) },
        { name: 'kernel floor (C, sendmmsg), round 1', points: results.map((r) => [r.addresses, r.floor.usPerAddress] as const) },
        { name: 'nova-garp, round 3', color: '#2f855a', points: results.map((r) => [r.addresses, (r.warm.senderMs * 1000) / r.addresses] as const) },
        { name: 'floor, round 3', color: '#b7791f', points: results.map((r) => [r.addresses, (r.warm.floorSenderMs * 1000) / r.addresses] as const) },
      ],
    });
    const data = {
      machine: { cpus: cpus().length, kernel: (await run(['uname', '-r'])).trim(), loadBefore, loadAfter },
      repeats: REPEATS,
      scope: {
        floor: 'bench/lib/kernel-floor.c: CLOCK_MONOTONIC around its sendmmsg loop of prebuilt frames (256 per call)',
        novaGarp: 'announce --json firstRoundMs: building round 1 slice by slice and its sendmmsg calls (256 per call), to the return of the last',
        warm: 'announce --rounds 3 --interval-ms 400 --json roundDetails[2], and the floor program with 3 rounds 400 ms apart: the same spans in round 3 of one process each',
        wire: 'first to last gratuitous ARP frame from the sender MAC in a tcpdump capture in the receiving namespace',
      },
      sizes: results,
      curve,
      baseline: { addressesBound: baselineBound, serialArpingPerAddressMs: serialPerAddrMs, serialN: SERIAL_N, parallelArpingMs: parallelMs, parallelN: PARALLEL_N, parallelFramesReceived: parallelReceived },
    };
    let file: string;
    const outDir = OUT ?? RESULTS_DIR;
    if (OUT === null) {
      file = await writeResult('burst', data);
    } else {
      await mkdir(OUT, { recursive: true });
      file = join(OUT, 'burst.json');
      await writeFile(file, JSON.stringify(data, null, 2) + '\n');
    }
    await writeFile(join(outDir, 'burst-curve.svg'), svg);
    process.stdout.write(`JSON: ${file}\nplot: ${join(outDir, 'burst-curve.svg')}\n`);

    const dropped = results.filter((r) => r.captureDropped > 0);
    if (dropped.length > 0) {
      process.stderr.write(`the capture itself dropped frames (so its counts are no judge) at: ${dropped.map((r) => `${r.addresses}: ${r.captureDropped}`).join(', ')}\n`);
    }
    const lost = results.filter((r) => r.captureDropped === 0 && (r.framesLost.floor > 0 || r.framesLost.novaGarp > 0));
    if (lost.length > 0) {
      process.stderr.write(`frames lost (floor/nova-garp, all runs): ${lost.map((r) => `${r.addresses}: ${r.framesLost.floor}/${r.framesLost.novaGarp}`).join(', ')}\n`);
      process.exitCode = 1;
    }
  } finally {
    await group.cleanup();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: Error) => {
  process.stderr.write(`bench/burst: ${err.message}\n`);
  process.exit(1);
});
