import { canonicalIp } from '../net/ip-address.js';
import { validInterfaceName } from '../net/interface-name.js';

/**
 * What a message on `network.<host>` (or a nova-garp reannounce message) means to the sidecar.
 * Bodies are plain JSON up to Grizzly and wrapped in the oslo envelope
 * (`{"oslo.version":"2.0","oslo.message":"<json>"}`) from Havana on.
 */
export type NovaEvent =
  | { type: 'associate'; address: string; interface: string | null; method: string }
  | { type: 'disassociate'; address: string; interface: string | null; method: string }
  | { type: 'network-host'; method: string }
  | { type: 'reannounce'; addresses: string[] | null; kinds: string[] | null; reason: string | null }
  | { type: 'ignored'; method: string };

export interface ParsedMessage {
  envelope: 'plain' | 'oslo';
  event: NovaEvent;
}

export class MessageError extends Error {
  constructor(
    message: string,
    /** Short label for the rejected-messages metric. */
    readonly reason: string,
  ) {
    super(message);
    this.name = 'MessageError';
  }
}

export const REANNOUNCE_METHOD = 'nova_garp_reannounce';
const MAX_BODY = 1024 * 1024;

function asObject(v: unknown): Record<string, unknown> | null {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new MessageError(`${what} is not JSON: ${(err as Error).message}`, 'not_json');
  }
}

function address(args: Record<string, unknown>, keys: string[], method: string): string {
  for (const k of keys) {
    const v = args[k];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'string') throw new MessageError(`${method}: args.${k} is not a string`, 'bad_args');
    const ip = canonicalIp(v);
    if (ip === null) throw new MessageError(`${method}: args.${k} '${v.slice(0, 64)}' is not an IP address`, 'bad_address');
    return ip;
  }
  throw new MessageError(`${method}: none of args.${keys.join('/')} is present`, 'bad_args');
}

function optionalInterface(args: Record<string, unknown>): string | null {
  const v = args.interface;
  return typeof v === 'string' && validInterfaceName(v) ? v : null;
}

function stringList(v: unknown, field: string): string[] | null {
  if (v === undefined || v === null) return null;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new MessageError(`${field} must be a list of strings`, 'bad_args');
  return v as string[];
}

/** Pure: AMQP body bytes to an event; throws MessageError for anything malformed. */
export function parseNovaMessage(body: Buffer | string): ParsedMessage {
  const text = typeof body === 'string' ? body : body.toString('utf8');
  if (text.length > MAX_BODY) throw new MessageError(`body of ${text.length} bytes is over ${MAX_BODY}`, 'too_large');
  let outer = asObject(parseJson(text, 'body'));
  if (outer === null) throw new MessageError('body is not a JSON object', 'not_object');
  let envelope: ParsedMessage['envelope'] = 'plain';
  if ('oslo.message' in outer) {
    const inner = outer['oslo.message'];
    if (typeof inner !== 'string') throw new MessageError('oslo.message is not a string', 'bad_envelope');
    outer = asObject(parseJson(inner, 'oslo.message'));
    if (outer === null) throw new MessageError('oslo.message is not a JSON object', 'bad_envelope');
    envelope = 'oslo';
  }
  const method = outer.method;
  if (typeof method !== 'string' || method === '') throw new MessageError('no method', 'no_method');
  const args = asObject(outer.args ?? {});
  if (args === null) throw new MessageError(`${method}: args is not an object`, 'bad_args');
  switch (method) {
    case 'associate_floating_ip': // Cactus–Essex cast to network.<host>
    case '_associate_floating_ip': // Folsom on (Newton adds instance_uuid)
      return { envelope, event: { type: 'associate', address: address(args, ['floating_address'], method), interface: optionalInterface(args), method } };
    case 'disassociate_floating_ip':
    case '_disassociate_floating_ip':
      return { envelope, event: { type: 'disassociate', address: address(args, ['address', 'floating_address'], method), interface: optionalInterface(args), method } };
    case 'set_network_host':
    case 'rpc_setup_network_on_host':
    case 'setup_networks_on_host':
      return { envelope, event: { type: 'network-host', method } };
    case REANNOUNCE_METHOD: {
      const reason = args.reason;
      return {
        envelope,
        event: {
          type: 'reannounce',
          addresses: stringList(args.addresses, 'args.addresses'),
          kinds: stringList(args.kinds, 'args.kinds'),
          reason: typeof reason === 'string' ? reason.slice(0, 200) : null,
        },
      };
    }
    default:
      return { envelope, event: { type: 'ignored', method } };
  }
}
