import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './exit-codes.js';

/**
 * Flag parsing for every command, with one message style for everything the user typed wrong:
 * `nova-garp <command>: <what is wrong>; <what to do>` (main adds the prefix), exit 2. Node's own
 * parseArgs texts never reach the user.
 */

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

export interface Parsed<T> {
  values: T;
  positionals: string[];
  help: boolean;
}

/** Old flag name → new one; the old name still works and prints a deprecation warning. */
export type Aliases = Record<string, string>;

/** Levenshtein distance, for "did you mean" on unknown flags. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

/** The closest known long flag, when it is close enough to be a typo (or a prefix/extension of one). */
export function suggestFlag(given: string, known: string[]): string | null {
  const name = given.replace(/^-+/, '').replace(/=.*$/, '');
  let best: { flag: string; d: number } | null = null;
  for (const k of known) {
    const d = k.startsWith(name) || name.startsWith(k) ? Math.min(1, distance(name, k)) : distance(name, k);
    if (best === null || d < best.d) best = { flag: k, d };
  }
  if (best === null) return null;
  return best.d <= Math.max(2, Math.floor(name.length / 4)) ? `--${best.flag}` : null;
}

/**
 * `--floating-ips -5` is "ambiguous" to node:util (the value starts with a dash). A negative number
 * after a flag that takes a value is a value: rewrite it to `--flag=-5` so the range check speaks.
 */
function joinNegativeValues(argv: string[], options: OptionSpec): string[] {
  const takesValue = new Set<string>();
  for (const [name, o] of Object.entries(options)) {
    if (o.type !== 'string') continue;
    takesValue.add(`--${name}`);
    if (o.short !== undefined) takesValue.add(`-${o.short}`);
  }
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      out.push(...argv.slice(i));
      break;
    }
    const next = argv[i + 1];
    if (takesValue.has(a) && next !== undefined && /^-\d/.test(next)) {
      out.push(a.startsWith('--') ? `${a}=${next}` : `${a}${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

/** Turns node:util's parse errors into `<what is wrong>; <what to do>`. */
export function describeParseError(command: string, err: unknown, options: OptionSpec): string {
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: string }).code;
  const help = `see 'nova-garp ${command} --help'`;
  const flag = /Option '(?:-\w, )?(--[^ ']+)/.exec(message)?.[1] ?? /'(-[^' ]+)/.exec(message)?.[1] ?? null;
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const given = /Unknown option '([^']+)'/.exec(message)?.[1] ?? flag ?? '?';
    const known = [...Object.keys(options), 'help'];
    const hint = given.startsWith('--') ? suggestFlag(given, known) : null;
    return `unknown option '${given}'; ${hint !== null ? `did you mean ${hint}? (${help})` : help}`;
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && flag !== null) {
    if (/argument missing/.test(message)) return `${flag} needs a value; write ${flag} VALUE (${help})`;
    if (/does not take an argument/.test(message)) return `${flag} takes no value; write ${flag} alone (${help})`;
    if (/ambiguous/.test(message)) return `${flag} needs a value, and what follows it looks like an option; write ${flag}=VALUE when the value starts with '-'`;
  }
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
    const arg = /Unexpected argument '([^']*)'/.exec(message)?.[1] ?? '?';
    return `unexpected argument '${arg}'; nova-garp ${command} takes options only (${help})`;
  }
  return `${message.split('\n')[0]}; ${help}`;
}

/**
 * Strict option parsing with `--help` everywhere; every parse error becomes a UsageError in the
 * common style. `aliases` keep deprecated flag names working (value moved to the new name, with a
 * warning on stderr).
 */
export function parseCommandArgs<T = Record<string, unknown>>(
  command: string,
  argv: string[],
  options: OptionSpec,
  allowPositionals = false,
  aliases: Aliases = {},
): Parsed<T> {
  const all: OptionSpec = { ...options, help: { type: 'boolean', short: 'h' } };
  for (const [old, current] of Object.entries(aliases)) {
    const spec = options[current];
    if (spec === undefined) continue;
    const { short: _short, ...withoutShort } = spec;
    all[old] = withoutShort;
  }
  let parsed;
  try {
    parsed = parseArgs({ args: joinNegativeValues(argv, all), options: all, allowPositionals, strict: true });
  } catch (err) {
    throw new UsageError(describeParseError(command, err, options));
  }
  const { help, ...rest } = parsed.values as Record<string, unknown>;
  for (const [old, current] of Object.entries(aliases)) {
    if (rest[old] === undefined) continue;
    if (rest[current] !== undefined) throw new UsageError(`--${old} and --${current} are the same option; give only --${current}`);
    process.stderr.write(`nova-garp ${command}: warning: --${old} is deprecated; use --${current}\n`);
    rest[current] = rest[old];
    delete rest[old];
  }
  return { values: rest as T, positionals: parsed.positionals, help: help === true };
}

/** Where a value came from, for messages: `--db-timeout-ms` or `NOVA_GARP_DB_TIMEOUT_MS`. */
function label(name: string, from?: string): string {
  return from ?? `--${name}`;
}

/** Parses an integer flag with bounds; undefined stays undefined so defaults live in one place. */
export function intOption(name: string, raw: unknown, min: number, max: number, from?: string): number | undefined {
  if (raw === undefined) return undefined;
  const text = String(raw);
  const what = label(name, from);
  if (!/^-?\d+$/.test(text.trim())) throw new UsageError(`${what} '${text}' is not a whole number; give one from ${min} to ${max}`);
  const n = Number(text.trim());
  if (n < min || n > max) throw new UsageError(`${what} ${n} is out of range; give a whole number from ${min} to ${max}`);
  return n;
}

export function numberOption(name: string, raw: unknown, min: number, max: number, from?: string): number | undefined {
  if (raw === undefined) return undefined;
  const text = String(raw);
  const what = label(name, from);
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n)) throw new UsageError(`${what} '${text}' is not a number; give one from ${min} to ${max}`);
  if (n < min || n > max) throw new UsageError(`${what} ${n} is out of range; give a number from ${min} to ${max}`);
  return n;
}

/** One of a fixed set of words. */
export function choiceOption<C extends string>(name: string, raw: unknown, choices: readonly C[], from?: string): C | undefined {
  if (raw === undefined) return undefined;
  const text = String(raw);
  if (!(choices as readonly string[]).includes(text)) {
    throw new UsageError(`${label(name, from)} '${text}' is not valid; give one of ${choices.join(', ')}`);
  }
  return text as C;
}

/** A value from a flag, else from an environment variable (empty counts as unset), with its label. */
export function flagOrEnv(name: string, flagValue: string | undefined, envName: string, env: NodeJS.ProcessEnv = process.env): { raw: string | undefined; from: string } {
  if (flagValue !== undefined) return { raw: flagValue, from: `--${name}` };
  const v = env[envName];
  if (v !== undefined && v !== '') return { raw: v, from: envName };
  return { raw: undefined, from: `--${name}` };
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}
