import type { OptionSpec } from './args.js';
import { DEFAULT_NOVA_CONFIG, SETTING_SOURCES, type SettingKey, type SettingsOverrides } from '../nova/settings.js';

/**
 * The nova settings as command-line options: the parser's spec, the `--help` lines and the
 * overrides picked from parsed flags. Resolution (nova.conf, NOVA_GARP_*, defaults) stays in
 * src/nova/settings.ts; the flag names are its SETTING_SOURCES'.
 */

const HELP: Record<SettingKey, string> = {
  host: "nova's host name (default: nova.conf host, else this machine's hostname)",
  myIp: 'my_ip (default: source address of the default route, as nova computes it)',
  routingSourceIp: 'SNAT address (default: nova.conf routing_source_ip, else $my_ip)',
  publicInterface: 'interface floating IPs live on (default eth0)',
  networkManager: 'nova network manager class',
  databaseUrl: "nova's database URL (default: [database] connection or sql_connection)",
  transportUrl: 'oslo.messaging transport_url (rabbit://...)',
  rabbitHost: 'RabbitMQ host (default localhost)',
  rabbitPort: 'RabbitMQ port (default 5672)',
  rabbitUserid: 'RabbitMQ user (default guest)',
  rabbitPassword: 'RabbitMQ password (default guest)',
  rabbitVirtualHost: 'RabbitMQ virtual host (default /)',
  controlExchange: "nova's topic exchange (default nova)",
  networkTopic: 'nova-network RPC topic (default network)',
};

/** Option spec for node:util parseArgs; every command that reads nova.conf spreads it in. */
export const SETTINGS_OPTIONS: OptionSpec = {
  'nova-config': { type: 'string' },
  ...Object.fromEntries(SETTING_SOURCES.map((o) => [o.flag, { type: 'string' as const }])),
};

/** `--help` text for SETTINGS_OPTIONS, one line per flag with its environment variable. */
export const SETTINGS_HELP: string = [
  `  --${'nova-config FILE'.padEnd(23)} nova.conf to read, flagfile or INI (default ${DEFAULT_NOVA_CONFIG}) [NOVA_GARP_NOVA_CONFIG]`,
  ...SETTING_SOURCES.map((o) => `  --${`${o.flag} ${metavar(o.flag)}`.padEnd(23)} ${HELP[o.key]} [${o.env}]`),
].join('\n');

function metavar(flag: string): string {
  if (flag.endsWith('url')) return 'URL';
  if (flag.endsWith('port')) return 'PORT';
  if (flag.endsWith('ip')) return 'IP';
  if (flag.endsWith('interface')) return 'IFACE';
  if (flag.endsWith('password')) return 'PASSWORD';
  return 'NAME';
}

/** Picks the SETTINGS_OPTIONS flags out of parsed command-line values. */
export function overridesFromFlags(values: Record<string, unknown>): SettingsOverrides {
  const out: SettingsOverrides = {};
  for (const o of SETTING_SOURCES) {
    const v = values[o.flag];
    if (typeof v === 'string') out[o.key] = v;
  }
  return out;
}
