import { canonicalIp } from '../net/ip-address.js';
import { TARGET_KINDS, type TargetKind } from '../targets/target.js';

/** A validated reannounce request (control socket `POST /v1/announce`, CLI, AMQP). */
export interface AnnounceRequest {
  /** Canonical addresses, or null for "every target". */
  addresses: string[] | null;
  kinds: TargetKind[] | null;
  reason: string;
  /** Inputs that were not addresses, answered as refused. */
  invalid: string[];
}

export class RequestError extends Error {
  constructor(
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = 'RequestError';
  }
}

const MAX_ADDRESSES = 100_000;

/** Pure validation of a decoded JSON body. */
export function parseAnnounceRequest(body: unknown): AnnounceRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new RequestError('body must be a JSON object');
  const b = body as Record<string, unknown>;
  for (const k of Object.keys(b)) if (!['addresses', 'kinds', 'reason'].includes(k)) throw new RequestError(`unknown field '${k}'`);
  let addresses: string[] | null = null;
  const invalid: string[] = [];
  if (b.addresses !== undefined) {
    if (!Array.isArray(b.addresses) || b.addresses.some((a) => typeof a !== 'string')) throw new RequestError('addresses must be a list of strings');
    if (b.addresses.length > MAX_ADDRESSES) throw new RequestError(`at most ${MAX_ADDRESSES} addresses per request`);
    addresses = [];
    for (const a of b.addresses as string[]) {
      const ip = canonicalIp(a);
      if (ip === null) invalid.push(a.slice(0, 64));
      else addresses.push(ip);
    }
  }
  let kinds: TargetKind[] | null = null;
  if (b.kinds !== undefined) {
    if (!Array.isArray(b.kinds) || b.kinds.some((k) => !TARGET_KINDS.includes(k as TargetKind))) {
      throw new RequestError(`kinds must be a list of ${TARGET_KINDS.join(', ')}`);
    }
    kinds = b.kinds as TargetKind[];
  }
  if (b.reason !== undefined && typeof b.reason !== 'string') throw new RequestError('reason must be a string');
  return { addresses, kinds, reason: typeof b.reason === 'string' ? b.reason.slice(0, 200) : 'request', invalid };
}

export interface StartedEvent {
  event: 'nova-network-started';
  host: string;
  manager: string | null;
  pid: number | null;
}

export function parseEventRequest(body: unknown): StartedEvent {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new RequestError('body must be a JSON object');
  const b = body as Record<string, unknown>;
  if (b.event !== 'nova-network-started') throw new RequestError(`unknown event ${JSON.stringify(b.event)?.slice(0, 64)}; expected "nova-network-started"`);
  if (typeof b.host !== 'string' || b.host === '' || b.host.length > 255) throw new RequestError('host must be a non-empty string');
  return {
    event: 'nova-network-started',
    host: b.host,
    manager: typeof b.manager === 'string' ? b.manager.slice(0, 200) : null,
    pid: typeof b.pid === 'number' && Number.isInteger(b.pid) ? b.pid : null,
  };
}
