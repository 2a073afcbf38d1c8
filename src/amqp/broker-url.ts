import type { RabbitSettings } from '../nova/transport-url.js';

/** amqp:// URLs, one per broker of the cluster, in the order nova would try them. */
export function amqpUrls(r: RabbitSettings): string[] {
  const auth = `${encodeURIComponent(r.userid)}:${encodeURIComponent(r.password)}`;
  const vhost = encodeURIComponent(r.virtualHost);
  return r.hosts.map((h) => `${r.useSsl ? 'amqps' : 'amqp'}://${auth}@${h.host.includes(':') ? `[${h.host}]` : h.host}:${h.port}/${vhost}`);
}

export function redactAmqpUrl(url: string): string {
  return url.replace(/\/\/([^:/@]*):[^@]*@/, '//$1:***@');
}
