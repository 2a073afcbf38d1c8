import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export class CommandError extends Error {
  constructor(
    readonly argv: string[],
    readonly stderr: string,
    readonly code: number | string | null,
  ) {
    super(`${argv.join(' ')} failed (${code}): ${stderr.trim()}`);
    this.name = 'CommandError';
  }
}

/** Runs a command and returns its stdout; failure carries argv and stderr. */
export async function run(argv: string[], options: { input?: string; timeoutMs?: number } = {}): Promise<string> {
  if (options.input !== undefined) return runWithInput(argv, options.input, options.timeoutMs ?? 60_000);
  try {
    const { stdout } = await execFileAsync(argv[0]!, argv.slice(1), { maxBuffer: 256 * 1024 * 1024, timeout: options.timeoutMs ?? 60_000 });
    return stdout;
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string; code?: number | string };
    throw new CommandError(argv, e.stderr ?? e.message, e.code ?? null);
  }
}

function runWithInput(argv: string[], input: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'], timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (e) => reject(new CommandError(argv, e.message, null)));
    child.on('close', (code) => (code === 0 ? resolve(stdout) : reject(new CommandError(argv, stderr, code))));
    child.stdin.end(input);
  });
}
