import { canonicalIp } from '../net/ip-address.js';
import { validInterfaceName } from '../net/interface-name.js';

/**
 * What a message on `network.<host>` or the shared `network` topic (or a nova-garp reannounce
 * message) means to the sidecar. Bodies are plain JSON up to Grizzly and wrapped in the oslo
 * envelope (`{"oslo.version":"2.0","oslo.message":"<json>"}`) from Havana on. `NOVA_RPC_SERIES`
 * below says, per release series, which method carries an association to which topic.
 */

/** RPC facts every nova message carries (optional: events built elsewhere may lack them). */
export interface RpcMeta {
  /** A call (`_msg_id` present: nova waits for a reply) or a cast. */
  call?: boolean;
  /** The message's RPC API `version` (`"1.6"`), null when the release sent none (up to Folsom). */
  version?: string | null;
  /**
   * `host` when the routing key is `network.<host>`, `shared` when it is the shared `network` topic,
   * null when no routing key was given to the parser.
   */
  route?: 'host' | 'shared' | null;
}

export type NovaEvent =
  | ({
      type: 'associate';
      address: string;
      interface: string | null;
      method: string;
      /** The instance's fixed address the floating IP now points at, when the message names it. */
      fixedAddress?: string | null;
      /** Grizzly on (`instance_uuid`, RPC API 1.6). */
      instanceUuid?: string | null;
    } & RpcMeta)
  | ({ type: 'disassociate'; address: string; interface: string | null; method: string; instanceUuid?: string | null } & RpcMeta)
  | ({
      type: 'network-host';
      method: string;
      /** The network being claimed or set up: `network_id`, or `network_ref`'s id (a dict, or a nova object from Liberty on). */
      networkId?: number | null;
      /** rpc_setup_network_on_host / setup_networks_on_host: true when the network is being torn down. */
      teardown?: boolean | null;
    } & RpcMeta)
  | { type: 'reannounce'; addresses: string[] | null; kinds: string[] | null; reason: string | null }
  | ({ type: 'ignored'; method: string } & RpcMeta);

export interface ParsedMessage {
  envelope: 'plain' | 'oslo';
  event: NovaEvent;
}

