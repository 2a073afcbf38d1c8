import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './exit-codes.js';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

export interface Parsed<T> {
  values: T;
  positionals: string[];
  help: boolean;
}

/**
 * Strict option parsing with `--help` everywhere; unknown flags become a UsageError naming the
 * command so the message is actionable without reading the source.
 */
export function parseCommandArgs<T = Record<string, unknown>>(
  command: string,
  argv: string[],
  options: OptionSpec,
  allowPositionals = false,
): Parsed<T> {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals,
      strict: true,
    });
    const { help, ...rest } = values as Record<string, unknown>;
    return { values: rest as T, positionals, help: help === true };
  } catch (err) {
    throw new UsageError(`nova-garp ${command}: ${(err as Error).message} (see 'nova-garp ${command} --help')`);
  }
}

/** Parses an integer flag with bounds; undefined stays undefined so defaults live in one place. */
export function intOption(name: string, raw: unknown, min: number, max: number): number | undefined {
  if (raw === undefined) return undefined;
  const text = String(raw);
  if (!/^-?\d+$/.test(text)) throw new UsageError(`--${name} must be a whole number, got '${text}'`);
  const n = Number(text);
  if (n < min || n > max) throw new UsageError(`--${name} must be between ${min} and ${max}, got ${n}`);
  return n;
}

export function numberOption(name: string, raw: unknown, min: number, max: number): number | undefined {
  if (raw === undefined) return undefined;
  const text = String(raw);
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${name} must be a number, got '${text}'`);
  if (n < min || n > max) throw new UsageError(`--${name} must be between ${min} and ${max}, got ${n}`);
  return n;
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}
