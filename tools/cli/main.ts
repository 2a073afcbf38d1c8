import { PRODUCT_COMMANDS, runCommand, type CommandTable } from '../../src/cli/main.js';

/**
 * The repository's `nova-garp`: the product's commands plus the tools that test, measure and
 * demonstrate it. bin/nova-garp runs this entry when dist/tools/ exists (a checkout), and the
 * product's src/cli/main.ts otherwise (the packaged tarball and the image carry no tools).
 */
export const TOOL_COMMANDS: CommandTable = {
  db: {
    summary: 'create (migrate) or seed a nova-shaped database for the lab, benchmarks and trials',
    load: async () => (await import('./db-command.js')).dbCommand,
  },
  lab: {
    summary: 'failover lab: reproduce the nova-network failover in network namespaces and measure it',
    load: async () => (await import('./lab-command.js')).labCommand,
  },
};

export function main(argv: string[]): Promise<number> {
  return runCommand(argv, { ...PRODUCT_COMMANDS, ...TOOL_COMMANDS });
}
