import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';

/**
 * One `nova-garp serve` started as a child process, as an operator or systemd starts it, for the
 * lab, the tests and anything else that needs a real sidecar: its pino lines parsed as they come,
 * waits on them, and a stop that cannot leave the child behind.
 */

/** The checkout: the nearest folder above this module with bin/nova-garp (from tools/ or dist/tools/). */
function findRepoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'bin', 'nova-garp')) || !existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`no bin/nova-garp above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
  return dir;
}

export const REPO_ROOT = findRepoRoot();
export const BIN = join(REPO_ROOT, 'bin', 'nova-garp');

export interface ServeOptions {
  /** Network namespace to run in (`ip netns exec`); null: this process's namespace. */
  netns: string | null;
  /** Everything after `nova-garp serve`. */
  args: readonly string[];
  /** The child's environment (default: this process's). */
  env?: NodeJS.ProcessEnv;
  /** Options for node itself, before the script (e.g. --cpu-prof for a benchmark's profile). */
  nodeArgs?: readonly string[];
  /** Another build's bin/nova-garp (a benchmark comparing two builds); default: this checkout's. */
  bin?: string;
}

export type LogLine = Record<string, unknown>;

/**
 * A child must not outlive its parent, also when a signal ends the parent while the child is
 * starting (a process in a deleted namespace keeps that namespace, and its veths, alive).
 */
export function killOnExit(child: ChildProcess): void {
  const kill = (): void => void child.kill('SIGKILL');
  process.on('exit', kill);
  child.once('exit', () => process.removeListener('exit', kill));
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code (null: killed by a signal). */
export async function stopChild(child: ChildProcess, graceMs: number): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  const code = await exited;
  clearTimeout(timer);
  return code;
}

export class ServeProcess {
  /** Every stderr line, parsed (a line that is not JSON: `{ msg: line, raw: true }`). */
  readonly logs: LogLine[] = [];
  /** When each line of `logs` arrived (wall clock, ms with a fraction): the benchmarks' clock. */
  readonly receivedAt: number[] = [];
  private readonly listeners = new Set<() => void>();

  private constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stderr! }).on('line', (line) => {
      this.receivedAt.push(performance.timeOrigin + performance.now());
      try {
        this.logs.push(JSON.parse(line) as LogLine);
      } catch {
        this.logs.push({ msg: line, raw: true });
      }
      for (const l of this.listeners) l();
    });
    child.once('exit', (code) => {
      if (code !== 0 && code !== null) this.logs.push({ msg: `serve exited ${code}` });
      for (const l of this.listeners) l();
    });
  }

  static spawn(opts: ServeOptions): ServeProcess {
    const argv = [...(opts.netns === null ? [] : ['ip', 'netns', 'exec', opts.netns]), process.execPath, ...(opts.nodeArgs ?? []), opts.bin ?? BIN, 'serve', ...opts.args];
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], env: opts.env ?? process.env });
    killOnExit(child);
    return new ServeProcess(child);
  }

  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  /** The last lines, for error messages. */
  tail(n = 30): string {
    return this.logs
      .slice(-n)
      .map((l) => (l.raw === true ? String(l.msg) : JSON.stringify(l)))
      .join('\n');
  }

  /** The first log line (already seen or still to come) that `pred` accepts. */
  waitForLog(pred: (l: LogLine) => boolean, timeoutMs = 15_000): Promise<LogLine> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const hit = this.logs.find(pred);
        if (hit === undefined) return false;
        this.listeners.delete(onLine);
        clearTimeout(timer);
        resolve(hit);
        return true;
      };
      const onLine = (): void => void check();
      const timer = setTimeout(() => {
        this.listeners.delete(onLine);
        reject(new Error(`log line not seen within ${timeoutMs} ms; logs:\n${this.logs.map((l) => JSON.stringify(l)).join('\n')}`));
      }, timeoutMs);
      if (!check()) this.listeners.add(onLine);
    });
  }

  /** Resolves when serve logs "ready"; rejects when it exits first or takes longer than `timeoutMs`. */
  ready(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = (err: Error | null): void => {
        this.listeners.delete(check);
        clearTimeout(timer);
        if (err === null) resolve();
        else reject(err);
      };
      const check = (): void => {
        if (this.logs.some((l) => l.msg === 'ready')) done(null);
        else if (this.exited) done(new Error(`nova-garp serve exited (${this.child.exitCode ?? this.child.signalCode}) before it was ready:\n${this.tail()}`));
      };
      const timer = setTimeout(() => done(new Error(`nova-garp serve did not log "ready" within ${timeoutMs / 1000} s:\n${this.tail()}`)), timeoutMs);
      this.listeners.add(check);
      check();
    });
  }

  /** SIGTERM (SIGKILL after `graceMs`); resolves with the exit code. */
  stop(graceMs = 5000): Promise<number | null> {
    return stopChild(this.child, graceMs);
  }
}
