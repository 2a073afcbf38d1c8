/**
 * SQLAlchemy database URLs as nova writes them (`sql_connection`, `[database] connection`):
 * `mysql://`, `mysql+pymysql://`, `mysql+mysqldb://` (and the other MySQL DBAPI drivers),
 * with `?charset=utf8&unix_socket=...` style query options. Pure.
 */

export interface DatabaseUrl {
  /** The scheme as written, e.g. `mysql+pymysql`. */
  scheme: string;
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  socketPath?: string;
  charset?: string;
  ssl?: { ca?: string; cert?: string; key?: string };
  /** Query options nova's drivers understand but mysql2 has no use for; reported, not fatal. */
  ignoredOptions: string[];
  /** The URL with the password replaced, safe for logs and error messages. */
  redacted: string;
}

export class DatabaseUrlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DatabaseUrlError';
  }
}

// All of these speak the MySQL protocol; SQLAlchemy only picks the Python client library.
const MYSQL_SCHEMES = new Set(['mysql', 'mysql+pymysql', 'mysql+mysqldb', 'mysql+mysqlconnector', 'mysql+oursql', 'mysql+cymysql', 'mariadb', 'mariadb+pymysql']);

export function redactUrl(raw: string): string {
  return raw.replace(/^([a-z0-9+.-]+:\/\/[^:/@]*):[^@/]*@/i, '$1:***@');
}

export function parseDatabaseUrl(raw: string): DatabaseUrl {
  const text = raw.trim();
  const redacted = redactUrl(text);
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(.*)$/s.exec(text);
  if (m?.[1] === undefined || m[2] === undefined) throw new DatabaseUrlError(`not a database URL: '${redacted}'`);
  const scheme = m[1].toLowerCase();
  if (!MYSQL_SCHEMES.has(scheme)) {
    const what = scheme.startsWith('sqlite') ? 'SQLite (nova\'s default when sql_connection is unset)' : scheme;
    throw new DatabaseUrlError(`${redacted}: ${what} is not supported; nova-garp reads nova's MySQL/MariaDB database (mysql://, mysql+pymysql://, mysql+mysqldb://)`);
  }
  let rest = m[2];
  let query = '';
  const q = rest.indexOf('?');
  if (q >= 0) {
    query = rest.slice(q + 1);
    rest = rest.slice(0, q);
  }
  const slash = rest.indexOf('/');
  const authority = slash >= 0 ? rest.slice(0, slash) : rest;
  const database = decode(slash >= 0 ? rest.slice(slash + 1) : '', redacted);
  // The password may itself contain '@' when unescaped; the last '@' ends the credentials.
  const at = authority.lastIndexOf('@');
  const creds = at >= 0 ? authority.slice(0, at) : '';
  const hostPort = at >= 0 ? authority.slice(at + 1) : authority;
  const colon = creds.indexOf(':');
  const user = decode(colon >= 0 ? creds.slice(0, colon) : creds, redacted);
  const password = decode(colon >= 0 ? creds.slice(colon + 1) : '', redacted);

  let host = hostPort;
  let portText = '';
  const v6 = /^\[([^\]]+)\](?::(.*))?$/.exec(hostPort);
  if (v6?.[1] !== undefined) {
    host = v6[1];
    portText = v6[2] ?? '';
  } else if (hostPort.includes(':')) {
    host = hostPort.slice(0, hostPort.lastIndexOf(':'));
    portText = hostPort.slice(hostPort.lastIndexOf(':') + 1);
  }
  let port = 3306;
  if (portText !== '') {
    if (!/^\d+$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
      throw new DatabaseUrlError(`${redacted}: bad port '${portText}'`);
    }
    port = Number(portText);
  }
  if (database === '') throw new DatabaseUrlError(`${redacted}: no database name (expected ...://user:password@host/nova)`);

  const url: DatabaseUrl = { scheme, host: host === '' ? 'localhost' : host, port, user, password, database, ignoredOptions: [], redacted };
  for (const pair of query.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const key = decode(eq >= 0 ? pair.slice(0, eq) : pair, redacted, true);
    const value = decode(eq >= 0 ? pair.slice(eq + 1) : '', redacted, true);
    switch (key) {
      case 'unix_socket':
        url.socketPath = value;
        break;
      case 'charset':
        url.charset = value;
        break;
      case 'ssl_ca':
        url.ssl = { ...url.ssl, ca: value };
        break;
      case 'ssl_cert':
        url.ssl = { ...url.ssl, cert: value };
        break;
      case 'ssl_key':
        url.ssl = { ...url.ssl, key: value };
        break;
      default:
        // read_default_file, use_unicode, connect_timeout, plugin=dbcounter...: the first would need
        // a my.cnf parser, the timeout is ours to bound, the rest are Python-side.
        url.ignoredOptions.push(key);
    }
  }
  return url;
}

// SQLAlchemy unquotes credentials literally but the query with parse_qsl, where '+' is a space.
function decode(text: string, redacted: string, plusIsSpace = false): string {
  try {
    return decodeURIComponent(plusIsSpace ? text.replace(/\+/g, '%20') : text);
  } catch {
    throw new DatabaseUrlError(`${redacted}: bad percent-encoding in '${text.includes('%') ? '…' : text}'`);
  }
}
