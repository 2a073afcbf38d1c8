import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseNovaConf } from '../../src/nova/nova-conf.js';
import { overridesFromFlags } from '../../src/cli/settings-options.js';
import { defaultRouteSourceIp } from '../../src/nova/my-ip.js';
import { loadSettings, resolveSettings } from '../../src/nova/settings.js';
import { parseTransportUrl, TransportUrlError } from '../../src/nova/transport-url.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'nova-conf');
const facts = { hostname: 'box', defaultRouteIp: '198.51.100.7' };

describe('settings from real releases', () => {
  it('Cactus flagfile with an include', async () => {
    const s = await loadSettings({ novaConfig: join(FIXTURES, 'cactus', 'nova.conf'), env: {}, facts });
    expect(s).toMatchObject({
      host: 'nova-net-1',
      myIp: '10.0.0.2',
      routingSourceIp: '10.0.0.2',
      publicInterface: 'eth0',
      networkManager: 'nova.network.manager.VlanManager',
      databaseUrl: 'mysql://nova:notnova@10.0.0.2/nova',
      transportUrl: null,
      rabbit: { hosts: [{ host: '10.0.0.2', port: 5672 }], userid: 'nova', password: 'notguest', virtualHost: '/' },
      controlExchange: 'nova',
      networkTopic: 'network',
    });
    expect(s.novaConfig?.format).toBe('flagfile');
    expect(s.origin.host).toBe('nova.conf');
  });

  it('Folsom INI: [DEFAULT] sql_connection, rabbit_* and defaults', async () => {
    const s = await loadSettings({ novaConfig: join(FIXTURES, 'folsom.conf'), env: {}, facts });
    expect(s).toMatchObject({
      host: 'box',
      myIp: '192.168.206.130',
      routingSourceIp: '192.168.206.130',
      networkManager: 'nova.network.manager.FlatDHCPManager',
      databaseUrl: 'mysql://nova:password@192.168.206.130/nova?charset=utf8',
      rabbit: { hosts: [{ host: '192.168.206.130', port: 5672 }], userid: 'guest', password: 'guest', virtualHost: '/' },
    });
    expect(s.origin.routingSourceIp).toBe('default');
  });

  it('Newton INI: [database] connection, transport_url with two brokers, ${my_ip}', async () => {
    const s = await loadSettings({ novaConfig: join(FIXTURES, 'newton.conf'), env: {}, facts });
    expect(s).toMatchObject({
      host: 'network-1',
      myIp: '10.0.0.11',
      routingSourceIp: '10.0.0.11',
      publicInterface: 'bond0',
      databaseUrl: 'mysql+pymysql://nova:NOVA_DBPASS@controller/nova?charset=utf8',
      transportUrl: 'rabbit://openstack:RABBIT_PASS@controller1:5672,openstack:RABBIT_PASS@controller2:5672/nova',
      rabbit: {
        hosts: [
          { host: 'controller1', port: 5672 },
          { host: 'controller2', port: 5672 },
        ],
        userid: 'openstack',
        password: 'RABBIT_PASS',
        virtualHost: 'nova',
      },
    });
  });
});

