import { describe, expect, it } from 'vitest';
import { boundAddresses, parseIpAddrJson } from '../../src/link/interfaces.js';
import { unboundReason } from '../../src/sender/announcer.js';

// Shape of iproute2 6.1 `ip -j addr show` output.
const SAMPLE = JSON.stringify([
  { ifindex: 1, ifname: 'lo', flags: ['LOOPBACK', 'UP', 'LOWER_UP'], address: '00:00:00:00:00:00', addr_info: [{ family: 'inet', local: '127.0.0.1', prefixlen: 8 }] },
  {
    ifindex: 7,
    ifname: 'br100',
    flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'],
    address: '02:AA:BB:CC:DD:EE',
    addr_info: [
      { family: 'inet', local: '10.0.0.1', prefixlen: 24 },
      { family: 'inet6', local: '2001:DB8::1', prefixlen: 64 },
      { family: 'inet6', local: '2001:db8::2', prefixlen: 64, tentative: true },
    ],
  },
  { ifindex: 8, ifname: 'eth1', flags: ['BROADCAST', 'MULTICAST'], address: '02:00:00:00:00:01', addr_info: [{ family: 'inet', local: '192.0.2.9', prefixlen: 32 }] },
]);

describe('ip -j addr parsing', () => {
  const links = new Map(parseIpAddrJson(SAMPLE).map((l) => [l.name, l]));
  it('reads MAC, flags and canonical addresses', () => {
    const br = links.get('br100')!;
    expect(br).toMatchObject({ ifindex: 7, mac: '02:aa:bb:cc:dd:ee', up: true, carrier: true });
    expect([...boundAddresses(br)]).toEqual(['10.0.0.1', '2001:db8::1']);
  });
  it('says why an address cannot be announced', () => {
    expect(unboundReason(links.get('br100'), 'br100', '10.0.0.1')).toBeNull();
    expect(unboundReason(links.get('br100'), 'br100', '10.0.0.9')).toMatch(/not bound/);
    expect(unboundReason(links.get('br100'), 'br100', '2001:db8::2')).toMatch(/tentative/);
    expect(unboundReason(links.get('eth1'), 'eth1', '192.0.2.9')).toMatch(/down/);
    expect(unboundReason(undefined, 'eth9', '192.0.2.9')).toMatch(/does not exist/);
  });
});
