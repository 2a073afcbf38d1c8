import { existsSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { parseIp } from '../net/ip-address.js';
import { defaultRouteSourceIp } from './my-ip.js';
import { parseDatabaseUrl } from './database-url.js';
import { lookup, NovaConfError, readNovaConf, type ConfValue, type NovaConf, type NovaConfFormat } from './nova-conf.js';
import { parseEndpoint, parseTransportUrl, type RabbitSettings } from './transport-url.js';

/**
 * What nova-garp needs from nova's configuration, resolved the way nova resolves it (defaults per
 * nova-facts §2c, `$var` references, my_ip = source address of the default route), then overridden
 * by `NOVA_GARP_*` variables and finally by command-line flags.
 */

export const DEFAULT_NOVA_CONFIG = '/etc/nova/nova.conf';

export type SettingKey =
  | 'host'
  | 'myIp'
  | 'routingSourceIp'
  | 'publicInterface'
  | 'networkManager'
  | 'databaseUrl'
  | 'transportUrl'
  | 'rabbitHost'
  | 'rabbitPort'
  | 'rabbitUserid'
  | 'rabbitPassword'
  | 'rabbitVirtualHost'
  | 'controlExchange'
  | 'networkTopic';

export type SettingOrigin = 'flag' | 'env' | 'nova.conf' | 'default';

export type SettingsOverrides = Partial<Record<SettingKey, string>>;

export interface NovaSettings {
  /** The nova.conf that was read, or null when none exists at the default path. */
  novaConfig: { path: string; format: NovaConfFormat; files: string[] } | null;
  host: string;
  myIp: string;
  routingSourceIp: string;
  publicInterface: string;
  networkManager: string;
  /** SQLAlchemy URL (`sql_connection` / `[database] connection`); null when nova.conf has none. */
  databaseUrl: string | null;
  transportUrl: string | null;
  rabbit: RabbitSettings;
  controlExchange: string;
  networkTopic: string;
  /** Where each value came from, for `--json` reports and "why is it using that?" questions. */
  origin: Record<SettingKey, SettingOrigin>;
  warnings: string[];
}

export class SettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SettingsError';
  }
}

/**
 * Errors an operator fixes in nova.conf, the environment or on the command line (CLI exit 2),
 * as opposed to runtime failures. Matched by name so callers need not import every class.
 */
export function isConfigError(err: unknown): err is Error {
  return err instanceof Error && ['NovaConfError', 'SettingsError', 'TransportUrlError', 'DatabaseUrlError'].includes(err.name);
}

/** Where one setting comes from: nova's option, the NOVA_GARP_* variable, the flag that overrides it. */
export interface SettingSource {
  key: SettingKey;
  /** nova option name, the one `$name` references use. */
  nova: string;
  /** Sections to look in, first hit wins (new names before deprecated ones). */
  where: ReadonlyArray<readonly [string, string]>;
  /** The command-line flag (without `--`); its parser and help live in src/cli/settings-options.ts. */
  flag: string;
  env: string;
  fallback: string | null;
}

const RABBIT = 'oslo_messaging_rabbit';

