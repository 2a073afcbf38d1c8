import { describe, expect, it } from 'vitest';
import { deriveConfigTargets, deriveTargets, placeRoutingSource } from '../../src/inventory/derive-targets.js';

const config = { routingSourceIp: '192.0.2.2', publicInterface: 'eth0' };

describe('target derivation', () => {
  it('derives routing source, gateways, IPv6 gateways, dhcp_server and floating IPs with interfaces', () => {
    const d = deriveTargets(config, {
      networks: [
        { id: 1, bridge: 'br100', gateway: '10.0.0.1', gateway_v6: 'FD00:0:0:0::1', dhcp_server: '10.0.0.1', multi_host: false },
        { id: 2, bridge: 'br101', gateway: '10.0.1.1', dhcp_server: '10.0.1.4', gateway_v6: null },
      ],
      floatingIps: [
        { id: 7, address: '203.0.113.7' },
        { id: 8, address: '203.0.113.8', interface: 'eth1' },
        { id: 9, address: '203.0.113.9', interface: '' },
        { id: 10, address: ' 203.0.113.10 ', interface: null },
      ],
    });
    expect(d.skipped).toEqual([{ source: 'networks.id=2 gateway', reason: '10.0.1.1 differs from dhcp_server 10.0.1.4: nova binds dhcp_server, the gateway is an outside router' }]);
    expect(d.targets).toEqual([
      { kind: 'routing_source', address: '192.0.2.2', interface: 'eth0' },
      { kind: 'gateway', address: '10.0.0.1', interface: 'br100' },
      { kind: 'gateway_v6', address: 'fd00::1', interface: 'br100' },
      { kind: 'gateway', address: '10.0.1.4', interface: 'br101' },
      { kind: 'floating', address: '203.0.113.7', interface: 'eth0' },
      { kind: 'floating', address: '203.0.113.8', interface: 'eth0' }, // public_interface wins, as in nova
      { kind: 'floating', address: '203.0.113.9', interface: 'eth0' },
      { kind: 'floating', address: '203.0.113.10', interface: 'eth0' },
    ]);
  });

  it('follows each release\'s floating-IP interface rule: Essex the row\'s, Folsom on public_interface first, Cactus public_interface only', () => {
    const rows = { networks: [], floatingIps: [{ id: 1, address: '203.0.113.1', interface: 'eth1' }, { id: 2, address: '203.0.113.2', interface: null }] };
    const ifaces = (rule: 'row' | 'public_interface' | 'public_interface-or-row'): string[] => deriveTargets({ ...config, floatingInterfaceRule: rule }, rows).targets.filter((t) => t.kind === 'floating').map((t) => t.interface);
    expect(ifaces('row')).toEqual(['eth1', 'eth0']);
    expect(ifaces('public_interface-or-row')).toEqual(['eth0', 'eth0']);
    expect(ifaces('public_interface')).toEqual(['eth0', 'eth0']);
  });

  it('skips odd rows with a reason and carries on', () => {
    const d = deriveTargets(config, {
      networks: [
        { id: 1, bridge: '', gateway: '10.0.0.1' },
        { id: 2, bridge: null, gateway: '10.0.0.1' },
        { id: 3, bridge: 'br3', gateway: null },
        { id: 4, bridge: 'br4', gateway: 'fd00::1' },
        { id: 5, bridge: 'br5', gateway: '10.0.5.1', gateway_v6: '10.0.5.1' },
        { id: 6, bridge: 'br6', gateway: '10.0.6.1', multi_host: 1 },
        { id: 7, bridge: 'a/very/odd/bridge', gateway: '10.0.7.1' },
      ],
      floatingIps: [
        { id: 1, address: 'bogus' },
        { id: 2, address: null },
        { id: 3, address: '127.0.0.1' },
        { id: 4, address: '0.0.0.0' },
        { id: 5, address: '224.0.0.1' },
        { id: 6, address: '198.51.100.1', interface: 'eth0:1' },
        { id: 7, address: '198.51.100.2' },
      ],
    });
    // Row 6 names an alias label as its interface; public_interface wins, so it is announced on eth0.
    expect(d.targets.map((t) => t.address)).toEqual(['192.0.2.2', '10.0.5.1', '198.51.100.1', '198.51.100.2']);
    expect(d.skipped.map((s) => s.source)).toEqual([
      'networks.id=1',
      'networks.id=2',
      'networks.id=3 gateway',
      'networks.id=4 gateway',
      'networks.id=5 gateway_v6',
      'networks.id=6',
      'networks.id=7 gateway',
      'floating_ips.id=1',
      'floating_ips.id=2',
      'floating_ips.id=3',
      'floating_ips.id=4',
      'floating_ips.id=5',
    ]);
    expect(d.skipped.find((s) => s.source === 'networks.id=6')?.reason).toMatch(/multi_host/);
  });

  it('uses floating_ips.interface only when public_interface is empty, as nova does', () => {
    const d = deriveTargets(
      { routingSourceIp: '192.0.2.2', publicInterface: '' },
      { networks: [], floatingIps: [{ id: 1, address: '203.0.113.1', interface: 'eth1' }, { id: 2, address: '203.0.113.2', interface: null }] },
    );
    expect(d.targets.filter((t) => t.kind === 'floating')).toEqual([{ kind: 'floating', address: '203.0.113.1', interface: 'eth1' }]);
    expect(d.skipped.find((s) => s.source === 'floating_ips.id=2')?.reason).toMatch(/public_interface is empty/);
  });

  it('dedupes canonical duplicates and reports the same address claimed on two interfaces', () => {
    const d = deriveTargets(
      { routingSourceIp: '192.0.2.2', publicInterface: '' },
      {
        networks: [],
        floatingIps: [
          { id: 1, address: '203.0.113.1', interface: 'eth0' },
          { id: 2, address: '203.0.113.1', interface: 'eth0' },
          { id: 3, address: '203.0.113.1', interface: 'eth1' },
        ],
      },
    );
    expect(d.targets.filter((t) => t.kind === 'floating')).toHaveLength(1);
    expect(d.skipped).toContainEqual({ source: 'floating_ips.id=3', reason: '203.0.113.1 is already a floating target on eth0' });
  });

  it('routing source from nova.conf alone, and a bad one is skipped, not fatal', () => {
    expect(deriveConfigTargets(config).targets).toEqual([{ kind: 'routing_source', address: '192.0.2.2', interface: 'eth0' }]);
    expect(deriveConfigTargets({ routingSourceIp: 'nova-host', publicInterface: 'eth0' }).skipped[0]?.source).toBe('nova.conf routing_source_ip');
  });

  it('moves the routing source IP to the interface that holds it', () => {
    const targets = deriveConfigTargets(config).targets;
    const bound = new Map([
      ['lo', new Set(['192.0.2.2'])],
      ['vlan9', new Set(['192.0.2.2'])],
    ]);
    expect(placeRoutingSource(targets, bound)[0]?.interface).toBe('vlan9');
    expect(placeRoutingSource(targets, new Map([['eth0', new Set(['192.0.2.2'])]]))[0]?.interface).toBe('eth0');
    expect(placeRoutingSource(targets, new Map())[0]?.interface).toBe('eth0');
  });
});
