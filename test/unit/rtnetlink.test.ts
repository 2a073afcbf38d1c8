import { describe, expect, it } from 'vitest';
import { canonicalIp, formatIPv6, parseIp } from '../../src/net/ip-address.js';
import { linksFromDump } from '../../src/link/read-links.js';
import { dumpRequest, NLM_F_DUMP_INTR, NLM_F_MULTI, parseNetlink, RTM_GETADDR, type RtMessage } from '../../src/link/rtnetlink.js';
import { attr, u32, cstr, ip, mac, message, ifaddrmsg, ifinfomsg, concat } from '../helpers/netlink-bytes.js';


const v4 = (type: number, addr: string, index: number, extra: Uint8Array[] = []): Uint8Array =>
  message(type, ifaddrmsg(2, 32, 0x80, index), [attr(1, ip(addr)), attr(2, ip(addr)), attr(3, cstr('br100:1')), ...extra]);
const v6 = (type: number, addr: string, index: number, u8flags: number, extra: Uint8Array[] = []): Uint8Array =>
  message(type, ifaddrmsg(10, 64, u8flags, index), [attr(1, ip(addr)), ...extra]);
const link = (type: number, index: number, name: string, flags: number, hw?: Uint8Array, family = 0): Uint8Array =>
  message(type, ifinfomsg(index, flags, family), [...(hw === undefined ? [] : [attr(1, hw)]), attr(3, cstr(name)), attr(4, u32(1500))]);

const parse = (b: Uint8Array): RtMessage[] => parseNetlink(b).messages;

