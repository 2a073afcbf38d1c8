/**
 * oslo.messaging `transport_url` (`rabbit://user:pass@host:5672,user:pass@host2:5672/vhost`), the
 * way Newton's nova points at RabbitMQ, reduced to what an AMQP 0-9-1 client needs. Pure.
 */

export interface RabbitEndpoint {
  host: string;
  port: number;
}

export interface RabbitSettings {
  /** Brokers to try in order (rabbit_hosts / several transport_url hosts give a cluster). */
  hosts: RabbitEndpoint[];
  userid: string;
  password: string;
  /** AMQP virtual host; `/` is the broker default. */
  virtualHost: string;
  useSsl: boolean;
}

export class TransportUrlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TransportUrlError';
  }
}

export function redactTransportUrl(raw: string): string {
  return raw.replace(/([/,][^:/@,]*):[^@/,]*@/g, '$1:***@');
}

export function parseTransportUrl(raw: string): RabbitSettings {
  const redacted = redactTransportUrl(raw.trim());
  const m = /^([a-z0-9+]+):\/\/([^/?]*)(?:\/([^?]*))?(?:\?(.*))?$/i.exec(raw.trim());
  if (m?.[1] === undefined) throw new TransportUrlError(`not a transport URL: '${redacted}'`);
  const scheme = m[1].toLowerCase();
  if (!['rabbit', 'amqp', 'amqps', 'kombu'].includes(scheme)) {
    throw new TransportUrlError(`${redacted}: driver '${scheme}' is not RabbitMQ (rabbit://)`);
  }
  let userid = 'guest';
  let password = 'guest';
  const hosts: RabbitEndpoint[] = [];
  for (const part of (m[2] ?? '').split(',')) {
    if (part === '') continue;
    const at = part.lastIndexOf('@');
    if (at >= 0) {
      const creds = part.slice(0, at);
      const colon = creds.indexOf(':');
      // oslo.messaging takes the credentials of each host; nova deployments use one pair for all.
      userid = decodeURIComponent(colon >= 0 ? creds.slice(0, colon) : creds);
      password = decodeURIComponent(colon >= 0 ? creds.slice(colon + 1) : '');
    }
    hosts.push(parseEndpoint(at >= 0 ? part.slice(at + 1) : part, 5672, redacted));
  }
  if (hosts.length === 0) hosts.push({ host: 'localhost', port: 5672 });
  const vhost = decodeURIComponent(m[3] ?? '');
  const query = new URLSearchParams(m[4] ?? '');
  const ssl = (query.get('ssl') ?? '').toLowerCase();
  return { hosts, userid, password, virtualHost: vhost === '' ? '/' : vhost, useSsl: ssl === '1' || ssl === 'true' || scheme === 'amqps' };
}

/** `host`, `host:port`, `[v6]:port`; also used for Folsom's `rabbit_hosts` list items. */
export function parseEndpoint(text: string, defaultPort: number, context: string): RabbitEndpoint {
  const t = text.trim();
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(t);
  if (v6?.[1] !== undefined) return { host: v6[1], port: port(v6[2], defaultPort, context) };
  const colon = t.lastIndexOf(':');
  if (colon >= 0 && t.indexOf(':') === colon) return { host: t.slice(0, colon) || 'localhost', port: port(t.slice(colon + 1), defaultPort, context) };
  return { host: t === '' ? 'localhost' : t, port: defaultPort };
}

function port(text: string | undefined, fallback: number, context: string): number {
  if (text === undefined || text === '') return fallback;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 65535) throw new TransportUrlError(`${context}: bad port '${text}'`);
  return n;
}
