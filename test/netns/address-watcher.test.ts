import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missingRoot, requirement } from '../helpers/requirements.js';
import { AddressWatcher, type BoundEvent } from '../../src/link/address-watcher.js';
import { readInterfaces } from '../../src/link/interfaces.js';
import { uniqueTag } from '../../src/netns/namespaces.js';
import { run } from '../../src/netns/shell.js';

const enabled = requirement('address watcher tests', missingRoot());

/** The watcher watches the namespace it runs in: here the test's own, with a veth of its own. */
describe.runIf(enabled)('AddressWatcher', () => {
  const tag = uniqueTag();
  const a = `ngwa${tag}`;
  const b = `ngwb${tag}`;
  // A dump that can be held back after it was taken: the race of a full re-read with a delete.
  let gate: Promise<void> | null = null;
  const watcher = new AddressWatcher(async () => {
    const taken = await readInterfaces();
    if (gate !== null) await gate;
    return taken;
  });
  const events: Array<[string, BoundEvent]> = [];

  beforeAll(async () => {
    await run(['ip', 'link', 'add', a, 'type', 'veth', 'peer', 'name', b]);
    await run(['ip', 'link', 'set', a, 'up']);
    await run(['ip', 'link', 'set', b, 'up']);
    await run(['ip', 'addr', 'add', '10.79.0.1/32', 'dev', a]);
    watcher.on('bound', (e) => e.ifname === a && events.push(['bound', e]));
    watcher.on('unbound', (e) => e.ifname === a && events.push(['unbound', e]));
    await watcher.start();
  });
  afterAll(async () => {
    watcher.stop();
    await run(['ip', 'link', 'del', a]).catch(() => undefined);
  });

  const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 300));

  it('starts from the kernel state without announcing it as news', () => {
    expect(watcher.isBound(a, '10.79.0.1')).toBe(true);
    expect(watcher.link(a)?.addresses.map((x) => x.address)).toContain('10.79.0.1');
    expect(events).toEqual([]);
  });

  it('follows additions and deletions', async () => {
    await run(['ip', 'addr', 'add', '10.79.0.2/32', 'dev', a]);
    await settle();
    expect(watcher.isBound(a, '10.79.0.2')).toBe(true);
    await run(['ip', 'addr', 'del', '10.79.0.2/32', 'dev', a]);
    await settle();
    expect(watcher.isBound(a, '10.79.0.2')).toBe(false);
    expect(events.map(([k, e]) => `${k} ${e.address}`)).toEqual(['bound 10.79.0.2', 'unbound 10.79.0.2']);
  });

  it('reports an IPv6 address only once duplicate address detection has finished', async () => {
    events.length = 0;
    await run(['ip', 'addr', 'add', '2001:db8:79::2/64', 'dev', a]);
    await new Promise((r) => setTimeout(r, 100));
    expect(watcher.isBound(a, '2001:db8:79::2')).toBe(false); // tentative
    for (let i = 0; i < 50 && !watcher.isBound(a, '2001:db8:79::2'); i++) await new Promise((r) => setTimeout(r, 100));
    expect(watcher.isBound(a, '2001:db8:79::2')).toBe(true);
    // (The link-local address finishing its own DAD may be reported too; it is not the subject.)
    expect(events.filter(([, e]) => !e.address.startsWith('fe80:')).map(([k, e]) => `${k} ${e.address}`)).toEqual(['bound 2001:db8:79::2']);
  });

  it('keeps a delete (and an add) that happen after a full re-read took its dump', async () => {
    await run(['ip', 'addr', 'add', '10.79.0.4/32', 'dev', a]);
    await settle();
    let release!: () => void;
    gate = new Promise((resolve) => (release = resolve));
    const resync = watcher.resync('test');
    await settle(); // the dump (with .4, without .5) is taken and held
    await run(['ip', 'addr', 'del', '10.79.0.4/32', 'dev', a]);
    await run(['ip', 'addr', 'add', '10.79.0.5/32', 'dev', a]);
    await settle();
    expect(watcher.isBound(a, '10.79.0.4')).toBe(false);
    gate = null;
    release();
    await resync;
    expect(watcher.isBound(a, '10.79.0.4')).toBe(false);
    expect(watcher.isBound(a, '10.79.0.5')).toBe(true);
  });

  it('treats a link that goes down as unbinding its addresses', async () => {
    await run(['ip', 'link', 'set', a, 'down']);
    await settle();
    expect(watcher.isBound(a, '10.79.0.1')).toBe(false);
    await run(['ip', 'link', 'set', a, 'up']);
    await settle();
    expect(watcher.isBound(a, '10.79.0.1')).toBe(true);
  });
});
