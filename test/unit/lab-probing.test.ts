import { describe, expect, it } from 'vitest';
import { echoReplyId, echoRequest } from '../../tools/lab/icmp-echo.js';
import { internetChecksum } from '../../src/frames/internet-checksum.js';
import { probeIntervalMs } from '../../tools/lab/prober.js';
import { MODES, parseModes } from '../../tools/lab/modes.js';
import { novaArping, seedArpingCommands } from '../../tools/lab/actions.js';
import { makeLayout } from '../../tools/lab/addressing.js';
import { neededThresh3 } from '../../tools/lab/neighbour-limit.js';

describe('ICMP echo', () => {
  it('builds an IPv4 echo request with a valid checksum', () => {
    const m = echoRequest(4, 0x1234, 7);
    expect([m[0], m[1], m[4], m[5], m[6], m[7]]).toEqual([8, 0, 0x12, 0x34, 0, 7]);
    expect(internetChecksum(m)).toBe(0);
  });

  it('leaves the ICMPv6 checksum to the kernel', () => {
    const m = echoRequest(6, 1, 1);
    expect([m[0], m[2], m[3]]).toEqual([128, 0, 0]);
  });

  it('reads the identifier of replies behind the IPv4 header, and nothing else', () => {
    const ip = new Uint8Array(20 + 24);
    ip[0] = 0x45;
    ip[9] = 1;
    const reply = echoRequest(4, 0xbeef, 1);
    reply[0] = 0;
    ip.set(reply, 20);
    expect(echoReplyId(4, ip, ip.length)).toBe(0xbeef);
    ip[20] = 8;
    expect(echoReplyId(4, ip, ip.length)).toBe(-1);
    expect(echoReplyId(4, ip, 10)).toBe(-1);
    const v6 = echoRequest(6, 0xbeef, 1);
    v6[0] = 129;
    expect(echoReplyId(6, v6, v6.length)).toBe(0xbeef);
  });
});

describe('probe interval', () => {
  it('stays at 20 ms up to 500 destinations, then keeps the total rate at 25,000/s', () => {
    expect(probeIntervalMs(8)).toBe(20);
    expect(probeIntervalMs(500)).toBe(20);
    expect(probeIntervalMs(1021)).toBe(41);
    expect(probeIntervalMs(5, 50)).toBe(50);
  });
});

describe('modes', () => {
  it('parses comma lists, keeps order, rejects unknown names', () => {
    expect(parseModes('nova-garp, none,none')).toEqual(['nova-garp', 'none']);
    expect(parseModes(MODES.join(','))).toEqual([...MODES]);
    expect(() => parseModes('none,garp')).toThrow(/unknown mode 'garp'/);
    expect(() => parseModes(',')).toThrow(/no mode/);
  });

  it('runs the original manual arping against the upstream router, or the instance on a VLAN', () => {
    expect(seedArpingCommands(makeLayout(1, 1, false))).toEqual([
      ['arping', '-b', '-c', '1', '-s', '172.20.0.2', '-I', 'pub0', '172.20.0.1'],
      ['arping', '-b', '-c', '1', '-s', '10.1.0.1', '-I', 'br100', '10.1.0.2'],
      ['arping', '-b', '-c', '1', '-s', '172.20.1.1', '-I', 'pub0', '172.20.0.1'],
    ]);
    expect(novaArping('172.20.1.1', 'pub0')).toEqual(['arping', '-U', '172.20.1.1', '-A', '-I', 'pub0', '-c', '3']);
  });
});

describe('shared ARP table cap', () => {
  it('leaves room for the router and every other namespace, never lowers it', () => {
    expect(neededThresh3(1024, 50, 2)).toBe(1024 + 72);
    expect(neededThresh3(1024, 1000, 20)).toBe(1024 + 144);
    expect(neededThresh3(1024, 5000, 0)).toBe(5008 + 64);
    expect(neededThresh3(100_000, 1000, 20)).toBe(100_000);
  });
});
