import { mkdir } from 'node:fs/promises';
import { dirname, resolve as resolvePath } from 'node:path';
import type { Command } from './command.js';
import { EXIT, UsageError } from './exit-codes.js';
import { choiceOption, flagOrEnv, intOption, parseCommandArgs } from './args.js';
import { checkDirectory, checkFile, checkListen, DB_TIMEOUT_MAX_MS, DB_TIMEOUT_MIN_MS } from './flag-checks.js';
import { SCHEDULE_HELP, SCHEDULE_OPTIONS, scheduleFromFlags, type ScheduleValues } from './schedule-options.js';
import { loadSettings, type NovaSettings } from '../nova/settings.js';
import { overridesFromFlags, SETTINGS_HELP, SETTINGS_OPTIONS } from './settings-options.js';
import { DEFAULT_STATE_DIR } from '../inventory/snapshot.js';
import { DEFAULT_CONTROL_SOCKET } from '../sidecar/control-server.js';
import { socketPathProblem } from '../sidecar/control-client.js';
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
      --control-socket P    unix socket for the hook, reannounce and status (default
                            ${DEFAULT_CONTROL_SOCKET}; at most 107 bytes) [NOVA_GARP_CONTROL_SOCKET]
      --control-group G     group owning the control socket, so nova-network's hook may connect
                            (default: 'nova' when that group exists) [NOVA_GARP_CONTROL_GROUP]
      --metrics-listen H:P  Prometheus endpoint (default 127.0.0.1:9469; 'off' disables)
                            [NOVA_GARP_METRICS_LISTEN]
      --inventory FILE      static inventory instead of nova's database:
                            {"targets":[{"kind":"floating","address":"…","interface":"eth0"}]}
      --db-timeout-ms MS    bound on one database read (default 2000); past it the snapshot is used
                            [NOVA_GARP_DB_TIMEOUT_MS]
      --refresh-s S         re-announce everything bound every S seconds (±10 % jitter; default off)
      --no-amqp             do not connect to RabbitMQ
      --bind-wait-ms MS     how long an associated floating IP may take to be bound (default 10000)
      --coalesce-ms MS      an address announced less than MS ago is not restarted (default 1000)
      --announce-on-start Y announce targets already bound when serve starts: yes | no (default yes;
                            covers a sidecar started after nova-network, harmless on a restart)
      --on-conflict M       another MAC claiming an address bound here (split brain): 'defend'
                            sends one announcement per address per 10 s at most, never a fight;
                            'alarm' only reports it (default defend)
      --conflict-expire-s S a conflict not seen again for S seconds is cleared (default 60)
      --log-level L         pino level: debug, info, warn, error (default info) [NOVA_GARP_LOG_LEVEL]
Announcement schedule:
${SCHEDULE_HELP}
                            (serve: yes unless 'no' — a nova-network host forwards for its instances)
nova.conf and its overrides (flags beat NOVA_GARP_* variables, which beat nova.conf):
${SETTINGS_HELP}

Directories: serve creates the control socket's directory and --state-dir when they are missing
but their parent exists (e.g. /run/nova-garp, /var/lib/nova-garp), never a missing parent: a
path under a directory that does not exist is refused before anything starts.

