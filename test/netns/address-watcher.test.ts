import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { missingRoot, requirement } from '../helpers/requirements.js';
import { enterNetns } from '../../tools/netns/setns.js';
import { AddressWatcher, type BoundEvent } from '../../src/link/address-watcher.js';
import { NetlinkListener } from '../../src/link/netlink-socket.js';
import { readLinksSync } from '../../src/link/read-links.js';
import { NamespaceGroup, uniqueTag } from '../../tools/netns/namespaces.js';
import { run } from '../../src/shell.js';
import { waitFor } from '../helpers/wait-for.js';

const enabled = requirement('address watcher tests', missingRoot());

describe.runIf(enabled)('AddressWatcher (rtnetlink, in a namespace of its own)', () => {
  const tag = uniqueTag();
  const group = new NamespaceGroup(`ngw${tag}`);
  let ns = '';
  const a = 'wa0';
  const b = 'wb0';
  let leave: (() => void) | null = null;
  // A dump that can be held back after it was taken: the race of a full re-read with a delete.
  let gate: Promise<void> | null = null;
  const watcher = new AddressWatcher(async () => {
    const taken = readLinksSync();
    if (gate !== null) await gate;
    return taken;
  });
  const events: Array<[string, BoundEvent]> = [];
  const atStart: Array<[string, BoundEvent]> = [];
  const seen = (): string[] => events.filter(([, e]) => !e.address.startsWith('fe80:')).map(([k, e]) => `${k} ${e.address}`);
  const ip = (...args: string[]): Promise<string> => run(['ip', '-n', ns, ...args]);

  beforeAll(async () => {
    ns = await group.add('w');
    await ip('link', 'add', a, 'type', 'veth', 'peer', 'name', b);
    await ip('link', 'set', a, 'up');
    await ip('link', 'set', b, 'up');
    await ip('addr', 'add', '10.79.0.1/32', 'dev', a);
    leave = enterNetns(ns);
    watcher.on('bound', (e) => e.ifname === a && events.push(['bound', e]));
    watcher.on('unbound', (e) => e.ifname === a && events.push(['unbound', e]));
    watcher.on('error', (e) => events.push(['error', { ifname: '', address: e.message }]));
    await watcher.start();
    atStart.push(...events);
  });
  // Every test sees only its own events: what earlier tests left queued is drained and dropped.
  beforeEach(() => {
    watcher.drain();
    events.length = 0;
  });
  afterAll(async () => {
    watcher.stop();
    leave?.();
    await group.cleanup();
  });

  it('starts from the kernel state without announcing it as news', () => {
    expect(watcher.isBound(a, '10.79.0.1')).toBe(true);
    expect(watcher.link(a)?.addresses.map((x) => x.address)).toContain('10.79.0.1');
    expect(watcher.interfacesHolding('10.79.0.1')).toEqual([a]);
    expect(atStart).toEqual([]);
  });

  it('follows additions and deletions (IPv4 and IPv6) while idle', async () => {
    await ip('addr', 'add', '10.79.0.2/32', 'dev', a);
    await waitFor(() => watcher.isBound(a, '10.79.0.2'), { what: '10.79.0.2 bound' });
    await ip('addr', 'add', '2001:db8:78::2/64', 'dev', a, 'nodad');
    await waitFor(() => watcher.isBound(a, '2001:db8:78::2'), { what: '2001:db8:78::2 bound' });
    await ip('addr', 'del', '10.79.0.2/32', 'dev', a);
    await waitFor(() => !watcher.isBound(a, '10.79.0.2'), { what: '10.79.0.2 unbound' });
    await ip('addr', 'del', '2001:db8:78::2/64', 'dev', a);
    await waitFor(() => !watcher.isBound(a, '2001:db8:78::2'), { what: '2001:db8:78::2 unbound' });
    expect(seen()).toEqual(['bound 10.79.0.2', 'bound 2001:db8:78::2', 'unbound 10.79.0.2', 'unbound 2001:db8:78::2']);
  });

  it('knows of a deletion right after drain(), with no await in between', async () => {
    await ip('addr', 'add', '10.79.0.9/32', 'dev', a);
    await waitFor(() => watcher.isBound(a, '10.79.0.9'), { what: '10.79.0.9 bound' });
    const before = watcher.link(a);
    expect(watcher.addressOn(a, '10.79.0.9')).toEqual({ family: 4, address: '10.79.0.9', prefixlen: 32, tentative: false });
    events.length = 0;
    // The kernel queues the notification before it acknowledges `ip`, so it is readable now.
    execFileSync('ip', ['-n', ns, 'addr', 'del', '10.79.0.9/32', 'dev', a]);
    expect(watcher.isBound(a, '10.79.0.9')).toBe(true); // not drained yet: nothing ran in between
    expect(watcher.drain()).toBeGreaterThanOrEqual(1);
    expect(watcher.isBound(a, '10.79.0.9')).toBe(false);
    expect(watcher.addressOn(a, '10.79.0.9')).toBeUndefined();
    expect(watcher.interfacesHolding('10.79.0.9')).toEqual([]);
    expect(seen()).toEqual(['unbound 10.79.0.9']); // emitted synchronously, inside drain()
    // Snapshots handed out earlier are never mutated.
    expect(before?.addresses.map((x) => x.address)).toContain('10.79.0.9');
    expect(watcher.link(a)?.addresses.map((x) => x.address)).not.toContain('10.79.0.9');
    expect(watcher.drain()).toBe(0);
  });

  it('reports an IPv6 address only once duplicate address detection has finished', async () => {
    events.length = 0;
    execFileSync('ip', ['-n', ns, 'addr', 'add', '2001:db8:79::2/64', 'dev', a]);
    watcher.drain();
    expect(watcher.addressOn(a, '2001:db8:79::2')?.tentative).toBe(true);
    expect(watcher.isBound(a, '2001:db8:79::2')).toBe(false);
    await waitFor(() => watcher.isBound(a, '2001:db8:79::2'), { what: 'DAD to finish' });
    // (The link-local address finishing its own DAD may be reported too; it is not the subject.)
    expect(seen()).toEqual(['bound 2001:db8:79::2']);
  });

  it('keeps a delete (and an add) that happen after a full re-read took its dump', async () => {
    await ip('addr', 'add', '10.79.0.4/32', 'dev', a);
    await waitFor(() => watcher.isBound(a, '10.79.0.4'), { what: '10.79.0.4 bound' });
    let release!: () => void;
    gate = new Promise((resolve) => (release = resolve));
    const resync = watcher.resync('test'); // the dump (with .4, without .5) is taken now and held
    await ip('addr', 'del', '10.79.0.4/32', 'dev', a);
    await ip('addr', 'add', '10.79.0.5/32', 'dev', a);
    await waitFor(() => !watcher.isBound(a, '10.79.0.4') && watcher.isBound(a, '10.79.0.5'), { what: 'the held dump to be overtaken' });
    gate = null;
    release();
    await resync;
    expect(watcher.isBound(a, '10.79.0.4')).toBe(false);
    expect(watcher.isBound(a, '10.79.0.5')).toBe(true);
  });

  it('treats a link that goes down as unbinding its addresses, and up as binding them', async () => {
    await ip('addr', 'add', '10.79.0.6/32', 'dev', a);
    await waitFor(() => watcher.isBound(a, '10.79.0.6'), { what: '10.79.0.6 bound' });
    events.length = 0;
    await ip('link', 'set', a, 'down');
    await waitFor(() => !watcher.isBound(a, '10.79.0.1'), { what: 'link down' });
    expect(watcher.link(a)?.up).toBe(false);
    expect(watcher.interfacesHolding('10.79.0.1')).toEqual([]);
    expect(seen()).toContain('unbound 10.79.0.1');
    expect(seen()).toContain('unbound 10.79.0.6');
    events.length = 0;
    await ip('link', 'set', a, 'up');
    await waitFor(() => watcher.isBound(a, '10.79.0.1'), { what: 'link up' });
    expect(seen()).toEqual(expect.arrayContaining(['bound 10.79.0.1', 'bound 10.79.0.6']));
    await ip('addr', 'del', '10.79.0.6/32', 'dev', a);
    await waitFor(() => !watcher.isBound(a, '10.79.0.6'), { what: '10.79.0.6 unbound' });
  });

  it('unbinds the addresses of a deleted link and follows a new one without a re-read', async () => {
    const resyncs = watcher.stats().resyncs;
    await ip('link', 'add', 'wc0', 'type', 'veth', 'peer', 'name', 'wd0');
    await ip('link', 'set', 'wc0', 'up');
    await ip('addr', 'add', '10.79.1.1/32', 'dev', 'wc0');
    await waitFor(() => watcher.isBound('wc0', '10.79.1.1'), { what: '10.79.1.1 bound on the new link' });
    expect(watcher.link('wc0')?.mac).toMatch(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
    const unbound: string[] = [];
    const onUnbound = (e: BoundEvent): number => unbound.push(`${e.ifname} ${e.address}`);
    watcher.on('unbound', onUnbound);
    await ip('link', 'del', 'wc0');
    await waitFor(() => watcher.link('wc0') === undefined, { what: 'wc0 gone' });
    watcher.off('unbound', onUnbound);
    expect(unbound).toEqual(['wc0 10.79.1.1']);
    expect(watcher.isBound('wc0', '10.79.1.1')).toBe(false);
    expect(watcher.stats().resyncs).toBe(resyncs);
  });

  it('ignores bridge-port notifications, whose RTM_DELLINK only means "left the bridge"', async () => {
    await ip('link', 'add', 'wbr0', 'type', 'bridge');
    await ip('link', 'set', 'wbr0', 'up');
    await ip('link', 'add', 'we0', 'type', 'veth', 'peer', 'name', 'wf0');
    await ip('link', 'set', 'we0', 'up');
    await ip('link', 'set', 'wf0', 'up');
    await ip('addr', 'add', '10.79.3.1/32', 'dev', 'we0');
    await waitFor(() => watcher.isBound('we0', '10.79.3.1'), { what: '10.79.3.1 bound' });
    const resyncs = watcher.stats().resyncs;
    const spy = NetlinkListener.open();
    try {
      execFileSync('ip', ['-n', ns, 'link', 'set', 'we0', 'master', 'wbr0']);
      execFileSync('ip', ['-n', ns, 'link', 'set', 'we0', 'nomaster']);
      watcher.drain();
      // The case is real: the kernel did send a "deleted" we0 (family AF_BRIDGE).
      expect(spy.recvAll().messages).toContainEqual(expect.objectContaining({ type: 'link', deleted: true, family: 7, ifname: 'we0' }));
    } finally {
      spy.close();
    }
    expect(watcher.link('we0')).toBeDefined();
    expect(watcher.isBound('we0', '10.79.3.1')).toBe(true);
    expect(watcher.stats().resyncs).toBe(resyncs);
  });

  it('sees every event of a 2,000-address ip -batch, added then deleted, without overflow', async () => {
    const n = 2000;
    const addrs = Array.from({ length: n }, (_, i) => `10.80.${i >> 8}.${i & 255}`);
    const bound = new Set<string>();
    const unbound = new Set<string>();
    const onBound = (e: BoundEvent): void => void (e.ifname === a && bound.add(e.address));
    const onUnbound = (e: BoundEvent): void => void (e.ifname === a && unbound.add(e.address));
    watcher.on('bound', onBound);
    watcher.on('unbound', onUnbound);
    const before = watcher.stats();
    await group.batch(
      ns,
      addrs.map((x) => `addr add ${x}/32 dev ${a}`),
    );
    await waitFor(() => bound.size === n, { what: '2,000 bound events' });
    expect(addrs.every((x) => watcher.isBound(a, x))).toBe(true);
    await group.batch(
      ns,
      addrs.map((x) => `addr del ${x}/32 dev ${a}`),
    );
    await waitFor(() => unbound.size === n, { what: '2,000 unbound events' });
    expect(addrs.some((x) => watcher.isBound(a, x))).toBe(false);
    watcher.off('bound', onBound);
    watcher.off('unbound', onUnbound);
    const after = watcher.stats();
    expect(after.overflows).toBe(before.overflows);
    expect(after.resyncs).toBe(before.resyncs);
    expect(after.events - before.events).toBeGreaterThanOrEqual(2 * n);
  });

  it('recovers from a kernel drop (ENOBUFS) inside drain(), with a re-read that reports every difference', async () => {
    // A tiny receive buffer and a blocked event loop: the kernel must drop notifications.
    const small = new AddressWatcher(undefined, { receiveBuffer: 16 * 1024 });
    const got = { bound: new Set<string>(), unbound: new Set<string>() };
    // Only the batch's addresses: the link's own IPv6 link-local may finish DAD meanwhile.
    const mine = (x: string): boolean => x.startsWith('10.84.');
    small.on('bound', (e) => e.ifname === a && mine(e.address) && got.bound.add(e.address));
    small.on('unbound', (e) => e.ifname === a && mine(e.address) && got.unbound.add(e.address));
    await small.start();
    try {
      const addrs = Array.from({ length: 1000 }, (_, i) => `10.84.${i >> 8}.${i & 255}`);
      const batch = (op: string): void => void execFileSync('ip', ['-n', ns, '-batch', '-'], { input: addrs.map((x) => `addr ${op} ${x}/32 dev ${a}`).join('\n') + '\n' });
      batch('add');
      small.drain();
      expect(small.stats().overflows).toBeGreaterThan(0);
      // No await: the caller of drain() is about to send, so the re-read cannot wait.
      expect(addrs.every((x) => small.isBound(a, x))).toBe(true);
      expect(got.bound.size).toBe(1000);
      const overflows = small.stats().overflows;
      batch('del');
      small.drain();
      expect(small.stats().overflows).toBeGreaterThan(overflows);
      expect(addrs.some((x) => small.isBound(a, x))).toBe(false);
      expect(got.unbound.size).toBe(1000);
      expect(small.stats().resyncs).toBeGreaterThanOrEqual(3);
    } finally {
      small.stop();
    }
  });

  it('shares one read between concurrent resyncs and reports no news when nothing changed', async () => {
    watcher.drain(); // the previous test's storm, if the poll has not delivered it yet
    events.length = 0;
    const before = watcher.stats().resyncs;
    const one = watcher.resync('test 1');
    const two = watcher.resync('test 2');
    expect(two).toBe(one);
    await one;
    expect(watcher.stats().resyncs).toBe(before + 1);
    expect(watcher.stats().lastResyncMs).not.toBeNull();
    expect(events).toEqual([]);
  });
});