export const SETTING_SOURCES: readonly SettingSource[] = [
  { key: 'host', nova: 'host', where: [['DEFAULT', 'host']], flag: 'host', env: 'NOVA_GARP_HOST', fallback: null },
  { key: 'myIp', nova: 'my_ip', where: [['DEFAULT', 'my_ip']], flag: 'my-ip', env: 'NOVA_GARP_MY_IP', fallback: null },
  { key: 'routingSourceIp', nova: 'routing_source_ip', where: [['DEFAULT', 'routing_source_ip']], flag: 'routing-source-ip', env: 'NOVA_GARP_ROUTING_SOURCE_IP', fallback: '$my_ip' },
  { key: 'publicInterface', nova: 'public_interface', where: [['DEFAULT', 'public_interface']], flag: 'public-interface', env: 'NOVA_GARP_PUBLIC_INTERFACE', fallback: 'eth0' },
  { key: 'networkManager', nova: 'network_manager', where: [['DEFAULT', 'network_manager']], flag: 'network-manager', env: 'NOVA_GARP_NETWORK_MANAGER', fallback: 'nova.network.manager.VlanManager' },
  {
    key: 'databaseUrl',
    nova: 'connection',
    where: [['database', 'connection'], ['database', 'sql_connection'], ['sql', 'connection'], ['DEFAULT', 'sql_connection']],
    flag: 'db-url',
    env: 'NOVA_GARP_DATABASE_URL',
    fallback: null,
  },
  { key: 'transportUrl', nova: 'transport_url', where: [['DEFAULT', 'transport_url']], flag: 'transport-url', env: 'NOVA_GARP_TRANSPORT_URL', fallback: null },
  { key: 'rabbitHost', nova: 'rabbit_host', where: [[RABBIT, 'rabbit_host'], ['DEFAULT', 'rabbit_host']], flag: 'rabbit-host', env: 'NOVA_GARP_RABBIT_HOST', fallback: 'localhost' },
  { key: 'rabbitPort', nova: 'rabbit_port', where: [[RABBIT, 'rabbit_port'], ['DEFAULT', 'rabbit_port']], flag: 'rabbit-port', env: 'NOVA_GARP_RABBIT_PORT', fallback: '5672' },
  { key: 'rabbitUserid', nova: 'rabbit_userid', where: [[RABBIT, 'rabbit_userid'], ['DEFAULT', 'rabbit_userid']], flag: 'rabbit-userid', env: 'NOVA_GARP_RABBIT_USERID', fallback: 'guest' },
  { key: 'rabbitPassword', nova: 'rabbit_password', where: [[RABBIT, 'rabbit_password'], ['DEFAULT', 'rabbit_password']], flag: 'rabbit-password', env: 'NOVA_GARP_RABBIT_PASSWORD', fallback: 'guest' },
  { key: 'rabbitVirtualHost', nova: 'rabbit_virtual_host', where: [[RABBIT, 'rabbit_virtual_host'], ['DEFAULT', 'rabbit_virtual_host']], flag: 'rabbit-virtual-host', env: 'NOVA_GARP_RABBIT_VIRTUAL_HOST', fallback: '/' },
  { key: 'controlExchange', nova: 'control_exchange', where: [['DEFAULT', 'control_exchange']], flag: 'control-exchange', env: 'NOVA_GARP_CONTROL_EXCHANGE', fallback: 'nova' },
  { key: 'networkTopic', nova: 'network_topic', where: [['DEFAULT', 'network_topic']], flag: 'network-topic', env: 'NOVA_GARP_NETWORK_TOPIC', fallback: 'network' },
];

export function overridesFromEnv(env: NodeJS.ProcessEnv): SettingsOverrides {
  const out: SettingsOverrides = {};
  for (const o of SETTING_SOURCES) {
    const v = env[o.env];
    if (v !== undefined && v !== '') out[o.key] = v;
  }
  return out;
}

export interface HostFacts {
  hostname: string;
  /** Source address of the default route, or null when there is none. */
  defaultRouteIp: string | null;
}

/**
 * Pure resolution: nova.conf values, `$var` substitution, defaults, then env, then flags.
 * Overrides apply before substitution, so `--my-ip` also moves a `routing_source_ip=$my_ip`.
 */
