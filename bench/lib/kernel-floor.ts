/**
 * The kernel's floor as a baseline: bench/lib/kernel-floor.c, compiled here with the machine's gcc,
 * sends the same prebuilt frames through one AF_PACKET socket with sendmmsg(2) and nothing else.
 * Benchmarks run it alternately with nova-garp in the same run and report the ratio.
 */
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildGarpReply, buildGarpRequest } from '../../src/frames/arp-frame.js';
import { parseMac } from '../../src/frames/mac.js';
import { run } from '../../src/shell.js';
import { RESULTS_DIR } from './report.js';

/** bench/lib/kernel-floor.c in the source tree (benchmarks run from dist/bench/lib). */
const SOURCE = join(dirname(dirname(dirname(dirname(fileURLToPath(import.meta.url))))), 'bench', 'lib', 'kernel-floor.c');

export interface FloorRun {
  frames: number;
  sent: number;
  retries: number;
  /** The send loop alone, CLOCK_MONOTONIC. */
  elapsedMs: number;
  /** The sending thread's CPU time in the send loop. */
  cpuMs: number;
  startWallMs: number;
  endWallMs: number;
  /** Each round's send loop (the first is elapsedMs / cpuMs). */
  rounds: { elapsedMs: number; cpuMs: number }[];
}

/** Compiles the floor program once (again when the source is newer) and returns its path. */
export async function buildFloor(): Promise<string> {
  const out = join(RESULTS_DIR, 'kernel-floor');
  await mkdir(RESULTS_DIR, { recursive: true });
  const fresh = await Promise.all([stat(SOURCE), stat(out).catch(() => null)]).then(([s, o]) => o !== null && o.mtimeMs >= s.mtimeMs);
  if (!fresh) {
    await run(['gcc', '-O2', '-Wall', '-o', out, SOURCE]).catch((e: Error) => {
      throw new Error(`compiling the kernel-floor baseline with gcc failed (apt-get install gcc): ${e.message}`);
    });
  }
  return out;
}

/** Both forms for every address, in the order nova-garp's round 1 sends them (all requests, then all replies). */
export function floorFrames(mac: string, addresses: readonly string[]): Uint8Array[] {
  const m = parseMac(mac);
  const ips = addresses.map((a) => new Uint8Array(a.split('.').map(Number)));
  return [...ips.map((ip) => buildGarpRequest(m, ip)), ...ips.map((ip) => buildGarpReply(m, ip))];
}

export async function writeFrameFile(file: string, frames: readonly Uint8Array[]): Promise<void> {
  const total = frames.reduce((s, f) => s + 2 + f.length, 0);
  const buf = Buffer.alloc(total);
  let at = 0;
  for (const f of frames) {
    buf.writeUInt16LE(f.length, at);
    buf.set(f, at + 2);
    at += 2 + f.length;
  }
  await writeFile(file, buf);
}

/**
 * Runs the floor program in namespace `ns` on interface `ifname`: `rounds` send loops `gapMs` apart
 * (the later ones with the kernel's paths as warm as in nova-garp's later rounds).
 */
export async function runFloor(program: string, ns: string, ifname: string, frameFile: string, rounds = 1, gapMs = 400): Promise<FloorRun> {
  const out = await run(['ip', 'netns', 'exec', ns, program, ifname, frameFile, '256', String(rounds), String(gapMs)], { timeoutMs: 60_000 });
  const j = JSON.parse(out) as {
    frames: number;
    sent: number;
    retries: number;
    elapsedNs: number;
    cpuNs: number;
    startWallNs: number;
    endWallNs: number;
    rounds: { elapsedNs: number; cpuNs: number }[];
  };
  if (j.sent !== j.frames) throw new Error(`kernel-floor sent ${j.sent} of ${j.frames} frames`);
  return { frames: j.frames, sent: j.sent, retries: j.retries, elapsedMs: j.elapsedNs / 1e6, cpuMs: j.cpuNs / 1e6, startWallMs: j.startWallNs / 1e6, endWallMs: j.endWallNs / 1e6, rounds: j.rounds.map((r) => ({ elapsedMs: r.elapsedNs / 1e6, cpuMs: r.cpuNs / 1e6 })) };
}
