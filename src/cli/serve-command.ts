import type { Command } from './command.js';
import { EXIT, UsageError } from './exit-codes.js';
import { intOption, parseCommandArgs } from './args.js';
import { SCHEDULE_HELP, SCHEDULE_OPTIONS, scheduleFromFlags, type ScheduleValues } from './schedule-options.js';
import { SETTINGS_HELP, SETTINGS_OPTIONS, loadSettings, overridesFromFlags, type NovaSettings } from '../nova/settings.js';
import { DEFAULT_STATE_DIR } from '../state/snapshot.js';
import { DEFAULT_CONTROL_SOCKET } from '../sidecar/control-server.js';
import { Sidecar } from '../sidecar/sidecar.js';
import { resolveGroup } from '../sidecar/group-id.js';
import { createLogger } from '../log.js';

const HELP = `Usage: nova-garp serve [options]

Runs the sidecar next to nova-network. It loads nova.conf, opens the control socket, loads the
last inventory snapshot, watches the host's addresses, then reads nova's database (bounded) and
follows RabbitMQ (in the background, reconnecting). When nova-network reports that it started
(the hook), when a target address appears on its interface, when a floating IP is associated, or
on request, it announces the addresses that are bound here right now.

Signals: SIGTERM/SIGINT stop cleanly (socket removed, connections closed); SIGHUP re-reads
nova.conf and the inventory.

Sidecar options:
      --state-dir DIR       snapshot directory (default ${DEFAULT_STATE_DIR}) [NOVA_GARP_STATE_DIR]
      --control-socket P    unix socket for the hook and reannounce (default ${DEFAULT_CONTROL_SOCKET})
                            [NOVA_GARP_CONTROL_SOCKET]
      --control-group G     group owning the control socket, so nova-network's hook may connect
                            (default: 'nova' when that group exists) [NOVA_GARP_CONTROL_GROUP]
      --metrics-listen H:P  Prometheus endpoint (default 127.0.0.1:9469; 'off' disables)
      --inventory FILE      static inventory instead of nova's database:
                            {"targets":[{"kind":"floating","address":"…","interface":"eth0"}]}
      --db-timeout-ms MS    bound on one database read (default 2000); past it the snapshot is used
      --refresh-s S         re-announce everything bound every S seconds (±10 % jitter; default off)
      --no-amqp             do not connect to RabbitMQ
      --bind-wait-ms MS     how long an associated floating IP may take to be bound (default 10000)
      --coalesce-ms MS      an address announced less than MS ago is not restarted (default 1000)
      --announce-on-start Y announce targets already bound when serve starts: yes | no (default yes;
                            covers a sidecar started after nova-network, harmless on a restart)
      --log-level L         pino level: debug, info, warn, error (default info) [NOVA_GARP_LOG_LEVEL]
Announcement schedule:
${SCHEDULE_HELP}
                            (serve: yes unless 'no' — a nova-network host forwards for its instances)
nova.conf and its overrides (flags beat NOVA_GARP_* variables, which beat nova.conf):
${SETTINGS_HELP}`;

interface Values extends ScheduleValues {
  'state-dir'?: string;
  'control-socket'?: string;
  'control-group'?: string;
  'metrics-listen'?: string;
  inventory?: string;
  'db-timeout-ms'?: string;
  'refresh-s'?: string;
  'no-amqp'?: boolean;
  'bind-wait-ms'?: string;
  'coalesce-ms'?: string;
  'announce-on-start'?: string;
  'log-level'?: string;
  'nova-config'?: string;
}

export const serveCommand: Command = {
  summary: 'run the sidecar next to nova-network',
  async run(argv) {
    const { values, help } = parseCommandArgs<Values>('serve', argv, {
      ...SETTINGS_OPTIONS,
      ...SCHEDULE_OPTIONS,
      'state-dir': { type: 'string' },
      'control-socket': { type: 'string' },
      'control-group': { type: 'string' },
      'metrics-listen': { type: 'string' },
      inventory: { type: 'string' },
      'db-timeout-ms': { type: 'string' },
      'refresh-s': { type: 'string' },
      'no-amqp': { type: 'boolean' },
      'bind-wait-ms': { type: 'string' },
      'coalesce-ms': { type: 'string' },
      'announce-on-start': { type: 'string' },
      'log-level': { type: 'string' },
    });
    if (help) {
      process.stdout.write(HELP + '\n');
      return EXIT.ok;
    }
    const env = process.env;
    const level = values['log-level'] ?? env.NOVA_GARP_LOG_LEVEL ?? 'info';
    if (!['trace', 'debug', 'info', 'warn', 'error', 'fatal'].includes(level)) throw new UsageError(`--log-level '${level}' is not a pino level`);
    const log = createLogger(level);
    const flags = overridesFromFlags(values as Record<string, unknown>);
    const readSettings = async (): Promise<NovaSettings> => {
      try {
        return await loadSettings({ novaConfig: values['nova-config'], flags, env });
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
    };
    const settings = await readSettings();
    for (const w of settings.warnings) log.warn(w);
    const { schedule, naRouter } = scheduleFromFlags(values);
    const announceOnStart = values['announce-on-start'] ?? 'yes';
    if (announceOnStart !== 'yes' && announceOnStart !== 'no') throw new UsageError(`--announce-on-start must be yes or no, got '${announceOnStart}'`);
    let controlGroup;
    try {
      controlGroup = await resolveGroup(values['control-group'] ?? env.NOVA_GARP_CONTROL_GROUP);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const metricsListen = values['metrics-listen'] ?? env.NOVA_GARP_METRICS_LISTEN ?? '127.0.0.1:9469';
    const sidecar = new Sidecar(
      {
        settings,
        stateDir: values['state-dir'] ?? env.NOVA_GARP_STATE_DIR ?? DEFAULT_STATE_DIR,
        controlSocket: values['control-socket'] ?? env.NOVA_GARP_CONTROL_SOCKET ?? DEFAULT_CONTROL_SOCKET,
        controlGid: controlGroup.gid,
        metricsListen: metricsListen === 'off' ? null : metricsListen,
        inventoryFile: values.inventory ?? null,
        schedule: { ...schedule, router: naRouter !== 'no' },
        dbTimeoutMs: intOption('db-timeout-ms', values['db-timeout-ms'], 50, 120_000) ?? 2000,
        refreshS: intOption('refresh-s', values['refresh-s'], 5, 86_400) ?? null,
        amqp: values['no-amqp'] !== true,
        bindWaitMs: intOption('bind-wait-ms', values['bind-wait-ms'], 0, 600_000) ?? 10_000,
        coalesceMs: intOption('coalesce-ms', values['coalesce-ms'], 0, 600_000) ?? 1000,
        announceOnStart: announceOnStart === 'yes',
      },
      log,
    );
    try {
      await sidecar.start();
    } catch (err) {
      await sidecar.stop().catch(() => undefined);
      throw new UsageError(`cannot start: ${(err as Error).message}`);
    }
    return new Promise<number>((resolve) => {
      let stopping = false;
      const stop = (signal: string): void => {
        if (stopping) return;
        stopping = true;
        log.info({ signal }, 'stopping');
        sidecar
          .stop()
          .then(() => resolve(EXIT.ok))
          .catch((err: Error) => {
            log.error({ err: err.message }, 'stop failed');
            resolve(EXIT.failure);
          });
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
      process.on('SIGHUP', () => {
        readSettings()
          .then((s) => sidecar.reload(s))
          .catch((err: Error) => log.error({ err: err.message }, 'reload failed; keeping the running configuration'));
      });
    });
  },
};