export function resolveSettings(
  conf: NovaConf | null,
  env: SettingsOverrides,
  flags: SettingsOverrides,
  facts: HostFacts,
  confPath: string | null = null,
): NovaSettings {
  const warnings: string[] = [...(conf?.warnings ?? [])];
  const origin = {} as Record<SettingKey, SettingOrigin>;
  const raw = new Map<SettingKey, { value: string; at?: ConfValue }>();
  for (const o of SETTING_SOURCES) {
    const fromFlag = flags[o.key];
    const fromEnv = env[o.key];
    const fromConf = lookup(conf, o.where);
    if (fromFlag !== undefined) {
      raw.set(o.key, { value: fromFlag });
      origin[o.key] = 'flag';
    } else if (fromEnv !== undefined) {
      raw.set(o.key, { value: fromEnv });
      origin[o.key] = 'env';
    } else if (fromConf !== undefined) {
      raw.set(o.key, { value: fromConf.value, at: fromConf });
      origin[o.key] = 'nova.conf';
    } else {
      origin[o.key] = 'default';
    }
  }
  if (origin.myIp === 'default' && facts.defaultRouteIp === null) {
    warnings.push('no default route: my_ip falls back to 127.0.0.1 as nova does; set my_ip or routing_source_ip');
  }
  const builtins: Record<string, string> = {
    host: facts.hostname,
    my_ip: facts.defaultRouteIp ?? '127.0.0.1',
    state_path: '/var/lib/nova',
    sqlite_db: 'nova.sqlite',
  };
  const byNova = new Map(SETTING_SOURCES.map((o) => [o.nova, o]));

  const resolving = new Set<string>();
  const resolveVar = (name: string, at: ConfValue | undefined): string => {
    const def = byNova.get(name);
    if (def !== undefined) {
      const r = raw.get(def.key);
      if (r !== undefined) return substitute(name, r.value, r.at);
      if (def.fallback !== null) return substitute(name, def.fallback, undefined);
    }
    const other = lookup(conf, [['DEFAULT', name]]);
    if (other !== undefined) return substitute(name, other.value, other);
    const builtin = builtins[name];
    if (builtin !== undefined) return builtin;
    const where = at === undefined ? 'a nova-garp setting' : `${at.file}:${at.line}`;
    throw new NovaConfError(at?.file ?? '(settings)', at?.line ?? null, `unknown option '$${name}' referenced in ${where}`);
  };
  // oslo.config / string.Template syntax: $name, ${name}, $$ for a literal dollar.
  const substitute = (name: string, value: string, at: ConfValue | undefined): string => {
    if (!value.includes('$')) return value;
    if (resolving.has(name)) {
      throw new NovaConfError(at?.file ?? '(settings)', at?.line ?? null, `'${name}' refers to itself through $-references`);
    }
    resolving.add(name);
    try {
      return value.replace(/\$(\$|\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g, (_m, _all, braced?: string, bare?: string) => {
        const ref = braced ?? bare;
        return ref === undefined ? '$' : resolveVar(ref, at);
      });
    } finally {
      resolving.delete(name);
    }
  };
  const get = (key: SettingKey): string | null => {
    const def = SETTING_SOURCES.find((o) => o.key === key) as SettingSource;
    const r = raw.get(key);
    if (r !== undefined) return substitute(def.nova, r.value, r.at).trim();
    if (def.fallback !== null) return substitute(def.nova, def.fallback, undefined);
    return null;
  };

  const host = get('host') ?? facts.hostname;
  const myIp = get('myIp') ?? builtins.my_ip ?? '127.0.0.1';
  const routingSourceIp = get('routingSourceIp') ?? myIp;
  checkOverrides(origin, { host, myIp, routingSourceIp, publicInterface: get('publicInterface') ?? 'eth0', databaseUrl: get('databaseUrl') });
  const transportUrl = get('transportUrl');
  const rabbit = resolveRabbit(conf, get, origin, transportUrl, raw.get('rabbitPort')?.at);
  const dbUrl = get('databaseUrl');
  if (dbUrl === null) warnings.push('no database URL ([database] connection / sql_connection): only the snapshot can be used');
  return {
    novaConfig: conf === null || confPath === null ? null : { path: confPath, format: conf.format, files: conf.files },
    host,
    myIp,
    routingSourceIp,
    publicInterface: get('publicInterface') ?? 'eth0',
    networkManager: get('networkManager') ?? 'nova.network.manager.VlanManager',
    databaseUrl: dbUrl === '' ? null : dbUrl,
    transportUrl: transportUrl === '' ? null : transportUrl,
    rabbit,
    controlExchange: get('controlExchange') ?? 'nova',
    networkTopic: get('networkTopic') ?? 'network',
    origin,
    warnings,
  };
}

/** `--my-ip` or `NOVA_GARP_MY_IP`: how the user gave an overridden value, for messages. */
export function overrideLabel(key: SettingKey, origin: SettingOrigin): string {
  const def = SETTING_SOURCES.find((o) => o.key === key) as SettingSource;
  return origin === 'env' ? def.env : `--${def.flag}`;
}

/**
 * Values given by flag or NOVA_GARP_* variable are checked here and blamed on that flag or
 * variable (a bad nova.conf value is nova.conf's, reported with its file and line where it is
 * used). Throws SettingsError: "<what is wrong>; <what to do>".
 */
function checkOverrides(
  origin: Record<SettingKey, SettingOrigin>,
  v: { host: string; myIp: string; routingSourceIp: string; publicInterface: string; databaseUrl: string | null },
): void {
  const given = (k: SettingKey): boolean => origin[k] === 'flag' || origin[k] === 'env';
  if (given('host') && (v.host === '' || /\s/.test(v.host))) {
    throw new SettingsError(`${overrideLabel('host', origin.host)} '${v.host}' is not a host name; give nova's host name for this network host (nova.conf host)`);
  }
  if (given('myIp') && parseIp(v.myIp) === null) {
    throw new SettingsError(`${overrideLabel('myIp', origin.myIp)} '${v.myIp}' is not an IP address; give this host's IPv4 or IPv6 address`);
  }
  if (given('routingSourceIp') && parseIp(v.routingSourceIp) === null) {
    throw new SettingsError(`${overrideLabel('routingSourceIp', origin.routingSourceIp)} '${v.routingSourceIp}' is not an IP address; give the SNAT address (nova.conf routing_source_ip)`);
  }
  if (given('publicInterface') && !/^[^\s/:]{0,15}$/.test(v.publicInterface)) {
    throw new SettingsError(`${overrideLabel('publicInterface', origin.publicInterface)} '${v.publicInterface}' is not an interface name; give a name of at most 15 characters without spaces, '/' or ':'`);
  }
  if (given('databaseUrl') && v.databaseUrl !== null && v.databaseUrl !== '') {
    try {
      parseDatabaseUrl(v.databaseUrl);
    } catch (err) {
      const msg = (err as Error).message;
      throw new SettingsError(`${overrideLabel('databaseUrl', origin.databaseUrl)}: ${msg}${msg.includes(';') ? '' : '; give mysql://user:password@host[:port]/database'}`);
    }
  }
}

function resolveRabbit(
  conf: NovaConf | null,
  get: (key: SettingKey) => string | null,
  origin: Record<SettingKey, SettingOrigin>,
  transportUrl: string | null,
  portAt: ConfValue | undefined,
): RabbitSettings {
  const portText = get('rabbitPort') ?? '5672';
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port < 1 || port > 65535) {
    if (portAt !== undefined) throw new NovaConfError(portAt.file, portAt.line, `rabbit_port must be a port number, got '${portText}'`);
    throw new SettingsError(`${overrideLabel('rabbitPort', origin.rabbitPort)} '${portText}' is not a port number; give one from 1 to 65535`);
  }
  const explicit = (k: SettingKey): boolean => origin[k] === 'flag' || origin[k] === 'env';
  let base: RabbitSettings;
  if (transportUrl !== null && transportUrl !== '') {
    // oslo.messaging: a transport_url replaces every rabbit_* option of the same file.
    base = parseTransportUrl(transportUrl);
  } else {
    const list = lookup(conf, [[RABBIT, 'rabbit_hosts'], ['DEFAULT', 'rabbit_hosts']]);
    const hosts =
      list !== undefined && origin.rabbitHost !== 'flag' && origin.rabbitHost !== 'env'
        ? list.value.split(',').filter((h) => h.trim() !== '').map((h) => parseEndpoint(h, port, `${list.file}:${list.line}`))
        : [{ host: get('rabbitHost') ?? 'localhost', port }];
    const ssl = lookup(conf, [[RABBIT, 'rabbit_use_ssl'], ['DEFAULT', 'rabbit_use_ssl']])?.value.toLowerCase();
    return {
      hosts,
      userid: get('rabbitUserid') ?? 'guest',
      password: get('rabbitPassword') ?? 'guest',
      virtualHost: get('rabbitVirtualHost') ?? '/',
      useSsl: ssl === 'true' || ssl === '1' || ssl === 'yes',
    };
  }
  // Flags and NOVA_GARP_* variables still win over what the URL says.
  if (explicit('rabbitHost') || explicit('rabbitPort')) {
    base.hosts = [{ host: explicit('rabbitHost') ? (get('rabbitHost') ?? 'localhost') : (base.hosts[0]?.host ?? 'localhost'), port }];
  }
  if (explicit('rabbitUserid')) base.userid = get('rabbitUserid') ?? base.userid;
  if (explicit('rabbitPassword')) base.password = get('rabbitPassword') ?? base.password;
  if (explicit('rabbitVirtualHost')) base.virtualHost = get('rabbitVirtualHost') ?? base.virtualHost;
  return base;
}

