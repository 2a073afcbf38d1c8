import type { OptionSpec } from './args.js';
import { choiceOption, intOption } from './args.js';
import { UsageError } from './exit-codes.js';
import { parseIp } from '../net/ip-address.js';
import { DEFAULT_SCHEDULE, FORMS, roundOffsets, type Form, type ScheduleOptions } from '../schedule/schedule.js';

/** Schedule flags shared by `announce` and `serve`. */
export const SCHEDULE_OPTIONS: OptionSpec = {
  rounds: { type: 'string' },
  'interval-ms': { type: 'string' },
  form: { type: 'string' },
  'max-pps': { type: 'string' },
  upstream: { type: 'string' },
  'na-router': { type: 'string' },
};

export const SCHEDULE_HELP = `      --rounds N            number of rounds (default 3: at 0, +1.1 s, +3 s; more rounds back off)
      --interval-ms MS      evenly spaced rounds MS apart instead of the default schedule
      --form F              IPv4 frame form: request | reply | both (default both)
      --max-pps N           pace frames per interface to N per second (token bucket; default: line
                            rate). Cisco DAI err-disables a port above 15 ARP/s: use 14 there.
      --upstream IP         also send a request from each IPv4 address to this router
                            (for firewalls that ignore broadcast announcements)
      --na-router MODE      Router flag in IPv6 NAs: yes | no | auto`;

export interface ScheduleValues {
  rounds?: string;
  'interval-ms'?: string;
  form?: string;
  'max-pps'?: string;
  upstream?: string;
  'na-router'?: string;
}

/** Parses the schedule flags; `auto` for the Router flag is resolved by the caller. */
export function scheduleFromFlags(values: ScheduleValues): { schedule: Omit<ScheduleOptions, 'router'>; naRouter: 'yes' | 'no' | 'auto' } {
  const form: Form = choiceOption('form', values.form, FORMS) ?? DEFAULT_SCHEDULE.form;
  const rounds = intOption('rounds', values.rounds, 1, 100) ?? DEFAULT_SCHEDULE.roundOffsetsMs.length;
  const intervalMs = intOption('interval-ms', values['interval-ms'], 1, 3_600_000);
  const maxPps = intOption('max-pps', values['max-pps'], 1, 10_000_000) ?? null;
  const upstream = values.upstream ?? null;
  if (upstream !== null && parseIp(upstream)?.family !== 4) throw new UsageError(`--upstream '${upstream}' is not an IPv4 address; give the upstream router's IPv4 address`);
  const naRouter = choiceOption('na-router', values['na-router'], ['yes', 'no', 'auto'] as const) ?? 'auto';
  return { schedule: { roundOffsetsMs: roundOffsets(rounds, intervalMs), form, upstream, maxPps }, naRouter };
}
