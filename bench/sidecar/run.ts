/**
 * bench/sidecar: a real `nova-garp serve` in a namespace with N targets bound; the nova hook's
 * request (POST /v1/events on the control socket) → its 202 answer (what nova-network waits for
 * inside init_host), → first frame and → last frame of round 1, as captured at the receiving end;
 * RSS of serve. Baseline in the same run: nova's in-tree way,
 * `arping -U <ip> -A -I <dev> -c 3` per floating IP, serially.
 */
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { NamespaceGroup, uniqueTag } from '../../tools/netns/namespaces.js';
import { Capture } from '../../tools/capture/tcpdump.js';
import { parseArpFrame } from '../../src/frames/arp-frame.js';
import { controlRequest } from '../../src/sidecar/control-client.js';
import { run } from '../../src/shell.js';
import { fmtMs, progress, table, writeResult } from '../lib/report.js';

const BIN = fileURLToPath(new URL('../../../bin/nova-garp', import.meta.url));
const SIZES = (process.env.SIDECAR_SIZES ?? '1,1000,10000').split(',').map(Number);
const REPEATS = Number(process.env.SIDECAR_REPEATS ?? 5);
const BASELINE_N = 3;
const addressOf = (i: number): string => `10.201.${i >> 8}.${i & 0xff}`;
const wallNow = (): number => performance.timeOrigin + performance.now();
const median = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;

interface Row {
  n: number;
  /** Request written → first byte of the answer (the hook's wait inside init_host). */
  answerMs: number[];
  firstFrameMs: number[];
  lastFrameMs: number[];
  framesOk: boolean;
  rssMiB: number;
}

/**
 * The request the Python hook sends, written the way it writes it (one raw HTTP/1.1 request on a
 * fresh unix-socket connection), so the figure is the sidecar's and not an HTTP client library's.
 */