describe('rtnetlink parsing', () => {
  it('reads an IPv4 address from IFA_LOCAL, by ifindex, ignoring the label', () => {
    // IFA_ADDRESS is the peer on point-to-point links: IFA_LOCAL wins.
    const m = message(20, ifaddrmsg(2, 24, 0, 7), [attr(1, ip('192.0.2.254')), attr(2, ip('192.0.2.1')), attr(3, cstr('eth0:1'))]);
    expect(parse(m)).toEqual([{ type: 'address', deleted: false, ifindex: 7, family: 4, address: '192.0.2.1', prefixlen: 24, tentative: false }]);
  });

  it('falls back to IFA_ADDRESS and reports deletions', () => {
    const m = message(21, ifaddrmsg(2, 32, 0, 3), [attr(1, ip('10.0.0.9'))]);
    expect(parse(m)).toEqual([{ type: 'address', deleted: true, ifindex: 3, family: 4, address: '10.0.0.9', prefixlen: 32, tentative: false }]);
  });

  it('writes IPv6 addresses in the canonical form', () => {
    const m = v6(20, '2001:DB8:0:0:1:0:0:1', 9, 0);
    expect(parse(m)).toMatchObject([{ family: 6, address: '2001:db8::1:0:0:1', prefixlen: 64, tentative: false }]);
    for (const text of ['::', '::1', '1::', 'fe80::1', '2001:db8:0:1:1:1:1:1', '1:0:0:2:0:0:0:3', '1:0:0:2:0:0:3:4', '0:1:0:1:0:1:0:1', '1:2:3:4:5:6:7:0', '::ffff:192.0.2.1', '0:0:1::', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff']) {
      const [ev] = parse(v6(20, text, 1, 0));
      expect(ev).toMatchObject({ address: canonicalIp(text) });
    }
  });

  it('agrees with canonicalIp on random IPv6 addresses with zero runs', () => {
    let seed = 7;
    const rnd = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
    for (let i = 0; i < 2000; i++) {
      const words = Array.from({ length: 8 }, () => (rnd() % 2 === 0 ? 0 : rnd() & (rnd() % 2 === 0 ? 0xf : 0xffff)).toString(16));
      const text = words.join(':');
      const [ev] = parse(v6(20, text, 1, 0));
      expect((ev as { address: string }).address).toBe(canonicalIp(text));
      expect((ev as { address: string }).address).toBe(formatIPv6(parseIp(text)!.bytes));
    }
  });

  it('takes tentative from IFA_FLAGS, which overrides the 8-bit flags', () => {
    expect(parse(v6(20, '2001:db8::2', 4, 0x40))).toMatchObject([{ tentative: true }]);
    expect(parse(v6(20, '2001:db8::2', 4, 0x08))).toMatchObject([{ tentative: true }]); // dadfailed
    expect(parse(v6(20, '2001:db8::2', 4, 0x40, [attr(8, u32(0x200))]))).toMatchObject([{ tentative: false }]);
    expect(parse(v6(20, '2001:db8::2', 4, 0, [attr(8, u32(0x240))]))).toMatchObject([{ tentative: true }]);
  });

  it('reads links: name, flags, MAC', () => {
    const up = 0x1 | 0x2 | 0x1000 | 0x10000;
    expect(parse(link(16, 7, 'br100', up, mac('02:AA:BB:cc:dd:0e')))).toEqual([
      { type: 'link', deleted: false, family: 0, ifindex: 7, ifname: 'br100', up: true, carrier: true, mac: '02:aa:bb:cc:dd:0e' },
    ]);
    expect(parse(link(16, 8, 'eth1', 0x1))).toMatchObject([{ ifname: 'eth1', up: true, carrier: false, mac: null }]);
    expect(parse(link(17, 8, 'eth1', 0))).toMatchObject([{ deleted: true, up: false }]);
    // A tunnel's 4-byte "hardware address" is no MAC: it must not look like one.
    const [tun] = parse(link(16, 9, 'tun0', 0x1, Uint8Array.of(192, 0, 2, 1)));
    expect((tun as { mac: string }).mac).toBe('c0:00:02:01');
    expect(parse(link(16, 10, 'br100', 0x1, undefined, 7))).toMatchObject([{ family: 7 }]);
  });

  it('parses several messages in one buffer, in order, and the dump markers', () => {
    const done = message(3, u32(0), [], NLM_F_MULTI, 77);
    const err = message(2, concat(u32(-1 >>> 0), new Uint8Array(16)), [], 0, 78);
    const buf = concat(link(16, 2, 'eth0', 0x10001, mac('02:00:00:00:00:01')), v4(20, '10.0.0.1', 2), v6(20, '2001:db8::1', 2, 0), v4(21, '10.0.0.1', 2), done, err);
    const out = parse(buf);
    expect(out.map((m) => m.type)).toEqual(['link', 'address', 'address', 'address', 'done', 'error']);
    expect(out[3]).toMatchObject({ deleted: true, address: '10.0.0.1' });
    expect(out[4]).toEqual({ type: 'done', seq: 77, error: 0 });
    expect(out[5]).toEqual({ type: 'error', seq: 78, errno: 1 });
    expect(parseNetlink(buf).dumpInterrupted).toBe(false);
    expect(parseNetlink(message(3, u32(0), [], NLM_F_MULTI | NLM_F_DUMP_INTR, 77)).dumpInterrupted).toBe(true);
  });

  it('skips message types it does not use', () => {
    const route = message(24, new Uint8Array(12));
    expect(parse(concat(route, v4(20, '10.0.0.1', 2), message(1, new Uint8Array(0))))).toMatchObject([{ type: 'address' }]);
  });

  it('never throws on truncated or garbage input, and reports what it could not read', () => {
    const good = v4(20, '10.0.0.1', 2);
    for (let cut = 1; cut < good.length; cut++) {
      const out = parse(good.subarray(0, cut));
      expect(out.every((m) => m.type === 'malformed')).toBe(true);
      expect(out.length).toBe(1);
    }
    // A zero length could loop forever; a huge one points past the end.
    const zero = new Uint8Array(32);
    expect(parse(zero)).toMatchObject([{ type: 'malformed' }]);
    const huge = Uint8Array.from(good);
    new DataView(huge.buffer).setUint32(0, 1 << 30, true);
    expect(parse(concat(good, huge))).toMatchObject([{ type: 'address' }, { type: 'malformed' }]);
    // A bad attribute length inside a well-framed message spoils that message only.
    const badAttr = message(20, ifaddrmsg(2, 32, 0, 2), [Uint8Array.of(2, 0, 1, 0)]);
    expect(parse(concat(badAttr, good))).toMatchObject([{ type: 'malformed' }, { type: 'address', address: '10.0.0.1' }]);
    let seed = 1;
    for (let i = 0; i < 500; i++) {
      const junk = Uint8Array.from({ length: (i % 200) + 1 }, () => (seed = (seed * 48271) % 2147483647) & 0xff);
      expect(() => parse(concat(good, junk))).not.toThrow();
    }
    expect(parse(new Uint8Array(0))).toEqual([]);
  });

  // Its speed is bench/faults' business (a few ms here); this checks a 10,000-message buffer parses whole.
  it('reads 10,000 addresses from one buffer', () => {
    const parts: Uint8Array[] = [];
    for (let i = 0; i < 5000; i++) parts.push(v4(20, `10.${i >> 8}.${i & 255}.1`, 2), v6(20, `2001:db8::${i.toString(16)}`, 2, 0, [attr(8, u32(0x200))]));
    const buf = concat(...parts);
    const out = parseNetlink(buf).messages;
    expect(out).toHaveLength(10_000);
    expect(out.filter((m) => m.type === 'address' && m.family === 6)).toHaveLength(5000);
  });

  it('builds dump requests', () => {
    const req = dumpRequest(RTM_GETADDR, 5);
    const v = new DataView(req.buffer);
    expect([v.getUint32(0, true), v.getUint16(4, true), v.getUint16(6, true), v.getUint32(8, true)]).toEqual([24, 22, 0x301, 5]);
  });
});

describe('links from a dump', () => {
  it('matches addresses to links by ifindex, whatever their label', () => {
    const msgs = parse(
      concat(
        link(16, 1, 'lo', 0x10049, new Uint8Array(6)),
        link(16, 7, 'eth0', 0x11043, mac('02:00:00:00:00:07')),
        link(16, 7, 'eth0', 0x1, undefined, 7), // bridge-port view of the same link: ignored
        v4(20, '10.0.0.1', 7),
        v6(20, '2001:db8::1', 7, 0x40),
        v4(20, '10.0.0.2', 99), // link gone between the two dumps
      ),
    );
    const links = linksFromDump(msgs);
    expect([...links.keys()]).toEqual(['lo', 'eth0']);
    expect(links.get('eth0')).toEqual({
      name: 'eth0',
      ifindex: 7,
      mac: '02:00:00:00:00:07',
      up: true,
      carrier: true,
      addresses: [
        { family: 4, address: '10.0.0.1', prefixlen: 32, tentative: false },
        { family: 6, address: '2001:db8::1', prefixlen: 64, tentative: true },
      ],
    });
    expect(links.get('lo')?.mac).toBe('00:00:00:00:00:00');
    expect([...linksFromDump(msgs, 'eth0').keys()]).toEqual(['eth0']);
    expect(linksFromDump(msgs, 'nope').size).toBe(0);
  });
});
