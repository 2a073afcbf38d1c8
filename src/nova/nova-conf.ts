import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

/**
 * nova.conf in either of the two formats nova ever read:
 * - gflags flagfiles (Cactus, Diablo; Essex still accepts them): `--name=value` per line,
 *   `--flagfile=` includes, `--noname` for a false boolean;
 * - INI (Essex and later, oslo.config): `[section]`, `key = value`, indented continuation lines.
 *
 * Parsing is pure: includes are read through a caller-supplied function so tests need no files.
 */

export type NovaConfFormat = 'flagfile' | 'ini';

export interface ConfValue {
  value: string;
  /** File and 1-based line the value came from, for error messages that point at the cause. */
  file: string;
  line: number;
}

export interface NovaConf {
  format: NovaConfFormat;
  /** Every file read, the top file first, then includes in the order met. */
  files: string[];
  /** Section name → option → value. Flagfiles put everything in `DEFAULT`. */
  sections: Map<string, Map<string, ConfValue>>;
  /** Things nova itself would tolerate but an operator should hear about (circular includes). */
  warnings: string[];
}

export class NovaConfError extends Error {
  constructor(
    readonly file: string,
    readonly line: number | null,
    detail: string,
  ) {
    super(line === null ? `${file}: ${detail}` : `${file}:${line}: ${detail}`);
    this.name = 'NovaConfError';
  }
}

export type IncludeReader = (path: string) => string;

/** Essex's compat rule (nova/compat/flagfile.py): a file is a flagfile when its first line starts with `--`. */
export function detectFormat(text: string): NovaConfFormat {
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('//') || line.startsWith(';')) continue;
    return line.startsWith('-') ? 'flagfile' : 'ini';
  }
  // An empty file is valid in both formats; INI is what every supported release after Essex reads.
  return 'ini';
}

export function parseNovaConf(text: string, file: string, readInclude?: IncludeReader): NovaConf {
  const format = detectFormat(text);
  const conf: NovaConf = { format, files: [file], sections: new Map(), warnings: [] };
  if (format === 'flagfile') parseFlagfile(text, file, conf, readInclude, [file]);
  else parseIni(text, file, conf);
  return conf;
}

function section(conf: NovaConf, name: string): Map<string, ConfValue> {
  let s = conf.sections.get(name);
  if (s === undefined) {
    s = new Map();
    conf.sections.set(name, s);
  }
  return s;
}

function parseFlagfile(text: string, file: string, conf: NovaConf, readInclude: IncludeReader | undefined, stack: string[]): void {
  const defaults = section(conf, 'DEFAULT');
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = (lines[i] ?? '').trim();
    if (line === '' || line.startsWith('#') || line.startsWith('//')) continue;
    if (!line.startsWith('-')) {
      throw new NovaConfError(file, lineNo, `not a flag (flagfile lines look like --name=value): '${clip(line)}'`);
    }
    const body = line.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = (eq < 0 ? body : body.slice(0, eq)).trim();
    if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(name)) {
      throw new NovaConfError(file, lineNo, `bad flag name '${clip(name)}'`);
    }
    if (name === 'flagfile') {
      if (eq < 0) throw new NovaConfError(file, lineNo, '--flagfile needs a file name');
      includeFlagfile(body.slice(eq + 1).trim(), file, lineNo, conf, readInclude, stack);
      continue;
    }
    if (eq >= 0) {
      defaults.set(name, { value: body.slice(eq + 1), file, line: lineNo });
    } else if (name.startsWith('no') && name.length > 2) {
      // gflags: `--nofoo` sets boolean foo to false; a bare `--foo` sets it to true.
      defaults.set(name.slice(2), { value: 'false', file, line: lineNo });
    } else {
      defaults.set(name, { value: 'true', file, line: lineNo });
    }
  }
}