export interface LoadSettingsOptions {
  /** nova.conf path; default NOVA_GARP_NOVA_CONFIG, else /etc/nova/nova.conf (optional when defaulted). */
  novaConfig?: string;
  flags?: SettingsOverrides;
  env?: NodeJS.ProcessEnv;
  /** Injected for tests; default: os.hostname() and defaultRouteSourceIp(). */
  facts?: Partial<HostFacts>;
}

/**
 * Reads nova.conf (explicit path: must exist; default path: used when present) and resolves every
 * setting. Throws NovaConfError (names file and line) or SettingsError; both are usage errors.
 */
export async function loadSettings(opts: LoadSettingsOptions = {}): Promise<NovaSettings> {
  const env = opts.env ?? process.env;
  const explicitPath = opts.novaConfig ?? (env.NOVA_GARP_NOVA_CONFIG || undefined);
  const path = explicitPath ?? DEFAULT_NOVA_CONFIG;
  let conf: NovaConf | null = null;
  const notes: string[] = [];
  if (explicitPath !== undefined || existsSync(path)) {
    conf = await readNovaConf(path);
  } else {
    notes.push(`${DEFAULT_NOVA_CONFIG} not found: using nova's defaults and nova-garp flags`);
  }
  const envOverrides = overridesFromEnv(env);
  const flags = opts.flags ?? {};
  const needsRoute = flags.myIp === undefined && envOverrides.myIp === undefined && lookup(conf, [['DEFAULT', 'my_ip']]) === undefined;
  const facts: HostFacts = {
    hostname: opts.facts?.hostname ?? osHostname(),
    defaultRouteIp: opts.facts?.defaultRouteIp !== undefined ? opts.facts.defaultRouteIp : needsRoute ? await defaultRouteSourceIp() : null,
  };
  const settings = resolveSettings(conf, envOverrides, flags, facts, conf === null ? null : conf.files[0] ?? path);
  settings.warnings.unshift(...notes);
  return settings;
}
