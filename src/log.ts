import { pino, type Logger } from 'pino';

/** JSON lines on stderr so stdout stays free for `--json` results. */
export function createLogger(level: string = process.env.NOVA_GARP_LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination(2));
}

export type { Logger };
