import { describe, expect, it } from 'vitest';
import { PUBLIC, World } from '../helpers/core-world.js';
import { SWEEP_CHUNK } from '../../src/core/reconciler.js';
import type { Inventory } from '../../src/targets/target.js';

/** The orders of events that left addresses dark before the core became a reconciler, one by one. */

const RS = '192.0.2.2';

function floatingIps(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `203.0.${113 + (i >> 8)}.${i & 255}`);
}

describe('reconciler: rising edge whatever the order', () => {
  it('cold start, no snapshot: the hook arrives before the first database read ends, and every bound target is announced when it does', async () => {
    const w = new World();
    const fips = floatingIps(10);
    for (const a of fips) w.db.floating.set(a, { address: a, interface: null, associated: true });
    w.db.latencyMs = 300;
    w.kernel.bind(PUBLIC, RS);
    for (const a of fips) w.kernel.bind(PUBLIC, a);
    w.watcher.resync();
    w.core.configOnly('no snapshot');
    void w.core.readDatabase('start');
    w.hook();
    await w.clock.runUntil(50);
    expect(w.framesFor(RS)).toBeGreaterThan(0); // nova.conf alone knows it
    for (const a of fips) expect(w.framesFor(a)).toBe(0); // not known yet
    await w.clock.runUntil(310);
    for (const a of fips) expect(w.framesFor(a, 300, 310)).toBe(2);
    expect(w.sink.violations).toEqual([]);
  });

  it('database down at the hook and back 3 s later: announced within the backoff, with no second hook', async () => {
    const w = new World();
    const fips = floatingIps(5);
    for (const a of fips) w.db.floating.set(a, { address: a, interface: null, associated: true });
    w.db.up = false;
    for (const a of fips) w.kernel.bind(PUBLIC, a);
    w.watcher.resync();
    w.core.configOnly('no snapshot');
    void w.core.readDatabase('start');
    w.hook();
    w.clock.after(3000, () => (w.db.up = true));
    await w.clock.runUntil(10_000);
    const first = Math.min(...fips.map((a) => w.sink.byAddress.get(a)?.[0] ?? Infinity));
    expect(first).toBeGreaterThan(3000);
    expect(first).toBeLessThan(3000 + 2000 * 1.2 + 10); // capped backoff
    expect(w.core.refresh.state.failures).toBe(0);
  });

  it('a floating IP associated and bound while the broker is down is announced when the broker comes back', async () => {
    const w = new World();
    w.core.configOnly('x');
    w.core.bus.connection(true, 'up', 'q');
    await w.clock.runUntil(10);
    w.core.bus.connection(false, 'connection closed', null);
    const a = '203.0.113.77';
    w.db.floating.set(a, { address: a, interface: null, associated: true });
    w.kernel.bind(PUBLIC, a);
    w.deliverLater(1);
    // The stranger lookup would find it too; make the broker the only way in for this check.
    w.db.up = false;
    await w.clock.runUntil(2000);
    expect(w.framesFor(a)).toBe(0);
    w.db.up = true;
    const before = w.db.reads;
    w.core.bus.connection(true, 'up again', 'q');
    await w.clock.runUntil(2100);
    expect(w.db.reads).toBeGreaterThan(before);
    expect(w.framesFor(a, 2000)).toBeGreaterThan(0);
  });

  it('an address nova binds that is not in the inventory triggers one debounced database read', async () => {
    const w = new World();
    w.core.configOnly('x');
    const fips = floatingIps(300);
    await w.clock.runUntil(1);
    const before = w.db.reads;
    for (const a of fips) {
      w.db.floating.set(a, { address: a, interface: null, associated: true });
      w.kernel.bind(PUBLIC, a);
    }
    w.deliverLater(1);
    await w.clock.runUntil(500);
    expect(w.db.reads - before).toBe(1);
    for (const a of fips) expect(w.framesFor(a)).toBe(2);
  });

  it('an association naming another interface than public_interface is announced on public_interface, where nova binds it', async () => {
    const w = new World({ links: [[PUBLIC, '02:00:00:00:00:01'], ['eth1', '02:00:00:00:00:02'], ['br100', '02:00:00:00:01:00']] });
    w.core.configOnly('x');
    const a = '203.0.113.9';
    w.amqp({ 'oslo.version': '2.0', 'oslo.message': JSON.stringify({ method: '_associate_floating_ip', args: { floating_address: a, fixed_address: '10.0.0.3', interface: 'eth1' } }) });
    expect(w.core.core.desired.get(a)?.target.interface).toBe(PUBLIC);
    w.kernel.bind(PUBLIC, a);
    w.deliverLater(1);
    await w.clock.runUntil(20);
    expect(w.sink.frames.filter((f) => f.address === a).map((f) => f.ifname)).toEqual([PUBLIC, PUBLIC]);
  });

  it('a bind before its association, and an association before its bind, both announce', async () => {
    const w = new World();
    w.core.configOnly('x');
    w.db.up = false; // no stranger lookup to help
    const [early, late] = ['203.0.113.1', '203.0.113.2'];
    w.kernel.bind(PUBLIC, early);
    w.deliverLater(0);
    await w.clock.runUntil(100);
    w.amqp({ method: 'associate_floating_ip', args: { floating_address: early, fixed_address: '10.0.0.2' } });
    w.amqp({ method: 'associate_floating_ip', args: { floating_address: late, fixed_address: '10.0.0.3' } });
    await w.clock.runUntil(200);
    w.kernel.bind(PUBLIC, late);
    w.deliverLater(2);
    await w.clock.runUntil(300);
    expect(w.framesFor(early, 100, 110)).toBe(2);
    expect(w.framesFor(late, 200, 210)).toBe(2);
    expect(w.core.status().lastBursts).toContainEqual(expect.objectContaining({ trigger: 'amqp-associate', announced: 1 }));
  });
});

