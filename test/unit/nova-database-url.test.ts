import { describe, expect, it } from 'vitest';
import { DatabaseUrlError, parseDatabaseUrl, redactUrl } from '../../src/nova/database-url.js';

describe('nova database URLs', () => {
  it('parses the three SQLAlchemy MySQL spellings nova configs use', () => {
    expect(parseDatabaseUrl('mysql://nova:notnova@10.0.0.2/nova')).toMatchObject({ scheme: 'mysql', host: '10.0.0.2', port: 3306, user: 'nova', password: 'notnova', database: 'nova' });
    expect(parseDatabaseUrl('mysql+pymysql://nova:pw@controller:3307/nova?charset=utf8')).toMatchObject({ scheme: 'mysql+pymysql', host: 'controller', port: 3307, charset: 'utf8', ignoredOptions: [] });
    expect(parseDatabaseUrl('mysql+mysqldb://nova:pw@db/nova')).toMatchObject({ scheme: 'mysql+mysqldb', host: 'db' });
  });

  it('handles escaped and awkward credentials, IPv6 hosts and unix sockets', () => {
    const u = parseDatabaseUrl('mysql://nova:p%40ss:w+rd@[fd00::5]:3306/nova?unix_socket=/run/mysqld/mysqld.sock&read_default_file=/etc/my.cnf&ssl_ca=/ca.pem');
    expect(u).toMatchObject({ password: 'p@ss:w+rd', host: 'fd00::5', socketPath: '/run/mysqld/mysqld.sock', ssl: { ca: '/ca.pem' }, ignoredOptions: ['read_default_file'] });
    expect(parseDatabaseUrl('mysql://root@/nova').host).toBe('localhost');
    expect(parseDatabaseUrl('mysql://u:a@b@h/nova')).toMatchObject({ password: 'a@b', host: 'h' });
  });

  it('never shows the password', () => {
    expect(redactUrl('mysql+pymysql://nova:secret@h/nova')).toBe('mysql+pymysql://nova:***@h/nova');
    try {
      parseDatabaseUrl('mysql://nova:secret@h:99999/nova');
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message).not.toContain('secret');
      expect((err as Error).message).toMatch(/bad port/);
    }
  });

  it('rejects SQLite, PostgreSQL, missing database names and garbage clearly', () => {
    expect(() => parseDatabaseUrl('sqlite:////var/lib/nova/nova.sqlite')).toThrowError(/SQLite .* not supported/);
    expect(() => parseDatabaseUrl('postgresql://n@h/nova')).toThrowError(DatabaseUrlError);
    expect(() => parseDatabaseUrl('mysql://n@h')).toThrowError(/no database name/);
    expect(() => parseDatabaseUrl('nova')).toThrowError(/not a database URL/);
  });
});
