import { describe, expect, it } from 'vitest';
import { parseMonitorLine } from '../../src/link/monitor-line.js';

describe('ip -o monitor lines', () => {
  it('parses address additions, deletions and DAD state', () => {
    expect(parseMonitorLine('3: d0    inet 10.1.1.1/32 scope global d0\\       valid_lft forever preferred_lft forever')).toEqual({
      type: 'address', deleted: false, ifindex: 3, ifname: 'd0', family: 4, address: '10.1.1.1', prefixlen: 32, tentative: false,
    });
    expect(parseMonitorLine('Deleted 3: d0    inet 10.1.1.1/32 scope global d0\\       valid_lft forever preferred_lft forever')).toMatchObject({ deleted: true, address: '10.1.1.1' });
    expect(parseMonitorLine('3: d0    inet6 2001:db8::9/64 scope global tentative \\       valid_lft forever preferred_lft forever')).toMatchObject({ family: 6, tentative: true });
    expect(parseMonitorLine('3: d0    inet6 2001:DB8::9/64 scope global \\       valid_lft forever preferred_lft forever')).toMatchObject({ address: '2001:db8::9', tentative: false });
  });
  it('parses link state lines', () => {
    expect(parseMonitorLine('3: eth0@if2: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP \\    link/ether 02:aa:bb:cc:dd:ee brd ff:ff:ff:ff:ff:ff')).toEqual({
      type: 'link', deleted: false, ifindex: 3, ifname: 'eth0', up: true, carrier: true, mac: '02:aa:bb:cc:dd:ee',
    });
    expect(parseMonitorLine('3: eth0: <NO-CARRIER,BROADCAST,MULTICAST,UP> mtu 1500')).toMatchObject({ up: true, carrier: false });
    expect(parseMonitorLine('random noise')).toBeNull();
  });
});
