import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ProberConfig, ProberResult, ProberStatus } from './prober-process.js';

/** The lab's handle on its prober process (see prober-process.ts for what runs there). */

const ENTRY = fileURLToPath(new URL('./prober-process.js', import.meta.url));

export const monotonicMs = (): number => Number(process.hrtime.bigint()) / 1e6;

/**
 * Probe interval per destination: `floorMs` (20 ms) as long as the total rate stays within
 * `maxRate` echo requests per second, longer beyond that so the prober and the kernel keep up.
 * Pure.
 */
export function probeIntervalMs(destinations: number, floorMs = 20, maxRate = 25_000): number {
  return Math.max(floorMs, Math.ceil((destinations * 1000) / maxRate));
}

export class Prober {
  private lines = '';
  private stderr = '';
  private statusListeners: Array<(s: ProberStatus) => void> = [];
  private resultWaiter: ((r: ProberResult) => void) | null = null;
  private exitError: Error | null = null;
  private exited = false;
  latest: ProberStatus | null = null;

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    child.stdout.on('data', (d: Buffer) => this.onData(d.toString()));
    child.stderr.on('data', (d: Buffer) => (this.stderr += d.toString()));
    child.on('exit', (code, signal) => {
      this.exited = true;
      this.exitError = new Error(`prober exited (${code ?? signal}): ${this.stderr.trim()}`);
      for (const l of this.statusListeners) l(this.latest ?? ({} as ProberStatus));
    });
  }

  static async start(config: ProberConfig): Promise<Prober> {
    const child = spawn(process.execPath, [ENTRY], { stdio: ['pipe', 'pipe', 'pipe'] });
    const p = new Prober(child);
    const ready = new Promise<void>((resolve, reject) => {
      const onLine = (d: Buffer): void => {
        if (d.toString().includes('"type":"ready"')) {
          child.stdout.off('data', onLine);
          resolve();
        }
      };
      child.stdout.on('data', onLine);
      child.once('exit', () => reject(p.exitError ?? new Error('prober exited')));
    });
    child.stdin.write(JSON.stringify(config) + '\n');
    await ready;
    return p;
  }

  private onData(text: string): void {
    this.lines += text;
    let nl: number;
    while ((nl = this.lines.indexOf('\n')) >= 0) {
      const line = this.lines.slice(0, nl);
      this.lines = this.lines.slice(nl + 1);
      const msg = JSON.parse(line) as { type: string };
      if (msg.type === 'status') {
        this.latest = msg as ProberStatus;
        for (const l of [...this.statusListeners]) l(this.latest);
      } else if (msg.type === 'result') {
        this.resultWaiter?.(msg as ProberResult);
      }
    }
  }

  /** Resolves at the first status for which `pred` holds, or false once `timeoutMs` passed. */
  until(pred: (s: ProberStatus) => boolean, timeoutMs: number, onStatus?: (s: ProberStatus) => void): Promise<boolean> {
    return new Promise((resolve, reject) => {
      const done = (v: boolean | Error): void => {
        clearTimeout(timer);
        this.statusListeners = this.statusListeners.filter((l) => l !== listener);
        if (v instanceof Error) reject(v);
        else resolve(v);
      };
      const listener = (s: ProberStatus): void => {
        if (this.exited) return done(this.exitError!);
        onStatus?.(s);
        if (pred(s)) done(true);
      };
      const timer = setTimeout(() => done(false), Math.max(0, timeoutMs));
      this.statusListeners.push(listener);
      if (this.exited) done(this.exitError!);
    });
  }

  /** The prober process (for /proc figures). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  command(cmd: string): void {
    if (!this.exited) this.child.stdin.write(cmd + '\n');
  }

  async stop(): Promise<ProberResult> {
    if (this.exited) throw this.exitError!;
    const result = new Promise<ProberResult>((resolve, reject) => {
      this.resultWaiter = resolve;
      this.child.once('exit', () => setTimeout(() => reject(this.exitError ?? new Error('prober exited without a result')), 50));
    });
    this.command('stop');
    return result;
  }

  kill(): void {
    if (!this.exited) this.child.kill('SIGKILL');
  }
}
