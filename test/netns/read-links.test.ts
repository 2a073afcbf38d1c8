import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missingRoot, requirement } from '../helpers/requirements.js';
import { enterNetns } from '../../tools/netns/setns.js';
import { readInterfaces, type LinkInfo } from '../../src/link/interfaces.js';
import { readLinks, readLinksSync } from '../../src/link/read-links.js';
import { NamespaceGroup, uniqueTag } from '../../tools/netns/namespaces.js';

const enabled = requirement('netlink link dump tests', missingRoot());

/** Order-insensitive form: the two readers may list addresses of a link in different orders. */
function normal(links: Map<string, LinkInfo>): unknown[] {
  return [...links.values()]
    .map((l) => ({ ...l, addresses: [...l.addresses].sort((x, y) => (x.address < y.address ? -1 : x.address > y.address ? 1 : x.prefixlen - y.prefixlen)) }))
    .sort((x, y) => x.ifindex - y.ifindex);
}

describe.runIf(enabled)('readLinks (rtnetlink dump) against readInterfaces (ip -j)', () => {
  const group = new NamespaceGroup(`ngr${uniqueTag()}`);
  let ns = '';
  let leave: (() => void) | null = null;

  beforeAll(async () => {
    ns = await group.add('r');
    const lines = [
      'link add ra0 type veth peer name rb0',
      'link set ra0 up',
      'link set rb0 up',
      'link add rc0 type veth peer name rd0', // both ends down
      'link add rbr0 type bridge',
      'link set rbr0 up',
      'link add re0 type veth peer name rf0',
      'link set re0 master rbr0',
      'link set re0 up',
      'link add rm0 link ra0 type macvlan',
      'addr add 10.81.0.1/24 dev ra0',
      'addr add 10.81.0.2/32 dev ra0 label ra0:1', // an alias label, not an interface name
      'addr add 10.81.1.1/30 dev rbr0',
      'addr add 2001:db8:81::1/64 dev ra0 nodad',
      'addr add 2001:DB8:81:0:0:0:0:2/128 dev ra0 nodad',
      'addr add 2001:db8:82::1/64 dev rc0', // link down: DAD never starts, stays tentative
      'addr add 192.0.2.77/32 dev rc0',
      'addr add 10.81.2.1 peer 10.81.2.2 dev rm0', // point-to-point: the local address, not the peer
      // Enough addresses that the dump spans many datagrams.
      ...Array.from({ length: 1500 }, (_, i) => `addr add 10.82.${i >> 8}.${i & 255}/32 dev rb0`),
      ...Array.from({ length: 300 }, (_, i) => `addr add 2001:db8:83::${(i + 1).toString(16)}/128 dev rb0 nodad`),
    ];
    await group.batch(ns, lines);
    leave = enterNetns(ns);
  });
  afterAll(async () => {
    leave?.();
    await group.cleanup();
  });

  it('gives the same links, flags, MACs and addresses', async () => {
    const viaIp = await readInterfaces();
    const viaNetlink = await readLinks();
    expect(viaNetlink.size).toBeGreaterThanOrEqual(9);
    expect(normal(viaNetlink)).toEqual(normal(viaIp));
    expect(viaNetlink.get('rb0')?.addresses).toHaveLength(1800 + (viaIp.get('rb0')?.addresses.some((a) => a.address.startsWith('fe80:')) ? 1 : 0));
    expect(viaNetlink.get('rc0')).toMatchObject({ up: false, carrier: false });
    expect(viaNetlink.get('rc0')?.addresses.find((a) => a.address === '2001:db8:82::1')?.tentative).toBe(true);
    expect(viaNetlink.get('ra0')?.addresses.map((a) => a.address)).toEqual(expect.arrayContaining(['10.81.0.1', '10.81.0.2', '2001:db8:81::2']));
    expect(viaNetlink.get('rm0')?.addresses.map((a) => a.address)).toContain('10.81.2.1');
    expect(viaNetlink.has('ra0:1')).toBe(false);
  });

  it('reads one device, or nothing for a missing one, like readInterfaces', async () => {
    expect(normal(readLinksSync('ra0'))).toEqual(normal(await readInterfaces('ra0')));
    expect(readLinksSync('nosuch0').size).toBe(0);
    expect((await readInterfaces('nosuch0')).size).toBe(0);
  });
});
