import type { Command } from './command.js';
import { EXIT, UsageError } from './exit-codes.js';
import { flagOrEnv, parseCommandArgs, printJson } from './args.js';
import { controlRequest, socketPathProblem } from '../sidecar/control-client.js';
import { DEFAULT_CONTROL_SOCKET } from '../sidecar/control-server.js';
import { parseAnnounceRequest, RequestError } from '../sidecar/announce-request.js';
import { loadSettings } from '../nova/settings.js';
import { overridesFromFlags, SETTINGS_HELP, SETTINGS_OPTIONS } from './settings-options.js';
import { amqpUrls, redactAmqpUrl } from '../amqp/broker-url.js';
import { REANNOUNCE_FANOUT, publishOnce, reannounceKey } from '../amqp/nova-bus.js';
import { REANNOUNCE_METHOD } from '../amqp/nova-message.js';
import { TARGET_KINDS } from '../targets/target.js';

const HELP = `Usage: nova-garp reannounce [--address A ...] [--kind K ...] [options]

Asks the sidecar to announce again. Only inventory targets that are bound on their interface
right now are announced; the answer lists the others as refused, with the reason. An address
announced less than a second ago is folded into its running schedule (rate limit).

Options:
  -a, --address A           announce this target address (repeatable; default: every target)
  -k, --kind K              only targets of this kind: ${TARGET_KINDS.join(', ')} (repeatable)
      --reason TEXT         recorded in the sidecar's log and status
      --control-socket P    the local sidecar's socket (default ${DEFAULT_CONTROL_SOCKET}) [NOVA_GARP_CONTROL_SOCKET]
      --remote              go through RabbitMQ instead (nova.conf's broker settings) to the sidecar
                            of --host H (routing key nova-garp.H on the control exchange) or of
      --all-hosts           every host (fanout exchange ${REANNOUNCE_FANOUT}); fire and forget
      --json                print the answer as JSON
  -h, --help                this help
With --remote, nova.conf and its overrides apply:
${SETTINGS_HELP}

Exit codes: 0 all accepted; 3 some refused; 1 the sidecar could not be reached (or the broker,
with --remote); 2 usage error. With --json a failure is JSON too: {"error", "exitCode", ...}.`;

interface Values {
  address?: string[];
  kind?: string[];
  reason?: string;
  'control-socket'?: string;
  remote?: boolean;
  'all-hosts'?: boolean;
  json?: boolean;
  'nova-config'?: string;
  host?: string;
}

export const reannounceCommand: Command = {
  summary: 'ask a running sidecar (or, with --remote, sidecars on other hosts) to announce again',
  async run(argv) {
    const { values, help } = parseCommandArgs<Values>('reannounce', argv, {
      ...SETTINGS_OPTIONS,
      address: { type: 'string', short: 'a', multiple: true },
      kind: { type: 'string', short: 'k', multiple: true },
      reason: { type: 'string' },
      'control-socket': { type: 'string' },
      remote: { type: 'boolean' },
      'all-hosts': { type: 'boolean' },
      json: { type: 'boolean' },
    });
    if (help) {
      process.stdout.write(HELP + '\n');
      return EXIT.ok;
    }
    const body = {
      ...(values.address === undefined ? {} : { addresses: values.address }),
      ...(values.kind === undefined ? {} : { kinds: values.kind }),
      reason: values.reason ?? `nova-garp reannounce by ${process.env.SUDO_USER ?? process.env.USER ?? 'uid ' + process.getuid?.()}`,
    };
    let req;
    try {
      req = parseAnnounceRequest(body);
    } catch (err) {
      if (err instanceof RequestError) throw new UsageError(`${err.message}; see 'nova-garp reannounce --help'`);
      throw err;
    }
    if (req.invalid.length > 0) throw new UsageError(`--address ${req.invalid.map((a) => `'${a}'`).join(', ')}: not an IP address; give target addresses as IPv4 or IPv6`);
    const fail = (code: number, error: string, extra: Record<string, unknown> = {}): number => {
      if (values.json === true) printJson({ error, exitCode: code, ...extra });
      process.stderr.write(`nova-garp reannounce: ${error}\n`);
      return code;
    };

    if (values.remote === true) {
      if ((values['all-hosts'] === true) === (values.host !== undefined)) throw new UsageError('--remote needs exactly one of --host H or --all-hosts; give one of them');
      let settings;
      try {
        settings = await loadSettings({ novaConfig: values['nova-config'], flags: overridesFromFlags(values as Record<string, unknown>) });
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
      const message = { method: REANNOUNCE_METHOD, args: body };
      const urls = amqpUrls(settings.rabbit);
      const errors: string[] = [];
      for (const url of urls) {
        try {
          if (values['all-hosts'] === true) await publishOnce(url, REANNOUNCE_FANOUT, 'fanout', '', message);
          else await publishOnce(url, settings.controlExchange, 'topic', reannounceKey(settings.host), message);
          const to = values['all-hosts'] === true ? `every host (exchange ${REANNOUNCE_FANOUT})` : `host ${settings.host} (${settings.controlExchange}/${reannounceKey(settings.host)})`;
          if (values.json === true) printJson({ published: true, to, broker: redactAmqpUrl(url) });
          else process.stdout.write(`reannounce request published for ${to} via ${redactAmqpUrl(url)}\n`);
          return EXIT.ok;
        } catch (err) {
          errors.push(`${redactAmqpUrl(url)}: ${(err as Error).message}`);
        }
      }
      return fail(EXIT.failure, `cannot publish: ${errors.join('; ')}; check the broker settings (nova.conf, --transport-url, --rabbit-*)`, { brokers: urls.map(redactAmqpUrl) });
    }
    if (values['all-hosts'] === true) throw new UsageError('--all-hosts needs --remote; add --remote');
    if (values.host !== undefined) throw new UsageError('--host needs --remote (the local sidecar serves its own host); add --remote, or drop --host');

    const socketFlag = flagOrEnv('control-socket', values['control-socket'], 'NOVA_GARP_CONTROL_SOCKET');
    const socket = socketFlag.raw ?? DEFAULT_CONTROL_SOCKET;
    const problem = socketPathProblem(socket);
    if (problem !== null) throw new UsageError(`${socketFlag.from}: ${problem}; give the path the sidecar listens on`);
    let res;
    try {
      res = await controlRequest(socket, 'POST', '/v1/announce', body);
    } catch (err) {
      return fail(EXIT.failure, (err as Error).message, { socket });
    }
    if (res.status !== 200) {
      const msg = (res.body as { error?: string })?.error ?? JSON.stringify(res.body);
      return fail(res.status >= 400 && res.status < 500 ? EXIT.usage : EXIT.failure, `the sidecar answered ${res.status}: ${msg}`, { socket, status: res.status });
    }
    const answer = res.body as { accepted: string[]; refused: Array<{ address: string; reason: string }>; summary: { frames: number; coalesced: number; triggerToLastFrameMs: number | null } };
    if (values.json === true) printJson(answer);
    else {
      const ms = answer.summary.triggerToLastFrameMs;
      process.stdout.write(
        `announced ${answer.accepted.length} address(es): ${answer.summary.frames} frames in round 1` +
          (ms === null ? '' : ` (${ms.toFixed(2)} ms)`) +
          (answer.summary.coalesced > 0 ? `, ${answer.summary.coalesced} already being announced` : '') +
          '\n',
      );
      for (const r of answer.refused) process.stdout.write(`refused ${r.address}: ${r.reason}\n`);
    }
    return answer.refused.length > 0 ? EXIT.partial : EXIT.ok;
  },
};
