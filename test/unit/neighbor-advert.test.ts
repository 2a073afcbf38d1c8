import { describe, expect, it } from 'vitest';
import { buildNeighborAdvert, parseNeighborAdvert, NA_FRAME_LENGTH } from '../../src/frames/neighbor-advert.js';
import { parseMac } from '../../src/frames/mac.js';
import { parseIp } from '../../src/net/ip-address.js';

/**
 * Independent ICMPv6 checksum: 32-bit word sums with BigInt over a freshly laid pseudo-header,
 * sharing no code with the implementation under test.
 */
function referenceChecksum(frame: Uint8Array): number {
  const ip = Buffer.from(frame.subarray(14, 54));
  const len = ip.readUInt16BE(4);
  const icmp = Buffer.from(frame.subarray(54, 54 + len));
  icmp.writeUInt16BE(0, 2);
  const pseudo = Buffer.concat([ip.subarray(8, 40), Buffer.from([0, 0, len >> 8, len & 0xff, 0, 0, 0, 58]), icmp]);
  const padded = pseudo.length % 4 === 0 ? pseudo : Buffer.concat([pseudo, Buffer.alloc(4 - (pseudo.length % 4))]);
  let sum = 0n;
  for (let i = 0; i < padded.length; i += 4) sum += BigInt(padded.readUInt32BE(i));
  while (sum > 0xffffn) sum = (sum & 0xffffn) + (sum >> 16n);
  return Number(~sum & 0xffffn);
}

const mac = parseMac('02:11:22:33:44:55');

describe('IPv6 unsolicited Neighbour Advertisement', () => {
  const target = parseIp('2001:db8:0:1::1')!.bytes;
  const frame = buildNeighborAdvert(mac, target, false);

  it('is addressed to all-nodes, hop limit 255, Override set, Solicited clear, with TLLA', () => {
    expect(frame.length).toBe(NA_FRAME_LENGTH);
    const p = parseNeighborAdvert(frame)!;
    expect(p).toMatchObject({
      ethDst: '33:33:00:00:00:01',
      ethSrc: '02:11:22:33:44:55',
      src: '2001:db8:0:1::1',
      dst: 'ff02::1',
      hopLimit: 255,
      override: true,
      solicited: false,
      router: false,
      target: '2001:db8:0:1::1',
      targetLinkLayer: '02:11:22:33:44:55',
      checksumValid: true,
    });
  });

  it('carries the checksum an independent computation gives', () => {
    for (const addr of ['2001:db8:0:1::1', 'fe80::1', '2001:db8:ffff:ffff:ffff:ffff:ffff:fffe', '::ffff:10.0.0.1']) {
      for (const router of [false, true]) {
        const f = buildNeighborAdvert(mac, parseIp(addr)!.bytes, router);
        expect((f[56]! << 8) | f[57]!).toBe(referenceChecksum(f));
      }
    }
  });

  it('sets the Router flag on request', () => {
    expect(parseNeighborAdvert(buildNeighborAdvert(mac, target, true))!.router).toBe(true);
  });

  it('detects a corrupted checksum', () => {
    const f = Uint8Array.from(frame);
    f[70] = (f[70]! ^ 0xff) & 0xff;
    expect(parseNeighborAdvert(f)!.checksumValid).toBe(false);
  });
});
