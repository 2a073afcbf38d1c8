import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parsePcap, type CapturedFrame } from './pcap.js';

export interface CaptureStats {
  frames: CapturedFrame[];
  /** tcpdump's own "packets dropped by kernel" count: a capture that dropped is not a judge. */
  droppedByKernel: number;
}

/**
 * A tcpdump capture on one interface of one network namespace, written to a pcap file and parsed
 * when stopped. Used as the independent judge of what went on the wire (tests, bench, lab).
 */
export class Capture {
  private stderr = '';

  private constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
    private readonly file: string,
  ) {
    child.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()));
  }

  static async start(netns: string | null, ifname: string, filter: string, bufferKiB = 65536): Promise<Capture> {
    const dir = await mkdtemp(join(tmpdir(), 'nova-garp-cap-'));
    const file = join(dir, 'capture.pcap');
    const tcpdump = ['tcpdump', '-i', ifname, '-w', file, '-U', '-nn', '-B', String(bufferKiB), '-s', '256', '--immediate-mode', filter];
    const argv = netns === null ? tcpdump : ['ip', 'netns', 'exec', netns, ...tcpdump];
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
    const cap = new Capture(child, dir, file);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`tcpdump did not start on ${ifname}: ${cap.stderr}`)), 10_000);
      child.once('error', (e) => {
        clearTimeout(timer);
        reject(new Error(`cannot run tcpdump: ${e.message}`));
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`tcpdump exited (${code}) on ${ifname}: ${cap.stderr.trim()}`));
      });
      child.stderr?.on('data', () => {
        if (/listening on/.test(cap.stderr)) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    child.removeAllListeners('exit');
    return cap;
  }

  /** The frames written so far (tcpdump -U writes each as it comes): tests wait on these instead of sleeping. */
  async framesSoFar(): Promise<CapturedFrame[]> {
    return parsePcap(new Uint8Array(await readFile(this.file)));
  }

  async stop(): Promise<CaptureStats> {
    if (this.child.exitCode === null) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      this.child.kill('SIGINT');
      await exited;
    }
    try {
      const frames = parsePcap(new Uint8Array(await readFile(this.file)));
      const dropped = /(\d+) packets? dropped by kernel/.exec(this.stderr);
      return { frames, droppedByKernel: dropped ? Number(dropped[1]) : 0 };
    } finally {
      await rm(this.dir, { recursive: true, force: true });
    }
  }
}
