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

/** Addresses checked per turn of the event loop: a 100,000-address request must not stall the hook's path. */
export const ADDRESSES_PER_TURN = 4096;

/**
 * parseAnnounceRequest for the control socket: the same rules, with a turn of the event loop
 * every ADDRESSES_PER_TURN addresses (the largest request takes tens of milliseconds to check).
 */
export async function parseAnnounceRequestInTurns(body: unknown, turn: () => Promise<void> = () => new Promise((r) => setImmediate(r))): Promise<AnnounceRequest> {
  const b = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : null;
  const list = b?.addresses;
  if (b === null || !Array.isArray(list) || list.length <= ADDRESSES_PER_TURN) return parseAnnounceRequest(body);
  // Validate everything but the addresses first (cheap), then the addresses a slice at a time.
  const head = parseAnnounceRequest({ ...b, addresses: [] });
  if (list.length > MAX_ADDRESSES) throw new RequestError(`at most ${MAX_ADDRESSES} addresses per request`);
  const addresses: string[] = [];
  const invalid: string[] = [];
  for (let i = 0; i < list.length; i += ADDRESSES_PER_TURN) {
    if (i > 0) await turn();
    const part = parseAnnounceRequest({ addresses: list.slice(i, i + ADDRESSES_PER_TURN) });
    addresses.push(...part.addresses!);
    invalid.push(...part.invalid);
  }
  return { ...head, addresses, invalid };
}

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
