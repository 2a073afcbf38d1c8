import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectFormat, lookup, NovaConfError, parseNovaConf, readNovaConf } from '../../src/nova/nova-conf.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'nova-conf');

describe('nova.conf format detection', () => {
  it('treats a first flag line as a flagfile and anything else as INI (Essex compat rule)', () => {
    expect(detectFormat('# comment\n\n--verbose\n')).toBe('flagfile');
    expect(detectFormat('[DEFAULT]\nverbose=True\n')).toBe('ini');
    expect(detectFormat('')).toBe('ini');
  });
});

describe('gflags flagfiles', () => {
  it('reads --name=value, bare booleans, --noname negation and keeps the last value', () => {
    const conf = parseNovaConf('--host=a\n--verbose\n--nouse_ipv6\n  --host=b  \n// c++ comment\n# comment\n--empty=\n', '/etc/nova/nova.conf');
    const d = conf.sections.get('DEFAULT');
    expect(d?.get('host')).toEqual({ value: 'b', file: '/etc/nova/nova.conf', line: 4 });
    expect(d?.get('verbose')?.value).toBe('true');
    expect(d?.get('use_ipv6')?.value).toBe('false');
    expect(d?.get('empty')?.value).toBe('');
  });

  it('keeps values containing = and $ references verbatim', () => {
    const conf = parseNovaConf('--sql_connection=mysql://u:p=q@h/nova?charset=utf8\n--routing_source_ip=$my_ip\n', '/x');
    expect(lookup(conf, [['DEFAULT', 'sql_connection']])?.value).toBe('mysql://u:p=q@h/nova?charset=utf8');
    expect(lookup(conf, [['DEFAULT', 'routing_source_ip']])?.value).toBe('$my_ip');
  });

  it('follows --flagfile includes relative to the including file and warns on cycles', async () => {
    const conf = await readNovaConf(join(FIXTURES, 'cactus', 'nova.conf'));
    expect(conf.format).toBe('flagfile');
    expect(conf.files).toEqual([join(FIXTURES, 'cactus', 'nova.conf'), join(FIXTURES, 'cactus', 'nova-network.conf')]);
    const host = lookup(conf, [['DEFAULT', 'host']]);
    expect(host).toMatchObject({ value: 'nova-net-1', file: join(FIXTURES, 'cactus', 'nova-network.conf'), line: 3 });
    expect(lookup(conf, [['DEFAULT', 'use_ipv6']])?.value).toBe('false');
    expect(lookup(conf, [['DEFAULT', 'daemon']])?.value).toBe('false');
    expect(conf.warnings.join('\n')).toMatch(/circular --flagfile=nova.conf/);
  });

  it('names file and line for lines that are not flags and for unreadable includes', () => {
    expect(() => parseNovaConf('--host=a\nhost=b\n', '/etc/nova/nova.conf')).toThrowError(/\/etc\/nova\/nova.conf:2: not a flag/);
    const reader = (): string => {
      throw new Error('ENOENT');
    };
    expect(() => parseNovaConf('--verbose\n--flagfile=/missing.conf\n', '/a.conf', reader)).toThrowError(/\/a.conf:2: --flagfile=\/missing.conf: cannot read/);
    try {
      parseNovaConf('--bad name=1\n', '/b.conf');
    } catch (err) {
      expect(err).toBeInstanceOf(NovaConfError);
      expect((err as NovaConfError).line).toBe(1);
    }
  });
});

describe('INI (oslo.config)', () => {
  it('reads sections, = and : separators, quotes, continuation lines and comments', () => {
    const text = '[DEFAULT]\nhost = net-1\nmy_ip: 10.0.0.1\nname = "quoted value"\nmulti = first\n  second\n; semicolon comment\n[database]\nconnection=mysql://a@b/nova\n';
    const conf = parseNovaConf(text, '/etc/nova/nova.conf');
    expect(conf.format).toBe('ini');
    expect(lookup(conf, [['DEFAULT', 'host']])?.value).toBe('net-1');
    expect(lookup(conf, [['DEFAULT', 'my_ip']])?.value).toBe('10.0.0.1');
    expect(lookup(conf, [['DEFAULT', 'name']])?.value).toBe('quoted value');
    expect(lookup(conf, [['DEFAULT', 'multi']])?.value).toBe('first\nsecond');
    expect(lookup(conf, [['DATABASE', 'connection']])?.value).toBe('mysql://a@b/nova');
  });

  it('finds [database] connection and not [api_database] connection in a Newton file', () => {
    const conf = parseNovaConf(readFileSync(join(FIXTURES, 'newton.conf'), 'utf8'), 'newton.conf');
    expect(lookup(conf, [['database', 'connection']])?.value).toBe('mysql+pymysql://nova:NOVA_DBPASS@controller/nova?charset=utf8');
    expect(lookup(conf, [['api_database', 'connection']])?.value).toContain('nova_api');
  });

  it('names file and line for options outside sections and broken headers', () => {
    expect(() => parseNovaConf('host = a\n', '/n.conf')).toThrowError(/\/n.conf:1: option outside any \[section\]/);
    expect(() => parseNovaConf('[DEFAULT]\n[broken\n', '/n.conf')).toThrowError(/\/n.conf:2: bad section header/);
    expect(() => parseNovaConf('[DEFAULT]\njust words\n', '/n.conf')).toThrowError(/\/n.conf:2: expected 'name = value'/);
  });

  it('reports a missing file with its path', async () => {
    await expect(readNovaConf('/nonexistent/nova.conf')).rejects.toThrowError(/\/nonexistent\/nova.conf: cannot read: ENOENT/);
  });
});
