/**
 * bench/burst: how fast nova-garp puts the first round of announcements on the wire, counted and
 * timed at the receiving end (tcpdump in the receiver namespace), against iputils arping run the
 * way nova does (serially) and in parallel, measured in the same run on the same veth.
 */
import { spawn } from 'node:child_process';
import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { NamespaceGroup, uniqueTag } from '../../tools/netns/namespaces.js';
import { Capture } from '../../tools/capture/tcpdump.js';
import { parseArpFrame, classifyArp } from '../../src/frames/arp-frame.js';
import { run } from '../../src/shell.js';
import { fmtMs, progress, table, writeResult } from '../lib/report.js';

const BIN = fileURLToPath(new URL('../../../bin/nova-garp', import.meta.url));
const SIZES = (process.env.BURST_SIZES ?? '100,1000,10000').split(',').map(Number);
const SERIAL_N = 20;
const PARALLEL_N = Number(process.env.BURST_PARALLEL_N ?? 1000);

const addressOf = (i: number): string => `10.200.${i >> 8}.${i & 0xff}`;

interface Measured {
  n: number;
  framesExpected: number;
  framesReceived: number;
  dropped: number;
  senderFirstRoundMs: number;
  wireSpanMs: number;
  wallMs: number;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench/burst needs root (network namespaces, raw sockets)');
  const tag = uniqueTag();
  const group = new NamespaceGroup(`ngb${tag}-`);
  const dir = await mkdtemp(join(tmpdir(), 'nova-garp-burst-'));
  try {
    const snd = await group.add('snd');
    const rcv = await group.add('rcv');
    const sIf = `ngbs${tag}`;
    const rIf = `ngbr${tag}`;
    await group.veth({ ns: snd, name: sIf }, { ns: rcv, name: rIf });
    await group.ip(rcv, 'addr', 'add', '10.200.255.254/16', 'dev', rIf);
    const max = Math.max(...SIZES, PARALLEL_N, SERIAL_N);
    progress(`binding ${max} addresses on ${sIf}`);
    await group.batch(snd, Array.from({ length: max }, (_, i) => `addr add ${addressOf(i + 1)}/32 dev ${sIf}`));
    const mac = (await group.exec(snd, ['cat', `/sys/class/net/${sIf}/address`])).trim();

    const results: Measured[] = [];
    for (const n of SIZES) {
      const file = join(dir, `addrs-${n}`);
      await writeFile(file, Array.from({ length: n }, (_, i) => addressOf(i + 1)).join('\n') + '\n');
      progress(`nova-garp announce: ${n} addresses, both forms, round 1`);
      const cap = await Capture.start(rcv, rIf, `arp and ether src ${mac}`, 262144);
      const t0 = performance.now();
      const out = await run(['ip', 'netns', 'exec', snd, process.execPath, BIN, 'announce', '-i', sIf, '--addresses-from', file, '--rounds', '1', '--json'], {
        timeoutMs: 120_000,
      }).catch((e: { message: string }) => {
        throw new Error(`announce failed: ${e.message}`);
      });
      const wallMs = performance.now() - t0;
      await new Promise((r) => setTimeout(r, 300));
      const stats = await cap.stop();
      const garps = stats.frames.filter((f) => {
        const p = parseArpFrame(f.data);
        return p !== null && classifyArp(p) !== 'other';
      });
      const json = JSON.parse(out) as { firstRoundMs: number; frames: number };
      const times = garps.map((f) => f.timeMs);
      results.push({
        n,
        framesExpected: 2 * n,
        framesReceived: garps.length,
        dropped: stats.droppedByKernel,
        senderFirstRoundMs: json.firstRoundMs,
        wireSpanMs: times.length > 1 ? Math.max(...times) - Math.min(...times) : 0,
        wallMs,
      });
    }

    progress(`baseline: sequential arping -U -c 1, ${SERIAL_N} addresses (nova's serial way, one process each)`);
    const serialT0 = performance.now();
    for (let i = 0; i < SERIAL_N; i++) {
      await run(['ip', 'netns', 'exec', snd, 'arping', '-U', '-c', '1', '-I', sIf, addressOf(i + 1)]).catch(() => '');
    }
    const serialPerAddrMs = (performance.now() - serialT0) / SERIAL_N;

    progress(`baseline: parallel arping -U -c 1, ${PARALLEL_N} processes at once`);
    const parCap = await Capture.start(rcv, rIf, `arp and ether src ${mac}`, 262144);
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

    const rows: (string | number)[][] = [['addresses', 'frames sent/received', 'round 1 (sender)', 'on the wire (receiver)', 'serial arping (extrap.)', 'ratio', 'parallel arping (extrap.)', 'ratio']];
    const parallelPerAddr = parallelMs / PARALLEL_N;
    for (const r of results) {
      const serial = serialPerAddrMs * r.n;
      const parallel = parallelPerAddr * r.n;
      const ours = Math.max(r.senderFirstRoundMs, r.wireSpanMs);
      rows.push([
        r.n,
        `${r.framesExpected}/${r.framesReceived}`,
        fmtMs(r.senderFirstRoundMs),
        fmtMs(r.wireSpanMs),
        fmtMs(serial),
        `${Math.round(serial / ours)}x`,
        fmtMs(parallel),
        `${Math.round(parallel / ours)}x`,
      ]);
    }
    process.stdout.write('\n' + table(rows) + '\n');
    process.stdout.write(
      `\nbaselines measured in this run: serial arping ${fmtMs(serialPerAddrMs)} per address (N=${SERIAL_N}); ` +
        `parallel arping ${PARALLEL_N} addresses in ${fmtMs(parallelMs)} (${Math.round((PARALLEL_N * 1000) / parallelMs)} addresses/s, ${parallelReceived} frames received)\n`,
    );
    const file = await writeResult('burst', {
      machine: { cpus: (await import('node:os')).cpus().length, kernel: (await run(['uname', '-r'])).trim() },
      nova_garp: results,
      baseline: { serialArpingPerAddressMs: serialPerAddrMs, serialN: SERIAL_N, parallelArpingMs: parallelMs, parallelN: PARALLEL_N, parallelFramesReceived: parallelReceived },
    });
    process.stdout.write(`JSON: ${file}\n`);
    const lost = results.filter((r) => r.framesReceived !== r.framesExpected);
    if (lost.length > 0) {
      process.stderr.write(`frames lost: ${lost.map((r) => `${r.n}: ${r.framesExpected - r.framesReceived}`).join(', ')}\n`);
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
