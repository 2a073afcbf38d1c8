/** One `nova-garp` subcommand; each lives in its own `src/cli/<name>-command.ts`. */
export interface Command {
  summary: string;
  run(argv: string[]): Promise<number>;
}
