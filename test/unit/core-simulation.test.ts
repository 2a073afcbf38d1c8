import { describe, expect, it } from 'vitest';
import { PUBLIC, World } from '../helpers/core-world.js';

/**
 * Thousands of random interleavings of binds, deletions, link flaps, inventory changes, hooks,
 * associations, disassociations, database and broker outages, against the sidecar's real logic
 * (reconciler, schedules, refresh, RabbitMQ translation) in a fake world. Two invariants:
 *
 * - Safety: no frame for an address the kernel does not hold, or that is no longer a target, at
 *   the moment its slice is sent (the sink judges every frame against the kernel's truth).
 * - Liveness: whenever an address becomes known and bound (whichever came last), a frame for it
 *   leaves within LIVENESS_MS, unless it stops being known and bound first; and once the faults
 *   heal, the sidecar knows every target the database has.
 */

const RUNS = Number(process.env.NOVA_GARP_SIM_RUNS ?? 400);
/** Watcher delivery lag (≤ 5 ms) plus slack: the schedule wakes on a microtask. */
const LIVENESS_MS = 20;

/** mulberry32: small, fast, seedable. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function scenario(seed: number): Promise<{ violations: string[]; misses: string[]; steps: number }> {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const w = new World({ coalesceMs: pick([0, 1000]), bindWaitMs: 2000 });
  const n = pick([3, 8, 20, 150, 400]);
  const dbgAddr = process.env.SIMDBG;
  if (dbgAddr !== undefined) w.kernel.trace = (l) => (l.includes(`${dbgAddr} `) || l.includes('link') || l.includes('deliver')) && console.log(w.clock.now(), l);
  const floating = Array.from({ length: n }, (_, i) => `203.0.${113 + (i >> 8)}.${i & 255}`);
  const gateway = '10.0.0.1';
  w.db.networks.push({ id: 1, bridge: 'br100', gateway });
  for (const a of floating) w.db.floating.set(a, { address: a, interface: pick([null, 'eth1', PUBLIC]), associated: r() < 0.5 });
  w.db.latencyMs = pick([1, 5, 40]);
  w.db.up = r() < 0.7;
  let brokerUp = r() < 0.7;

  // What nova-network does: bind what is associated (floating IPs always on public_interface).
  const bindAllAssociated = (): void => {
    w.kernel.bind(PUBLIC, w.settings.routingSourceIp);
    w.kernel.bind('br100', gateway);
    for (const row of w.db.floating.values()) if (row.associated) w.kernel.bind(PUBLIC, row.address);
  };
  if (r() < 0.5) bindAllAssociated(); // a restart: addresses already there
  w.watcher.resync();
  if (r() < 0.5) w.core.configOnly('no snapshot');
  void w.core.readDatabase('start');
  if (brokerUp) w.core.bus.connection(true, 'sim', 'q');

  // Liveness bookkeeping, sampled after every step of the world (state changes only at steps).
  const all = [w.settings.routingSourceIp, gateway, ...floating];
  const open = new Map<string, { from: number; checked: boolean }>();
  const misses: string[] = [];
  const placed = (a: string): boolean => {
    const d = w.core.core.desired.get(a);
    return d !== undefined && w.kernel.holds(w.core.core.place(d.target), a);
  };
  const judge = (a: string, iv: { from: number; checked: boolean }, now: number): void => {
    if (iv.checked || now - iv.from < LIVENESS_MS) return;
    iv.checked = true;
    if (w.framesFor(a, iv.from, iv.from + LIVENESS_MS) === 0 && process.env.SIMDBG) console.log(a, iv, w.sink.frames.filter((f) => f.address === a).slice(0, 6), w.core.core.desired.get(a), w.watcher.interfacesHolding(a), [...w.kernel.links.values()].map((l) => [l.name, l.up, l.addresses.has(a)]), w.kernel.queue.length);
    if (w.framesFor(a, iv.from, iv.from + LIVENESS_MS) === 0) misses.push(`seed ${seed}: ${a} known and bound from t=${iv.from} until t=${now} with no frame within ${LIVENESS_MS} ms`);
  };
  const sample = (): void => {
    const now = w.clock.now();
    for (const a of all) {
      const ok = placed(a);
      const iv = open.get(a);
      if (iv === undefined) {
        if (ok) open.set(a, { from: now, checked: false });
        continue;
      }
      judge(a, iv, now);
      if (!ok) open.delete(a);
    }
  };
  w.clock.onStep = sample;
  await w.clock.runUntil(0);
  sample();

  const steps = Math.floor(20 + r() * 60);
  let t = 0;
  for (let i = 0; i < steps; i++) {
    t += pick([0, 0, 1, 2, 5, 30, 200, 1200]);
    const op = r();
    w.clock.after(t - w.clock.now(), () => {
      if (op < 0.12) {
        // nova-network (re)starts: binds in nova's order, then the hook.
        bindAllAssociated();
        if (r() < 0.8) w.hook();
      } else if (op < 0.3) {
        // associate: row first, then the bind and the cast in either order.
        const a = pick(floating);
        const row = w.db.floating.get(a)!;
        row.associated = true;
        const named = pick([null, 'eth1', PUBLIC]);
        const cast = (): void => {
          if (brokerUp) w.amqp(pick([true, false]) ? { method: '_associate_floating_ip', args: { floating_address: a, fixed_address: '10.0.0.5', interface: named } } : { 'oslo.version': '2.0', 'oslo.message': JSON.stringify({ method: '_associate_floating_ip', args: { floating_address: a, interface: named } }) });
        };
        if (r() < 0.5) {
          w.kernel.bind(PUBLIC, a);
          cast();
        } else {
          cast();
          w.clock.after(pick([0, 1, 3, 50]), () => {
            w.kernel.bind(PUBLIC, a);
            w.deliverLater(pick([0, 1, 5]));
          });
        }
      } else if (op < 0.42) {
        const a = pick(floating);
        w.db.floating.get(a)!.associated = false;
        w.kernel.unbind(PUBLIC, a);
        if (brokerUp) w.amqp({ method: 'disassociate_floating_ip', args: { floating_address: a } });
      } else if (op < 0.55) {
        // a storm of deletions or re-adds in one `ip -batch`
        const some = floating.filter(() => r() < 0.5);
        const add = r() < 0.5;
        for (const a of some) (add ? w.kernel.bind : w.kernel.unbind).call(w.kernel, PUBLIC, a);
      } else if (op < 0.6) {
        w.kernel.setLink(pick([PUBLIC, 'br100']), r() < 0.5);
      } else if (op < 0.7) {
        w.db.up = !w.db.up;
      } else if (op < 0.8) {
        brokerUp = !brokerUp;
        w.core.bus.connection(brokerUp, 'sim', brokerUp ? 'q' : null);
      } else if (op < 0.85) {
        void w.core.reannounce({ addresses: r() < 0.5 ? null : floating.slice(0, 3), kinds: null, reason: 'sim', invalid: [] }, 'reannounce');
      } else {
        w.kernel.unbind(PUBLIC, w.settings.routingSourceIp);
        w.kernel.bind(pick([PUBLIC, 'br100']), w.settings.routingSourceIp);
      }
      // The watcher reads the kernel's events a little later (netlink wake-up), unless a slice
      // drains them first.
      w.deliverLater(pick([0, 1, 5]));
    });
  }
  await w.clock.runUntil(t + 100);

  // Heal: everything comes back; the sidecar must converge without another hook.
  w.db.up = true;
  if (!brokerUp) w.core.bus.connection(true, 'sim', 'q');
  w.kernel.setLink(PUBLIC, true);
  w.kernel.setLink('br100', true);
  w.deliverLater(1);
  await w.clock.runUntil(w.clock.now() + 12_000);
  sample();
  for (const [a, iv] of open) judge(a, iv, w.clock.now());
  const expected = new Set([w.settings.routingSourceIp, gateway, ...[...w.db.floating.values()].filter((x) => x.associated).map((x) => x.address)]);
  const known = new Set([...w.core.core.desired.values()].map((d) => d.target.address));
  for (const a of expected) if (!known.has(a)) misses.push(`seed ${seed}: after healing, ${a} is in the database but not a target`);
  for (const a of known) if (!expected.has(a)) misses.push(`seed ${seed}: after healing, ${a} is a target but not in the database`);
  for (const d of w.core.core.desired.values()) {
    if (d.target.kind === 'floating' && d.target.interface !== PUBLIC) misses.push(`seed ${seed}: ${d.target.address} targeted on ${d.target.interface}, nova binds it on ${PUBLIC}`);
  }
  w.core.stop();
  return { violations: w.sink.violations.map((v) => `seed ${seed}: ${v}`), misses, steps };
}

describe('the sidecar core under random interleavings (simulation)', () => {
  it(`keeps safety and liveness over ${RUNS} seeded interleavings`, { timeout: 600_000 }, async () => {
    const violations: string[] = [];
    const misses: string[] = [];
    let steps = 0;
    const base = Number(process.env.NOVA_GARP_SIM_SEED ?? 1);
    for (let i = 0; i < RUNS; i++) {
      const r = await scenario(base + i);
      violations.push(...r.violations);
      misses.push(...r.misses);
      steps += r.steps;
    }
    expect(violations.slice(0, 10)).toEqual([]);
    expect(misses.slice(0, 10)).toEqual([]);
    expect(steps).toBeGreaterThan(RUNS * 20);
  });
});
