import type { Command } from './command.js';
import { EXIT, UsageError } from './exit-codes.js';

/** One entry of the command table: loaded lazily so `announce` does not pay for MySQL and AMQP. */
export interface CommandEntry {
  summary: string;
  load: () => Promise<Command>;
}
export type CommandTable = Readonly<Record<string, CommandEntry>>;

/**
 * The product's commands: what runs on a nova host. The repository's tools (`lab`, `db`) add
 * theirs in tools/cli/main.ts, which bin/nova-garp runs when dist/tools/ exists.
 */
export const PRODUCT_COMMANDS: CommandTable = {
  announce: {
    summary: 'announce addresses bound on one interface (GARP request/reply, IPv6 unsolicited NA)',
    load: async () => (await import('./announce-command.js')).announceCommand,
  },
  plan: {
    summary: 'show what would be announced for this host (nova.conf + nova DB, or the snapshot)',
    load: async () => (await import('./plan-command.js')).planCommand,
  },
  serve: {
    summary: 'run the sidecar next to nova-network',
    load: async () => (await import('./serve-command.js')).serveCommand,
  },
  status: {
    summary: "the local sidecar's health for people and monitors (exit 0 healthy, 1 degraded, 2 down)",
    load: async () => (await import('./status-command.js')).statusCommand,
  },
  reannounce: {
    summary: 'ask a running sidecar (or, with --remote, sidecars on other hosts) to announce again',
    load: async () => (await import('./reannounce-command.js')).reannounceCommand,
  },
};

function usage(commands: CommandTable): string {
  const width = Math.max(...Object.keys(commands).map((c) => c.length));
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return [
    'Usage: nova-garp <command> [options]',
    '',
    'Commands:',
    ...lines,
    '',
    "Run 'nova-garp <command> --help' for a command's options.",
    'Exit codes: 0 ok, 1 runtime failure, 2 usage or environment error, 3 some addresses skipped,',
    '            4 no inventory (neither database nor snapshot); status: 0 healthy, 1 degraded, 2 down.',
  ].join('\n');
}

export function main(argv: string[]): Promise<number> {
  return runCommand(argv, PRODUCT_COMMANDS);
}

/** Runs `argv` against a command table (the product's, or the product's and the tools'). */
export async function runCommand(argv: string[], commands: CommandTable): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage(commands) + '\n');
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  if (name === '--version') {
    process.stdout.write('nova-garp 0.1.0\n');
    return EXIT.ok;
  }
  const entry = commands[name];
  if (entry === undefined) {
    const hint = suggestCommand(name, commands);
    process.stderr.write(`nova-garp: unknown command '${name}'; ${hint === null ? '' : `did you mean '${hint}'? `}run 'nova-garp --help' for the list\n\n${usage(commands)}\n`);
    return EXIT.usage;
  }
  // Options only: after a bare '--' everything is an argument, never the --json flag.
  const end = rest.indexOf('--');
  const json = (end === -1 ? rest : rest.slice(0, end)).includes('--json');
  try {
    const command = await entry.load();
    return await command.run(rest);
  } catch (err) {
    const isUsage = err instanceof UsageError;
    const code = isUsage ? err.exitCode : EXIT.failure;
    const message = isUsage ? err.message : String((err as Error).message ?? err);
    // A tool that asked for JSON gets JSON on failure too, on stdout; people read stderr.
    if (json) process.stdout.write(JSON.stringify({ error: message, exitCode: code }, null, 2) + '\n');
    process.stderr.write(`nova-garp ${name}: ${isUsage ? message : ((err as Error).stack ?? String(err))}\n`);
    return code;
  }
}

function suggestCommand(given: string, commands: CommandTable): string | null {
  const names = Object.keys(commands);
  return names.find((n) => n.startsWith(given) || given.startsWith(n)) ?? null;
}