describe('resolution rules', () => {
  it('computes my_ip from the default route when unset and falls back to 127.0.0.1 with a warning', () => {
    const conf = parseNovaConf('[DEFAULT]\nhost=h\n', '/n.conf');
    expect(resolveSettings(conf, {}, {}, facts).routingSourceIp).toBe('198.51.100.7');
    const none = resolveSettings(conf, {}, {}, { hostname: 'box', defaultRouteIp: null });
    expect(none.myIp).toBe('127.0.0.1');
    expect(none.warnings.join()).toMatch(/no default route/);
  });

  it('applies env over nova.conf and flags over env, before $ substitution', () => {
    const conf = parseNovaConf('[DEFAULT]\nmy_ip=10.0.0.1\nrouting_source_ip=$my_ip\npublic_interface=eth0\n', '/n.conf');
    const s = resolveSettings(conf, overridesFromFlags({}), {}, facts);
    expect(s.routingSourceIp).toBe('10.0.0.1');
    const env = { myIp: '10.0.0.2', publicInterface: 'eth9' };
    const flags = overridesFromFlags({ 'my-ip': '10.0.0.3' });
    const o = resolveSettings(conf, env, flags, facts);
    expect(o.routingSourceIp).toBe('10.0.0.3');
    expect(o.publicInterface).toBe('eth9');
    expect(o.origin).toMatchObject({ myIp: 'flag', publicInterface: 'env', routingSourceIp: 'nova.conf' });
  });

  it('reads NOVA_GARP_* variables from the environment', async () => {
    const s = await loadSettings({
      novaConfig: join(FIXTURES, 'newton.conf'),
      env: { NOVA_GARP_HOST: 'other', NOVA_GARP_DATABASE_URL: 'mysql://a@b/c', NOVA_GARP_RABBIT_HOST: 'mq', NOVA_GARP_CONTROL_EXCHANGE: 'x' },
      facts,
    });
    expect(s.host).toBe('other');
    expect(s.databaseUrl).toBe('mysql://a@b/c');
    expect(s.controlExchange).toBe('x');
    // An explicit host beats the transport_url's brokers; its credentials stay.
    expect(s.rabbit.hosts).toEqual([{ host: 'mq', port: 5672 }]);
    expect(s.rabbit.userid).toBe('openstack');
  });

  it('supports ${braced}, $$ and chained references; rejects unknown and circular ones with file:line', () => {
    const conf = parseNovaConf('[DEFAULT]\nstate_path=/srv/nova\nsql_connection=sqlite:///${state_path}/$sqlite_db\npublic_interface=$$eth\n', '/n.conf');
    const s = resolveSettings(conf, {}, {}, facts);
    expect(s.databaseUrl).toBe('sqlite:////srv/nova/nova.sqlite');
    expect(s.publicInterface).toBe('$eth');
    const bad = parseNovaConf('[DEFAULT]\nrouting_source_ip=$nope\n', '/n.conf');
    expect(() => resolveSettings(bad, {}, {}, facts)).toThrowError(/\/n.conf:2: unknown option '\$nope'/);
    const loop = parseNovaConf('[DEFAULT]\nmy_ip=$routing_source_ip\nrouting_source_ip=$my_ip\n', '/n.conf');
    expect(() => resolveSettings(loop, {}, {}, facts)).toThrowError(/refers to itself/);
  });

  it('legacy [oslo_messaging_rabbit] rabbit_* and Folsom rabbit_hosts', () => {
    const a = parseNovaConf('[DEFAULT]\n[oslo_messaging_rabbit]\nrabbit_host=mq1\nrabbit_port=5673\nrabbit_userid=u\nrabbit_password=p\nrabbit_virtual_host=/v\n', '/n.conf');
    expect(resolveSettings(a, {}, {}, facts).rabbit).toEqual({ hosts: [{ host: 'mq1', port: 5673 }], userid: 'u', password: 'p', virtualHost: '/v', useSsl: false });
    const b = parseNovaConf('[DEFAULT]\nrabbit_hosts=mq1:5672,mq2\nrabbit_use_ssl=true\n', '/n.conf');
    expect(resolveSettings(b, {}, {}, facts).rabbit).toMatchObject({ hosts: [{ host: 'mq1', port: 5672 }, { host: 'mq2', port: 5672 }], useSsl: true });
    const c = parseNovaConf('[DEFAULT]\nrabbit_port=amqp\n', '/n.conf');
    expect(() => resolveSettings(c, {}, {}, facts)).toThrowError(/\/n.conf:2: rabbit_port must be a port number/);
  });

  it('works without any nova.conf (nova defaults)', () => {
    const s = resolveSettings(null, {}, {}, facts);
    expect(s).toMatchObject({ host: 'box', publicInterface: 'eth0', controlExchange: 'nova', networkTopic: 'network', databaseUrl: null });
    expect(s.rabbit).toEqual({ hosts: [{ host: 'localhost', port: 5672 }], userid: 'guest', password: 'guest', virtualHost: '/', useSsl: false });
  });

  it('an explicit nova.conf that does not exist is an error naming it', async () => {
    await expect(loadSettings({ novaConfig: '/nonexistent/nova.conf', env: {}, facts })).rejects.toThrowError(/\/nonexistent\/nova.conf/);
  });
});

describe('transport_url', () => {
  it('parses vhosts, default vhost, IPv6 and escaped credentials', () => {
    expect(parseTransportUrl('rabbit://u:p%40ss@[fd00::1]:5671/')).toEqual({ hosts: [{ host: 'fd00::1', port: 5671 }], userid: 'u', password: 'p@ss', virtualHost: '/', useSsl: false });
    expect(parseTransportUrl('rabbit://h?ssl=1').useSsl).toBe(true);
    expect(() => parseTransportUrl('zmq://h')).toThrowError(TransportUrlError);
  });
});

describe('my_ip like nova computes it', () => {
  it('returns a local address without sending anything (UDP connect is a route lookup)', async () => {
    const ip = await defaultRouteSourceIp('127.0.0.1');
    expect(ip).toBe('127.0.0.1');
  });
});