function includeFlagfile(
  target: string,
  file: string,
  lineNo: number,
  conf: NovaConf,
  readInclude: IncludeReader | undefined,
  stack: string[],
): void {
  // gflags resolves against the working directory; nova's init scripts always pass absolute paths,
  // and relative to the including file is the only reading that does not depend on where we run.
  const path = resolve(dirname(file), target);
  if (stack.includes(path)) {
    conf.warnings.push(`${file}:${lineNo}: circular --flagfile=${target} ignored (as gflags does)`);
    return;
  }
  if (readInclude === undefined) throw new NovaConfError(file, lineNo, `--flagfile=${target}: includes cannot be read here`);
  let text: string;
  try {
    text = readInclude(path);
  } catch (err) {
    throw new NovaConfError(file, lineNo, `--flagfile=${target}: cannot read ${path}: ${(err as Error).message}`);
  }
  conf.files.push(path);
  parseFlagfile(text, path, conf, readInclude, [...stack, path]);
}

function parseIni(text: string, file: string, conf: NovaConf): void {
  const lines = text.split(/\r?\n/);
  let current: Map<string, ConfValue> | null = null;
  let last: { map: Map<string, ConfValue>; key: string } | null = null;
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const raw = lines[i] ?? '';
    const line = raw.trim();
    if (line === '') {
      last = null;
      continue;
    }
    if (line.startsWith('#') || line.startsWith(';')) continue;
    // oslo.config's iniparser: an indented line continues the previous value.
    if (/^\s/.test(raw) && last !== null) {
      const prev = last.map.get(last.key);
      if (prev !== undefined) prev.value = `${prev.value}\n${line}`;
      continue;
    }
    if (line.startsWith('[')) {
      const m = /^\[([^\]]+)\]$/.exec(line);
      if (m?.[1] === undefined || m[1].trim() === '') throw new NovaConfError(file, lineNo, `bad section header '${clip(line)}'`);
      current = section(conf, m[1].trim());
      last = null;
      continue;
    }
    if (current === null) throw new NovaConfError(file, lineNo, `option outside any [section]: '${clip(line)}'`);
    const m = /^([^=:\s][^=:]*?)\s*[=:]\s*(.*)$/.exec(line);
    if (m?.[1] === undefined) throw new NovaConfError(file, lineNo, `expected 'name = value', got '${clip(line)}'`);
    const key = m[1].trim();
    current.set(key, { value: unquote(m[2] ?? ''), file, line: lineNo });
    last = { map: current, key };
  }
}

function unquote(value: string): string {
  const v = value.trim();
  if (v.length >= 2 && (v[0] === '"' || v[0] === "'") && v[v.length - 1] === v[0]) return v.slice(1, -1);
  return v;
}

function clip(text: string): string {
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** I/O shell: reads the file (and its flagfile includes) from disk. */
export async function readNovaConf(path: string): Promise<NovaConf> {
  const abs = resolve(path);
  let text: string;
  try {
    text = await readFile(abs, 'utf8');
  } catch (err) {
    throw new NovaConfError(abs, null, `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return parseNovaConf(text, abs, (p) => readFileSync(p, 'utf8'));
}

/** Looks an option up in the first section that has it; returns the raw, unresolved value. */
export function lookup(conf: NovaConf | null, candidates: ReadonlyArray<readonly [section: string, key: string]>): ConfValue | undefined {
  if (conf === null) return undefined;
  for (const [sec, key] of candidates) {
    const hit = findSection(conf, sec)?.get(key);
    if (hit !== undefined) return hit;
  }
  return undefined;
}

/** oslo.config treats group names case-insensitively in practice ([DATABASE] and [database] both work). */
function findSection(conf: NovaConf, name: string): Map<string, ConfValue> | undefined {
  const exact = conf.sections.get(name);
  if (exact !== undefined) return exact;
  for (const [k, v] of conf.sections) if (k.toLowerCase() === name.toLowerCase()) return v;
  return undefined;
}