function hookRequest(socket: string): Promise<{ status: number; answerMs: number }> {
  const body = JSON.stringify({ event: 'nova-network-started', host: 'bench', manager: 'bench', pid: process.pid });
  const req = `POST /v1/events HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
  return new Promise((resolve, reject) => {
    let sentAt = 0;
    let answerMs = NaN;
    const c = connect(socket, () => {
      sentAt = performance.now();
      c.write(req);
    });
    let answer = '';
    c.on('data', (d: Buffer) => {
      if (answer === '') answerMs = performance.now() - sentAt;
      answer += d.toString();
    });
    c.on('error', reject);
    c.on('close', () => resolve({ status: Number(/^HTTP\/1\.1 (\d+)/.exec(answer)?.[1] ?? 0), answerMs }));
  });
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench/sidecar needs root (network namespaces, raw sockets)');
  const tag = uniqueTag();
  const group = new NamespaceGroup(`ngs${tag}-`);
  const dir = await mkdtemp(join(tmpdir(), 'nova-garp-bench-sidecar-'));
  try {
    const snd = await group.add('snd');
    const rcv = await group.add('rcv');
    const sIf = `ngss${tag}`;
    const rIf = `ngsr${tag}`;
    await group.veth({ ns: snd, name: sIf }, { ns: rcv, name: rIf });
    await group.ip(rcv, 'addr', 'add', '10.201.255.254/16', 'dev', rIf);
    const mac = (await group.exec(snd, ['cat', `/sys/class/net/${sIf}/address`])).trim();
    const max = Math.max(...SIZES);
    progress(`binding ${max} addresses on ${sIf}`);
    await group.batch(snd, Array.from({ length: max }, (_, i) => `addr add ${addressOf(i + 1)}/32 dev ${sIf}`));

    const rows: Row[] = [];
    for (const n of SIZES) {
      const inv = join(dir, `inventory-${n}.json`);
      await writeFile(inv, JSON.stringify({ targets: Array.from({ length: n }, (_, i) => ({ kind: 'floating', address: addressOf(i + 1), interface: sIf })) }));
      const conf = join(dir, 'nova.conf');
      await writeFile(conf, `[DEFAULT]\nhost = bench\npublic_interface = ${sIf}\nrouting_source_ip = 10.201.255.1\n`);
      const socket = join(dir, `control-${n}.sock`);
      progress(`serve with ${n} targets: ${REPEATS} hook events`);
      const child = spawn(
        'ip',
        ['netns', 'exec', snd, process.execPath, BIN, 'serve', '--nova-config', conf, '--inventory', inv, '--control-socket', socket, '--state-dir', join(dir, 'state'), '--metrics-listen', 'off', '--no-amqp', '--announce-on-start', 'no', '--rounds', '1', '--coalesce-ms', '0', '--log-level', process.env.SIDECAR_LOG_LEVEL ?? 'warn'],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      const errLines: string[] = [];
      createInterface({ input: child.stderr! }).on('line', (l) => errLines.push(l));
      for (let i = 0; i < 100; i++) {
        const ok = await controlRequest(socket, 'GET', '/healthz', undefined, 1000).then(() => true, () => false);
        if (ok) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const row: Row = { n, answerMs: [], firstFrameMs: [], lastFrameMs: [], framesOk: true, rssMiB: 0 };
      for (let k = 0; k < REPEATS + 1; k++) {
        const cap = await Capture.start(rcv, rIf, `arp and ether src ${mac}`, 262144);
        const t0 = wallNow();
        const { status, answerMs } = await hookRequest(socket);
        if (status !== 202) throw new Error(`serve answered ${status}`);
        await new Promise((r) => setTimeout(r, 300 + n / 20));
        const { frames, droppedByKernel } = await cap.stop();
        // Round 1's GARPs only (sender IP = target IP): the RFC 5227 probes that follow a hook
        // (sender IP 0.0.0.0, issue 13) are not part of the announcement.
        const times = frames
          .filter((f) => {
            const p = parseArpFrame(f.data);
            return p !== null && p.senderIp === p.targetIp;
          })
          .map((f) => f.timeMs);
        if (times.length !== 2 * n || droppedByKernel > 0) row.framesOk = false;
        // The first event warms the JIT and opens the raw socket: reported apart, not in the median.
        if (k === 0) continue;
        row.answerMs.push(answerMs);
        row.firstFrameMs.push(Math.min(...times) - t0);
        row.lastFrameMs.push(Math.max(...times) - t0);
      }
      const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
      row.rssMiB = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      if (process.env.SIDECAR_LOG_LEVEL !== undefined || errLines.some((l) => /"level":(50|60)/.test(l))) process.stderr.write(errLines.join('\n') + '\n');
      rows.push(row);
    }

    progress(`baseline: nova's in-tree way, arping -U <ip> -A -I <dev> -c 3 serially, ${BASELINE_N} addresses`);
    const b0 = performance.now();
    for (let i = 0; i < BASELINE_N; i++) await run(['ip', 'netns', 'exec', snd, 'arping', '-U', addressOf(i + 1), '-A', '-I', sIf, '-c', '3']).catch(() => '');
    const novaPerAddr = (performance.now() - b0) / BASELINE_N;

    const out: (string | number)[][] = [['targets', 'event → 202 answer (median / max)', 'event → first frame (median)', 'event → last frame of round 1 (median / max)', 'frames complete', 'RSS of serve', "nova's way (extrap.)", 'ratio']];
    for (const r of rows) {
      const last = median(r.lastFrameMs);
      out.push([r.n, `${fmtMs(median(r.answerMs))} / ${fmtMs(Math.max(...r.answerMs))}`, fmtMs(median(r.firstFrameMs)), `${fmtMs(last)} / ${fmtMs(Math.max(...r.lastFrameMs))}`, r.framesOk ? 'yes' : 'NO', `${r.rssMiB.toFixed(0)} MiB`, fmtMs(novaPerAddr * r.n), `${Math.round((novaPerAddr * r.n) / last)}x`]);
    }
    process.stdout.write('\n' + table(out) + '\n');
    process.stdout.write(`\nbaseline measured in this run: nova's arping -c 3 takes ${fmtMs(novaPerAddr)} per floating IP (serial); medians over ${REPEATS} events after one warm-up\n`);
    const file = await writeResult('sidecar', { rows, baseline: { novaArpingPerAddressMs: novaPerAddr, n: BASELINE_N }, repeats: REPEATS });
    process.stdout.write(`JSON: ${file}\n`);
    if (rows.some((r) => !r.framesOk)) process.exitCode = 1;
  } finally {
    await group.cleanup();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: Error) => {
  process.stderr.write(`bench/sidecar: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
