import { describe, expect, it } from 'vitest';
import { canonicalIp, parseIp } from '../../src/net/ip-address.js';

describe('IP address parsing', () => {
  it('canonicalises IPv6 per RFC 5952', () => {
    expect(canonicalIp('2001:DB8:0:0:0:0:0:1')).toBe('2001:db8::1');
    expect(canonicalIp('2001:db8:0:0:1:0:0:1')).toBe('2001:db8::1:0:0:1');
    expect(canonicalIp('0:0:0:0:0:0:0:0')).toBe('::');
    expect(canonicalIp('::1')).toBe('::1');
    expect(canonicalIp('fe80::')).toBe('fe80::');
    expect(canonicalIp('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2:3:4:5:6');
    expect(canonicalIp('2001:db8:0:1:1:1:1:1')).toBe('2001:db8:0:1:1:1:1:1');
    expect(canonicalIp('::ffff:192.0.2.1')).toBe('::ffff:c000:201');
  });

  it('keeps IPv4 dotted quads and their bytes', () => {
    expect(parseIp(' 10.1.2.3 ')).toMatchObject({ family: 4, text: '10.1.2.3' });
    expect([...parseIp('192.168.0.255')!.bytes]).toEqual([192, 168, 0, 255]);
  });

  it('refuses what is not an address', () => {
    for (const bad of ['', '10.0.0', '10.0.0.01', '1.2.3.4.5', '.1.2.3', '1..2.3', '1.2.3.', '10.0.0.256', 'eth0', '2001:db8::1::2', 'fe80::1%eth0', '10.0.0.1/24']) {
      expect(parseIp(bad)).toBeNull();
    }
  });
});
