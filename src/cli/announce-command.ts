import { readFile } from 'node:fs/promises';
import type { Command } from './command.js';
import { EXIT, UsageError } from './exit-codes.js';
import { parseCommandArgs, printJson } from './args.js';
import { SCHEDULE_HELP, SCHEDULE_OPTIONS, scheduleFromFlags, type ScheduleValues } from './schedule-options.js';
import { parseIp } from '../net/ip-address.js';
import { readInterfaces } from '../link/interfaces.js';
import { PacketSocketError } from '../sender/packet-socket.js';
import { Announcer } from '../sender/announcer.js';
import { framesPerRound, scheduleWarnings, type ScheduleOptions } from '../schedule/schedule.js';
import { pacedDurationMs } from '../schedule/token-bucket.js';
import { ipv6Forwarding } from '../link/sysctl.js';

const HELP = `Usage: nova-garp announce --interface IF (--address A ... | --addresses-from FILE) [options]

Announces addresses bound on one interface: gratuitous ARP for IPv4, unsolicited Neighbour
Advertisements for IPv6. Addresses not bound on IF right now are skipped with a reason and never
put on the wire; an address that stops being bound is dropped from later rounds.

Options:
  -i, --interface IF        interface to announce on (required)
  -a, --address A           address to announce (repeatable; IPv4 or IPv6)
      --addresses-from FILE one address per line ('#' starts a comment; '-' reads stdin)
${SCHEDULE_HELP}
                            (default auto: IF's IPv6 forwarding setting)
      --json                print one JSON object with the result
  -h, --help                this help

Exit codes: 0 all announced; 3 some skipped (the bound ones were announced);
            2 usage or environment error (unknown interface, bad address, no permission).
Needs CAP_NET_RAW and must run in the interface's network namespace (ip netns exec NS ...).`;

interface Values extends ScheduleValues {
  interface?: string;
  address?: string[];
  'addresses-from'?: string;
  json?: boolean;
}

async function readAddressFile(path: string): Promise<string[]> {
  let text: string;
  try {
    text = path === '-' ? await readStdin() : await readFile(path, 'utf8');
  } catch (err) {
    throw new UsageError(`--addresses-from: cannot read ${path}: ${(err as Error).message}; give a readable file, or '-' for stdin`);
  }
  const out: string[] = [];
  text.split('\n').forEach((line, i) => {
    const value = line.replace(/#.*/, '').trim();
    if (value === '') return;
    if (parseIp(value) === null) throw new UsageError(`--addresses-from ${path}:${i + 1}: '${value}' is not an IP address; give one IPv4 or IPv6 address per line`);
    out.push(value);
  });
  return out;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export const announceCommand: Command = {
  summary: 'announce addresses bound on one interface',
  async run(argv) {
    const { values, help } = parseCommandArgs<Values>('announce', argv, {
      interface: { type: 'string', short: 'i' },
      address: { type: 'string', short: 'a', multiple: true },
      'addresses-from': { type: 'string' },
      ...SCHEDULE_OPTIONS,
      json: { type: 'boolean' },
    });
    if (help) {
      process.stdout.write(HELP + '\n');
      return EXIT.ok;
    }
    const ifname = values.interface;
    if (ifname === undefined || ifname === '') throw new UsageError('--interface is required; give the interface the addresses are bound on, e.g. -i eth0');
    const addresses = [...(values.address ?? [])];
    for (const a of addresses) if (parseIp(a) === null) throw new UsageError(`--address '${a}' is not an IP address; give an IPv4 or IPv6 address`);
    // Every flag before any work (reading the address file, the interfaces, the socket).
    const { schedule: base, naRouter } = scheduleFromFlags(values);
    if (values['addresses-from'] !== undefined) addresses.push(...(await readAddressFile(values['addresses-from'])));
    if (addresses.length === 0) throw new UsageError('no address to announce; give at least one --address A or --addresses-from FILE');
    const maxPps = base.maxPps;

    const links = await readInterfaces();
    const link = links.get(ifname);
    if (link === undefined) {
      throw new UsageError(`no interface '${ifname}' in this network namespace; give one of ${[...links.keys()].join(', ')} (or run inside the right one: ip netns exec NS ...)`);
    }
    const schedule: ScheduleOptions = { ...base, router: naRouter === 'auto' ? await ipv6Forwarding(ifname) : naRouter === 'yes' };
    for (const w of scheduleWarnings(schedule)) process.stderr.write(`warning: ${w}\n`);
    if (maxPps !== null) {
      const v4 = addresses.filter((a) => parseIp(a)?.family === 4).length;
      const perRound = framesPerRound(v4, addresses.length - v4, schedule);
      process.stderr.write(
        `pacing: at most ${maxPps} frames/s on ${ifname}: round 1 (${perRound} frames) takes ${(pacedDurationMs(perRound, maxPps) / 1000).toFixed(2)} s\n`,
      );
    }

    const announcer = new Announcer();
    try {
      const result = await announcer.announce({ ifname, addresses, schedule }).done;
      const fatal = result.errors.find((e) => /CAP_NET_RAW/.test(e));
      if (fatal !== undefined) throw new UsageError(fatal);
      if (values.json === true) {
        printJson({
          interface: ifname,
          announced: result.announced.length,
          skipped: result.skipped,
          frames: result.frames,
          firstRoundMs: result.firstRoundMs,
          firstRoundCpuMs: result.firstRoundCpuMs,
          rounds: result.rounds.length,
          framesByKind: result.framesByKind,
          dropped: result.dropped,
          errors: result.errors,
          roundDetails: result.rounds,
        });
      } else {
        const ms = result.firstRoundMs === null ? '-' : result.firstRoundMs.toFixed(2);
        process.stdout.write(
          `announced ${result.announced.length} address(es) on ${ifname}: ${result.frames} frames in ${result.rounds.length} round(s), round 1 handed to the kernel in ${ms} ms\n`,
        );
        for (const s of result.skipped) process.stdout.write(`skipped ${s.address}: ${s.reason}\n`);
        for (const d of result.dropped) process.stdout.write(`dropped ${d.address} before round ${d.round}: ${d.reason}\n`);
        for (const e of result.errors) process.stderr.write(`error: ${e}\n`);
      }
      if (result.errors.length > 0 && result.frames === 0) return EXIT.failure;
      return result.skipped.length > 0 ? EXIT.partial : result.errors.length > 0 ? EXIT.failure : EXIT.ok;
    } catch (err) {
      if (err instanceof PacketSocketError) throw new UsageError(err.message);
      throw err;
    } finally {
      announcer.close();
    }
  },
};
