import { describe, expect, it } from 'vitest';
import { bindAll, floatingIp, makeLayout, layoutInventory, layoutTargets, probeGroups, PUBLIC_IF } from '../../tools/lab/addressing.js';
import { parseSnapshot, serializeSnapshot } from '../../src/inventory/snapshot.js';

describe('lab address plan', () => {
  it('numbers floating IPs 250 per /24 without .0 or broadcast', () => {
    expect(floatingIp(0)).toBe('172.20.1.1');
    expect(floatingIp(249)).toBe('172.20.1.250');
    expect(floatingIp(250)).toBe('172.20.2.1');
    expect(new Set(makeLayout(1000, 0, false).floating).size).toBe(1000);
  });

  it('binds in init_host order: routing source, gateways on bridges, then floating IPs as /32', () => {
    const lines = bindAll(makeLayout(2, 2, true));
    expect(lines).toEqual([
      `address add 172.20.0.2/32 dev ${PUBLIC_IF}`,
      'address add 10.1.0.1/24 dev br100',
      'address add fd00:1::1/64 dev br100 nodad',
      'address add 10.1.1.1/24 dev br101',
      'address add fd00:1:1::1/64 dev br101 nodad',
      `address add 172.20.1.1/32 dev ${PUBLIC_IF}`,
      `address add 172.20.1.2/32 dev ${PUBLIC_IF}`,
    ]);
  });

  it('gives the sidecar every moving address with its interface, as a valid snapshot', () => {
    const plan = makeLayout(3, 1, true);
    const targets = layoutTargets(plan);
    expect(targets.map((t) => t.kind)).toEqual(['routing_source', 'floating', 'floating', 'floating', 'gateway', 'gateway_v6']);
    expect(targets.find((t) => t.kind === 'gateway_v6')).toEqual({ kind: 'gateway_v6', address: 'fd00:1::1', interface: 'br100' });
    const inv = layoutInventory(plan, new Date('2024-01-01T00:00:00Z'));
    expect(parseSnapshot(serializeSnapshot(inv)).targets).toEqual(targets);
  });

  it('probes public addresses from the laptop and each gateway from its instance', () => {
    const groups = probeGroups(makeLayout(2, 2, false));
    expect(groups).toEqual([
      { role: 'laptop', addresses: ['172.20.0.2', '172.20.1.1', '172.20.1.2'] },
      { role: 'inst0', addresses: ['10.1.0.1'] },
      { role: 'inst1', addresses: ['10.1.1.1'] },
    ]);
  });

  it('refuses sizes it cannot number', () => {
    expect(() => makeLayout(10_001, 0, false)).toThrow(RangeError);
    expect(() => makeLayout(1, 251, false)).toThrow(RangeError);
  });
});
