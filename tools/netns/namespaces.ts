import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { run } from '../../src/shell.js';

const NETNS_DIR = '/var/run/netns';

/** A short random tag: interface names are limited to 15 characters, so prefixes must stay short. */
export function uniqueTag(): string {
  return randomBytes(3).toString('hex');
}

export function listNamespaces(prefix: string): string[] {
  try {
    return readdirSync(NETNS_DIR).filter((n) => n.startsWith(prefix));
  } catch {
    return [];
  }
}

/**
 * A group of network namespaces created under one prefix and removed together. Removing a
 * namespace destroys its veth ends (and their peers) and bridges, so cleanup is per namespace.
 */
export class NamespaceGroup {
  private readonly created: string[] = [];
  private cleaned = false;
  private readonly onSignal = (): void => {
    this.cleanupSync();
    process.exit(130);
  };

  constructor(readonly prefix: string) {
    process.once('SIGINT', this.onSignal);
    process.once('SIGTERM', this.onSignal);
  }

  /** Creates `<prefix><name>` with loopback up and returns its full name. */
  async add(name: string): Promise<string> {
    const full = `${this.prefix}${name}`;
    await run(['ip', 'netns', 'add', full]);
    this.created.push(full);
    await run(['ip', '-n', full, 'link', 'set', 'lo', 'up']);
    return full;
  }

  /** `ip -n NS -batch -`: thousands of commands in one process. */
  async batch(ns: string, lines: string[]): Promise<void> {
    if (lines.length > 0) await run(['ip', '-n', ns, '-batch', '-'], { input: lines.join('\n') + '\n' });
  }

  async ip(ns: string, ...args: string[]): Promise<string> {
    return run(['ip', '-n', ns, ...args]);
  }

  async exec(ns: string, argv: string[], timeoutMs?: number): Promise<string> {
    return run(['ip', 'netns', 'exec', ns, ...argv], { timeoutMs });
  }

  /** A veth pair with one end in each namespace (null = the current namespace). */
  async veth(a: { ns: string | null; name: string }, b: { ns: string | null; name: string }): Promise<void> {
    await run(['ip', 'link', 'add', a.name, 'type', 'veth', 'peer', 'name', b.name]);
    for (const end of [a, b]) {
      if (end.ns !== null) await run(['ip', 'link', 'set', end.name, 'netns', end.ns]);
      await run(end.ns === null ? ['ip', 'link', 'set', end.name, 'up'] : ['ip', '-n', end.ns, 'link', 'set', end.name, 'up']);
    }
  }

  async cleanup(): Promise<void> {
    if (this.cleaned) return;
    this.cleaned = true;
    process.removeListener('SIGINT', this.onSignal);
    process.removeListener('SIGTERM', this.onSignal);
    for (const ns of this.created.reverse()) {
      await run(['ip', 'netns', 'del', ns]).catch(() => undefined);
    }
    // Veths left in the root namespace (peer of nothing) are removed by prefix.
    await removeRootLinks(this.prefix);
  }

  private cleanupSync(): void {
    // Signal path: the process is about to exit, so nothing can be awaited.
    for (const ns of this.created) spawnSyncQuiet(['ip', 'netns', 'del', ns]);
    this.cleaned = true;
  }
}

function spawnSyncQuiet(argv: string[]): void {
  spawnSync(argv[0]!, argv.slice(1), { stdio: 'ignore' });
}

async function removeRootLinks(prefix: string): Promise<void> {
  const out = await run(['ip', '-j', 'link', 'show']).catch(() => '[]');
  const links = JSON.parse(out) as Array<{ ifname: string }>;
  for (const l of links) if (l.ifname.startsWith(prefix)) await run(['ip', 'link', 'del', l.ifname]).catch(() => undefined);
}