export interface ParseOptions {
  /** The AMQP routing key the copy arrived with (`network.<host>` or `network`); sets `route`. */
  routingKey?: string;
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

function optionalAddress(args: Record<string, unknown>, key: string): string | null {
  const v = args[key];
  return typeof v === 'string' ? canonicalIp(v) : null;
}

function optionalString(args: Record<string, unknown>, key: string): string | null {
  const v = args[key];
  return typeof v === 'string' && v !== '' ? v.slice(0, 64) : null;
}

function intOrNull(v: unknown): number | null {
  if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
  if (typeof v === 'string' && /^\d{1,15}$/.test(v)) return Number(v);
  return null;
}

/**
 * `network_id`, or the id inside `network_ref`: a plain dict (Diablo .. Kilo, and Liberty on when
 * pinned below 1.15) or a nova object primitive (`nova_object.data`, Liberty on).
 */
function networkId(args: Record<string, unknown>): number | null {
  const direct = intOrNull(args.network_id);
  if (direct !== null) return direct;
  const ref = asObject(args.network_ref);
  if (ref === null) return null;
  const data = asObject(ref['nova_object.data']) ?? ref;
  return intOrNull(data.id);
}

function route(routingKey: string | undefined): 'host' | 'shared' | null {
  if (routingKey === undefined) return null;
  if (routingKey === 'network') return 'shared';
  return routingKey.startsWith('network.') ? 'host' : null;
}

function stringList(v: unknown, field: string): string[] | null {
  if (v === undefined || v === null) return null;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new MessageError(`${field} must be a list of strings`, 'bad_args');
  return v as string[];
}

/** Pure: AMQP body bytes to an event; throws MessageError for anything malformed. */
export function parseNovaMessage(body: Buffer | string, options: ParseOptions = {}): ParsedMessage {
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
  const version = outer.version;
  const meta: RpcMeta = {
    call: typeof outer._msg_id === 'string' && outer._msg_id !== '',
    version: typeof version === 'string' ? version.slice(0, 16) : null,
    route: route(options.routingKey),
  };
  switch (method) {
    // associate_floating_ip: Cactus/Diablo cast it to network.<host>; Essex/Folsom call the shared
    // `network` topic with it (whoever takes it forwards _associate_floating_ip unless it owns the
    // network); from Grizzly nova-api does that part itself. _associate_floating_ip: Essex on.
    case 'associate_floating_ip':
    case '_associate_floating_ip':
      return {
        envelope,
        event: {
          type: 'associate',
          address: address(args, ['floating_address'], method),
          interface: optionalInterface(args),
          method,
          fixedAddress: optionalAddress(args, 'fixed_address'),
          instanceUuid: optionalString(args, 'instance_uuid'),
          ...meta,
        },
      };
    case 'disassociate_floating_ip':
    case '_disassociate_floating_ip':
      return {
        envelope,
        event: {
          type: 'disassociate',
          address: address(args, ['address', 'floating_address'], method),
          interface: optionalInterface(args),
          method,
          instanceUuid: optionalString(args, 'instance_uuid'),
          ...meta,
        },
      };
    case 'set_network_host':
    case 'rpc_setup_network_on_host':
    case 'setup_networks_on_host':
      return {
        envelope,
        event: { type: 'network-host', method, networkId: networkId(args), teardown: typeof args.teardown === 'boolean' ? args.teardown : null, ...meta },
      };
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
      return { envelope, event: { type: 'ignored', method, ...meta } };
  }
}

// ------------------------------------------------------------------------------------------------
// What each nova release series puts on the wire for the messages above (read at each tag's
// nova/network/{api,manager,floating_ips,rpcapi}.py and its rpc code; docs/inventory.md has the
// table for people). A copy queue bound only to `network.<host>` misses what goes to `network`.

export interface RpcSend {
  method: string;
  args: readonly string[];
  /** `network.<host>`: the owner's own topic; `network`: the shared topic any network host takes. */
  topic: 'network.<host>' | 'network';
  type: 'call' | 'cast';
  /** RPC API version the message carries, null when the release sent none. */
  version: string | null;
}

export interface SeriesRpc {
  series: string;
  releases: string;
  envelope: 'plain' | 'oslo';
  /** Where the public association (nova-api) goes first. */
  publicAssociate: RpcSend | null;
  /** What reaches the owner host's topic for an association; null when nothing is forwarded. */
  hostAssociate: RpcSend;
  publicDisassociate: RpcSend | null;
  hostDisassociate: RpcSend;
  setNetworkHost: RpcSend;
  /** Routing keys a copy queue must bind to see every message above that concerns this host. */
  bindKeys: ReadonlyArray<'network.<host>' | 'network'>;
}

const send = (method: string, args: readonly string[], topic: RpcSend['topic'], type: RpcSend['type'], version: string | null = null): RpcSend => ({ method, args, topic, type, version });

export const NOVA_RPC_SERIES: readonly SeriesRpc[] = [
  {
    series: 'cactus',
    releases: '2011.2',
    envelope: 'plain',
    publicAssociate: null,
    hostAssociate: send('associate_floating_ip', ['floating_address', 'fixed_address'], 'network.<host>', 'cast'),
    publicDisassociate: null,
    hostDisassociate: send('disassociate_floating_ip', ['floating_address'], 'network.<host>', 'cast'),
    setNetworkHost: send('set_network_host', ['network_id'], 'network', 'call'),
    bindKeys: ['network.<host>', 'network'],
  },
  {
    series: 'diablo',
    releases: '2011.3',
    envelope: 'plain',
    publicAssociate: null,
    hostAssociate: send('associate_floating_ip', ['floating_address', 'fixed_address'], 'network.<host>', 'cast'),
    publicDisassociate: null,
    hostDisassociate: send('disassociate_floating_ip', ['floating_address'], 'network.<host>', 'call'),
    setNetworkHost: send('set_network_host', ['network_ref'], 'network', 'call'),
    bindKeys: ['network.<host>', 'network'],
  },
  {
    series: 'essex',
    releases: '2012.1',
    envelope: 'plain',
    publicAssociate: send('associate_floating_ip', ['floating_address', 'fixed_address', 'affect_auto_assigned'], 'network', 'call'),
    hostAssociate: send('_associate_floating_ip', ['floating_address', 'fixed_address', 'interface'], 'network.<host>', 'cast'),
    publicDisassociate: send('disassociate_floating_ip', ['address', 'affect_auto_assigned'], 'network', 'cast'),
    hostDisassociate: send('_disassociate_floating_ip', ['address', 'interface'], 'network.<host>', 'cast'),
    setNetworkHost: send('set_network_host', ['network_ref'], 'network', 'call'),
    bindKeys: ['network.<host>', 'network'],
  },
  {
    series: 'folsom',
    releases: '2012.2',
    envelope: 'plain',
    publicAssociate: send('associate_floating_ip', ['floating_address', 'fixed_address', 'affect_auto_assigned'], 'network', 'call'),
    hostAssociate: send('_associate_floating_ip', ['floating_address', 'fixed_address', 'interface'], 'network.<host>', 'call'),
    publicDisassociate: send('disassociate_floating_ip', ['address', 'affect_auto_assigned'], 'network', 'call'),
    hostDisassociate: send('_disassociate_floating_ip', ['address', 'interface'], 'network.<host>', 'call'),
    setNetworkHost: send('set_network_host', ['network_ref'], 'network', 'call'),
    bindKeys: ['network.<host>', 'network'],
  },
  {
    series: 'grizzly',
    releases: '2013.1',
    envelope: 'plain',
    publicAssociate: null,
    hostAssociate: send('_associate_floating_ip', ['floating_address', 'fixed_address', 'interface', 'instance_uuid'], 'network.<host>', 'call', '1.6'),
    publicDisassociate: null,
    hostDisassociate: send('_disassociate_floating_ip', ['address', 'interface', 'instance_uuid'], 'network.<host>', 'call', '1.6'),
    setNetworkHost: send('set_network_host', ['network_ref'], 'network', 'call', '1.0'),
    bindKeys: ['network.<host>', 'network'],
  },
  {
    series: 'havana-kilo',
    releases: '2013.2, 2014.1, 2014.2, 2015.1',
    envelope: 'oslo',
    publicAssociate: null,
    hostAssociate: send('_associate_floating_ip', ['floating_address', 'fixed_address', 'interface', 'instance_uuid'], 'network.<host>', 'call', '1.6'),
    publicDisassociate: null,
    hostDisassociate: send('_disassociate_floating_ip', ['address', 'interface', 'instance_uuid'], 'network.<host>', 'call', '1.6'),
    setNetworkHost: send('set_network_host', ['network_ref'], 'network', 'call', '1.0'),
    bindKeys: ['network.<host>', 'network'],
  },
  {
    series: 'liberty-train',
    releases: '12.0 .. 20.x',
    envelope: 'oslo',
    publicAssociate: null,
    hostAssociate: send('_associate_floating_ip', ['floating_address', 'fixed_address', 'interface', 'instance_uuid'], 'network.<host>', 'call', '1.6'),
    publicDisassociate: null,
    hostDisassociate: send('_disassociate_floating_ip', ['address', 'interface', 'instance_uuid'], 'network.<host>', 'call', '1.6'),
    setNetworkHost: send('set_network_host', ['network_ref'], 'network', 'call', '1.15'),
    bindKeys: ['network.<host>', 'network'],
  },
];