describe('reconciler: safety and storms', () => {
  it('addresses deleted between slices get no frame, also without a watcher wake-up', async () => {
    const w = new World();
    const fips = floatingIps(2000);
    for (const a of fips) w.kernel.bind(PUBLIC, a);
    w.watcher.resync();
    w.core.setInventory({ host: 'nethost1', source: 'db', schema: 'newton', readAt: new Date().toISOString(), targets: fips.map((address) => ({ kind: 'floating' as const, address, interface: PUBLIC })), skipped: [] }, 'test', 0);
    // The inventory's rising edges started round 1; delete half on the first slice boundary,
    // with no delivery: only the drain before each slice can see it.
    let deleted = false;
    w.clock.after(0, () => {
      for (const a of fips.slice(1000)) w.kernel.unbind(PUBLIC, a);
      deleted = true;
    });
    await w.clock.runUntil(5000);
    expect(deleted).toBe(true);
    expect(w.sink.violations).toEqual([]);
    for (const a of fips.slice(0, 256)) expect(w.framesFor(a)).toBeGreaterThan(0);
    const late = fips.slice(1000).filter((a) => w.framesFor(a) > 0).length;
    expect(late).toBeLessThan(256); // at most the slice already on its way
    expect(w.watcher.drains).toBeGreaterThan(5);
  });

  it('a storm of binds arriving in 50 bursts merges into few batches, and each address gets round 1 at once', async () => {
    const w = new World();
    const fips = floatingIps(5000);
    w.core.setInventory({ host: 'nethost1', source: 'db', schema: 'newton', readAt: new Date().toISOString(), targets: fips.map((address) => ({ kind: 'floating' as const, address, interface: PUBLIC })), skipped: [] }, 'test', 0);
    const boundAt = new Map<string, number>();
    for (let b = 0; b < 50; b++) {
      w.clock.after(b * 2, () => {
        for (const a of fips.slice(b * 100, b * 100 + 100)) {
          w.kernel.bind(PUBLIC, a);
          boundAt.set(a, w.clock.now());
        }
        w.deliverLater(0);
      });
    }
    await w.clock.runUntil(4000);
    for (const a of fips) expect((w.sink.byAddress.get(a)?.[0] ?? Infinity) - boundAt.get(a)!).toBeLessThanOrEqual(1);
    const bursts = w.core.status().lastBursts as Array<{ trigger: string }>;
    expect(bursts.length).toBeLessThanOrEqual(10);
    // Round 2 and 3 of the storm: repeats grouped, not 50 × 2 more bursts.
    expect(w.sink.frames.length).toBe(5000 * 2 * 3);
  });

  it('a disassociated floating IP gets no further repeats', async () => {
    const w = new World();
    w.core.configOnly('x');
    const a = '203.0.113.5';
    w.amqp({ method: '_associate_floating_ip', args: { floating_address: a, interface: PUBLIC } });
    w.kernel.bind(PUBLIC, a);
    w.deliverLater(0);
    await w.clock.runUntil(500);
    expect(w.framesFor(a)).toBe(2);
    w.amqp({ method: '_disassociate_floating_ip', args: { address: a } });
    await w.clock.runUntil(5000);
    expect(w.framesFor(a)).toBe(2);
  });

  it('forced triggers are folded into a schedule whose round 1 just left; rising edges are not', async () => {
    const w = new World({ coalesceMs: 1000 });
    w.kernel.bind(PUBLIC, RS);
    w.watcher.resync();
    w.core.configOnly('x');
    await w.clock.runUntil(10);
    expect(w.framesFor(RS)).toBe(2);
    w.hook();
    await w.clock.runUntil(20);
    expect(w.framesFor(RS)).toBe(2);
    w.kernel.unbind(PUBLIC, RS);
    w.kernel.bind(PUBLIC, RS);
    w.deliverLater(0);
    await w.clock.runUntil(30);
    expect(w.framesFor(RS)).toBe(4);
  });

  it('the routing source IP is announced where it is bound, and follows it', async () => {
    const w = new World();
    w.kernel.bind('br100', RS);
    w.watcher.resync();
    w.core.configOnly('x');
    await w.clock.runUntil(10);
    expect(w.sink.frames.map((f) => f.ifname)).toEqual(['br100', 'br100']);
    w.kernel.bind(PUBLIC, RS);
    w.deliverLater(0);
    await w.clock.runUntil(20);
    expect(w.sink.frames.slice(2).map((f) => f.ifname)).toEqual([PUBLIC, PUBLIC]);
  });
  it("a hook's round 1 starts with its first slice: the targets are swept a chunk at a time, breadth-first, and one removed mid-sweep gets nothing", async () => {
    const w = new World();
    const fips = floatingIps(3000);
    const inventory = (addresses: string[]): Inventory => ({ host: w.settings.host, source: 'static', schema: 'test', readAt: '', targets: addresses.map((address) => ({ kind: 'floating', address, interface: PUBLIC })), skipped: [] });
    for (const a of fips) w.kernel.bind(PUBLIC, a);
    w.watcher.resync();
    w.core.setInventory(inventory(fips), 'test', w.clock.now(), false);
    await w.clock.runUntil(1);
    const result = w.core.core.force({ addresses: null, kinds: null }, 'hook', w.clock.now());
    // No pass over every target before the first slice: one chunk is judged and started.
    expect(result.accepted.length).toBe(SWEEP_CHUNK);
    // The second half leaves the desired state before the sweep reaches it.
    w.core.setInventory(inventory(fips.slice(0, 1500)), 'test', w.clock.now(), false);
    await w.clock.runUntil(50);
    const reports = await result.done;
    expect(result.accepted.length).toBe(1500);
    expect(reports.reduce((n, r) => n + r.frames, 0)).toBe(3000);
    for (const a of fips.slice(0, 1500)) expect(w.framesFor(a)).toBe(2);
    for (const a of fips.slice(1500)) expect(w.framesFor(a)).toBe(0);
    // Breadth-first over the whole sweep: every request before any reply.
    const kinds = w.sink.frames.map((f) => f.kind);
    expect(kinds.lastIndexOf('garp-request')).toBeLessThan(kinds.indexOf('garp-reply'));
    expect(w.sink.violations).toEqual([]);
  });
});