Exit codes: 0 stopped by SIGTERM/SIGINT; 1 failed while running; 2 usage or configuration error,
or cannot start (socket in use, no permission), always before the sidecar runs.`;

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
  'on-conflict'?: string;
  'conflict-expire-s'?: string;
  'nova-config'?: string;
}

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;

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
      'on-conflict': { type: 'string' },
      'conflict-expire-s': { type: 'string' },
    });
    if (help) {
      process.stdout.write(HELP + '\n');
      return EXIT.ok;
    }
    const env = process.env;
    // Every flag is checked before anything starts: no socket, no log line, no database read.
    const level = choiceOption('log-level', values['log-level'] ?? (env.NOVA_GARP_LOG_LEVEL || undefined), LOG_LEVELS, values['log-level'] === undefined ? 'NOVA_GARP_LOG_LEVEL' : undefined) ?? 'info';
    const { schedule, naRouter } = scheduleFromFlags(values);
    const announceOnStart = choiceOption('announce-on-start', values['announce-on-start'], ['yes', 'no'] as const) ?? 'yes';
    const onConflict = choiceOption('on-conflict', values['on-conflict'], ['defend', 'alarm'] as const) ?? 'defend';
    const conflictExpireS = intOption('conflict-expire-s', values['conflict-expire-s'], 1, 86_400) ?? 60;
    const dbTimeout = flagOrEnv('db-timeout-ms', values['db-timeout-ms'], 'NOVA_GARP_DB_TIMEOUT_MS', env);
    const dbTimeoutMs = intOption('db-timeout-ms', dbTimeout.raw, DB_TIMEOUT_MIN_MS, DB_TIMEOUT_MAX_MS, dbTimeout.from) ?? 2000;
    const refreshS = intOption('refresh-s', values['refresh-s'], 5, 86_400) ?? null;
    const bindWaitMs = intOption('bind-wait-ms', values['bind-wait-ms'], 0, 600_000) ?? 10_000;
    const coalesceMs = intOption('coalesce-ms', values['coalesce-ms'], 0, 600_000) ?? 1000;
    const listen = flagOrEnv('metrics-listen', values['metrics-listen'], 'NOVA_GARP_METRICS_LISTEN', env);
    const metricsListen = listen.raw ?? '127.0.0.1:9469';
    checkListen(listen.from, metricsListen);
    const socketFlag = flagOrEnv('control-socket', values['control-socket'], 'NOVA_GARP_CONTROL_SOCKET', env);
    const controlSocket = socketFlag.raw ?? DEFAULT_CONTROL_SOCKET;
    const socketProblem = socketPathProblem(controlSocket);
    if (socketProblem !== null) throw new UsageError(`${socketFlag.from}: ${socketProblem}; give a shorter path (e.g. under /run)`);
    const socketDirMissing = await checkDirectory(socketFlag.from, dirname(resolvePath(controlSocket)));
    const stateFlag = flagOrEnv('state-dir', values['state-dir'], 'NOVA_GARP_STATE_DIR', env);
    const stateDir = stateFlag.raw ?? DEFAULT_STATE_DIR;
    const stateDirMissing = values.inventory === undefined ? await checkDirectory(stateFlag.from, stateDir) : false;
    if (values.inventory !== undefined) await checkFile('--inventory', values.inventory);
    let controlGroup;
    try {
      controlGroup = await resolveGroup(values['control-group'] ?? (env.NOVA_GARP_CONTROL_GROUP || undefined));
    } catch (err) {
      throw new UsageError(`${(err as Error).message}; give a group name from /etc/group or a numeric gid`);
    }

    const flags = overridesFromFlags(values as Record<string, unknown>);
    const readSettings = async (): Promise<NovaSettings> => {
      try {
        return await loadSettings({ novaConfig: values['nova-config'], flags, env });
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
    };
    const settings = await readSettings();
    const log = createLogger(level);
    for (const w of settings.warnings) log.warn(w);
    // One level only (checked above); said in the log, never silent.
    for (const [dir, missing, mode] of [
      [dirname(resolvePath(controlSocket)), socketDirMissing, 0o755],
      [resolvePath(stateDir), stateDirMissing, 0o750],
    ] as const) {
      if (!missing) continue;
      try {
        await mkdir(dir, { mode });
        log.info({ dir }, 'created directory');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new UsageError(`cannot create ${dir}: ${(err as Error).message}; create it or give another path`);
      }
    }
    const sidecar = new Sidecar(
      {
        settings,
        stateDir,
        controlSocket,
        controlGid: controlGroup.gid,
        metricsListen: metricsListen === 'off' ? null : metricsListen,
        inventoryFile: values.inventory ?? null,
        schedule: { ...schedule, router: naRouter !== 'no' },
        dbTimeoutMs,
        refreshS,
        amqp: values['no-amqp'] !== true,
        bindWaitMs,
        coalesceMs,
        announceOnStart: announceOnStart === 'yes',
        onConflict,
        conflictExpireMs: conflictExpireS * 1000,
      },
      log,
    );
    try {
      await sidecar.start();
    } catch (err) {
      await sidecar.stop().catch(() => undefined);
      // Whatever a half-started sidecar left open must not keep a failed serve alive.
      setTimeout(() => process.exit(EXIT.usage), 2000).unref();
      throw new UsageError(`cannot start: ${(err as Error).message}; fix that and start again`);
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
