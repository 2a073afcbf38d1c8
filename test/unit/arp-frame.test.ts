import { describe, expect, it } from 'vitest';
import { buildDirectedRequest, buildGarpReply, buildGarpRequest, classifyArp, parseArpFrame } from '../../src/frames/arp-frame.js';
import { parseMac } from '../../src/frames/mac.js';
import { parseIp } from '../../src/net/ip-address.js';

// Captured with `tcpdump -xx` from iputils arping 20221126 on a veth with MAC ba:fc:16:bc:5f:73
// holding 10.9.0.5 (`arping -U -c 1 -I sm-a 10.9.0.5`, `arping -A -c 1 -I sm-a 10.9.0.5`,
// `arping -b -c 1 -s 10.9.0.5 -I sm-a 10.9.0.254`). test/netns/frames-vs-arping.test.ts repeats
// the comparison live.
const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const ARPING_U = hex('ffffffffffff bafc16bc5f73 0806 0001 0800 0604 0001 bafc16bc5f73 0a090005 ffffffffffff 0a090005');
const ARPING_A = hex('ffffffffffff bafc16bc5f73 0806 0001 0800 0604 0002 bafc16bc5f73 0a090005 bafc16bc5f73 0a090005');
const ARPING_B_S = hex('ffffffffffff bafc16bc5f73 0806 0001 0800 0604 0001 bafc16bc5f73 0a090005 ffffffffffff 0a0900fe');

const mac = parseMac('ba:fc:16:bc:5f:73');
const ip = parseIp('10.9.0.5')!.bytes;
const router = parseIp('10.9.0.254')!.bytes;
const THA = [32, 38] as const;

function withoutTha(b: Uint8Array): number[] {
  return [...b.subarray(0, THA[0]), ...b.subarray(THA[1])];
}

describe('ARP frames', () => {
  it('builds the GARP reply byte for byte as arping -A does', () => {
    expect(buildGarpReply(mac, ip)).toEqual(ARPING_A);
  });

  it('builds the GARP request as arping -U does, except the target MAC, which RFC 5227 wants zero', () => {
    const ours = buildGarpRequest(mac, ip);
    expect(ours.length).toBe(42);
    expect(withoutTha(ours)).toEqual(withoutTha(ARPING_U));
    expect([...ours.subarray(...THA)]).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('builds the directed request like arping -b -s <addr> <router>, target MAC zero', () => {
    const ours = buildDirectedRequest(mac, ip, router);
    expect(withoutTha(ours)).toEqual(withoutTha(ARPING_B_S));
    expect([...ours.subarray(...THA)]).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('parses and classifies each form, its own and arping-made', () => {
    expect(classifyArp(parseArpFrame(buildGarpRequest(mac, ip))!)).toBe('garp-request');
    expect(classifyArp(parseArpFrame(ARPING_U)!)).toBe('garp-request');
    expect(classifyArp(parseArpFrame(buildGarpReply(mac, ip))!)).toBe('garp-reply');
    expect(classifyArp(parseArpFrame(buildDirectedRequest(mac, ip, router))!)).toBe('directed-request');
    const p = parseArpFrame(ARPING_A)!;
    expect(p).toMatchObject({ op: 2, senderIp: '10.9.0.5', targetIp: '10.9.0.5', senderMac: 'ba:fc:16:bc:5f:73', ethDst: 'ff:ff:ff:ff:ff:ff' });
  });

  it('does not count a reply whose target MAC differs from its sender MAC as gratuitous', () => {
    const f = buildGarpReply(mac, ip);
    f.set([0, 0, 0, 0, 0, 0], 32);
    expect(classifyArp(parseArpFrame(f)!)).toBe('other');
  });

  it('rejects frames that are not Ethernet/IPv4 ARP', () => {
    const f = buildGarpReply(mac, ip);
    expect(parseArpFrame(f.subarray(0, 30))).toBeNull();
    f[13] = 0x00; // ethertype 0x0800
    expect(parseArpFrame(f)).toBeNull();
  });
});
