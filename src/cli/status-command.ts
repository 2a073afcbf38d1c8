import type { Command } from './command.js';
import { EXIT, UsageError } from './exit-codes.js';
import { flagOrEnv, intOption, parseCommandArgs, printJson } from './args.js';
import { DEFAULT_MAX_SNAPSHOT_AGE_S, downVerdict, renderStatus, verdictForAnswer, type HealthVerdict } from './health.js';
import { ControlError, controlRequest, socketPathProblem } from '../sidecar/control-client.js';
import { DEFAULT_CONTROL_SOCKET } from '../sidecar/control-server.js';

const DEFAULT_TIMEOUT_MS = 5000;

const HELP = `Usage: nova-garp status [--json] [options]

Asks the local sidecar (GET /v1/status on its control socket) how it is, and says it in one word
and an exit code that a monitor can use. The first line is a Nagios plugin line
("NOVA-GARP OK|DEGRADED|DOWN: ... | perfdata"), the rest is for people.

Options:
      --control-socket P        the sidecar's socket (default ${DEFAULT_CONTROL_SOCKET}) [NOVA_GARP_CONTROL_SOCKET]
      --timeout-ms MS           no answer within MS is "down" (default ${DEFAULT_TIMEOUT_MS})
      --max-snapshot-age-s S    an inventory read from a snapshot older than S seconds is
                                "degraded" (default ${DEFAULT_MAX_SNAPSHOT_AGE_S})
      --json                    print {"health","exitCode","problems","socket","status"} (status =
                                the sidecar's own /v1/status body; null without one)
  -h, --help                    this help

Exit codes (Nagios reads them as OK, WARNING, CRITICAL):
  0  healthy   the sidecar answers and nothing below is wrong
  1  degraded  it answers and still announces, but: nova's database read failed, RabbitMQ is
               enabled and not connected, there is no inventory, the inventory is a snapshot
               older than --max-snapshot-age-s, the sidecar reports address conflicts, or it
               is shedding load (503)
  2  down      no sidecar: no socket, nothing listening on it, no answer within --timeout-ms, or
               an answer that is not a status; also a usage error (a broken check is not "up")
A monitor that restarts the sidecar should do so on 2 only: degraded still announces.`;

interface Values {
  'control-socket'?: string;
  'timeout-ms'?: string;
  'max-snapshot-age-s'?: string;
  json?: boolean;
}

export const statusCommand: Command = {
  summary: "show the local sidecar's health (exit 0 healthy, 1 degraded, 2 down)",
  async run(argv) {
    const { values, help } = parseCommandArgs<Values>('status', argv, {
      'control-socket': { type: 'string' },
      'timeout-ms': { type: 'string' },
      'max-snapshot-age-s': { type: 'string' },
      json: { type: 'boolean' },
    });
    if (help) {
      process.stdout.write(HELP + '\n');
      return EXIT.ok;
    }
    const socket = flagOrEnv('control-socket', values['control-socket'], 'NOVA_GARP_CONTROL_SOCKET');
    const socketPath = socket.raw ?? DEFAULT_CONTROL_SOCKET;
    const problem = socketPathProblem(socketPath);
    if (problem !== null) throw new UsageError(`${socket.from}: ${problem}; give a shorter path`);
    const timeoutMs = intOption('timeout-ms', values['timeout-ms'], 100, 600_000) ?? DEFAULT_TIMEOUT_MS;
    const maxSnapshotAgeS = intOption('max-snapshot-age-s', values['max-snapshot-age-s'], 0, 10 * 365 * 86_400) ?? DEFAULT_MAX_SNAPSHOT_AGE_S;

    let verdict: HealthVerdict;
    let body: unknown = null;
    try {
      const res = await controlRequest(socketPath, 'GET', '/v1/status', undefined, timeoutMs);
      if (res.status === 200) body = res.body;
      verdict = verdictForAnswer(res.status, res.body, new Date(), { maxSnapshotAgeS }, socketPath);
    } catch (err) {
      verdict = downVerdict(err instanceof ControlError ? err.message : `cannot ask ${socketPath}: ${(err as Error).message}`);
    }

    if (values.json === true) {
      printJson({ health: verdict.health, exitCode: verdict.exitCode, problems: verdict.problems, socket: socketPath, status: body });
    } else {
      process.stdout.write(renderStatus(verdict, socketPath));
    }
    return verdict.exitCode;
  },
};
