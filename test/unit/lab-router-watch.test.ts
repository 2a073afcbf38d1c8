import { describe, expect, it } from 'vitest';
import {
  convergenceOf,
  NUD,
  nudText,
  parseNeighbourMessages,
  parseWatchDatagram,
  pointsAt,
  summarizeConvergence,
  tailFigures,
  type WatchEvent,
  type WatchedAddress,
} from '../../tools/lab/router-watch.js';
import { convergenceNotes, labJson, renderReport, summarize, type ModeRun } from '../../tools/lab/report.js';
import { attr, ip, mac, message, ifaddrmsg, concat } from '../helpers/netlink-bytes.js';

function ndmsg(family: number, ifindex: number, state: number): Uint8Array {
  const b = new Uint8Array(12);
  const v = new DataView(b.buffer);
  v.setUint8(0, family);
  v.setInt32(4, ifindex, true);
  v.setUint16(8, state, true);
  return b;
}
const RTM_NEWADDR = 20;
const RTM_DELADDR = 21;
const RTM_NEWNEIGH = 28;
const RTM_DELNEIGH = 29;
const RTM_NEWROUTE = 24;
const neigh = (type: number, family: number, dst: string, state: number, ll?: string): Uint8Array =>
  message(type, ndmsg(family, 3, state), [attr(1, ip(dst)), ...(ll === undefined ? [] : [attr(2, mac(ll))])]);

describe('router watcher: parsing rtnetlink neighbour and address notifications', () => {
  it('reads RTM_NEWNEIGH/RTM_DELNEIGH (IPv4, IPv6, with and without a link-layer address), skips other types', () => {
    const buf = concat(
      neigh(RTM_NEWNEIGH, 2, '172.20.1.7', NUD.STALE, 'AA:BB:cc:00:01:02'),
      message(RTM_NEWROUTE, new Uint8Array(12)),
      neigh(RTM_NEWNEIGH, 2, '172.20.1.8', NUD.INCOMPLETE),
      neigh(RTM_NEWNEIGH, 10, 'fd00:1:0::1', NUD.REACHABLE, '02:00:00:00:00:01'),
      neigh(RTM_DELNEIGH, 2, '172.20.1.7', NUD.FAILED),
    );
    const { events, malformed } = parseNeighbourMessages(buf, 'router', 12.5);
    expect(malformed).toBe(0);
    expect(events).toEqual([
      { t: 12.5, role: 'router', kind: 'neigh', deleted: false, address: '172.20.1.7', lladdr: 'aa:bb:cc:00:01:02', state: NUD.STALE, ifindex: 3 },
      { t: 12.5, role: 'router', kind: 'neigh', deleted: false, address: '172.20.1.8', lladdr: null, state: NUD.INCOMPLETE, ifindex: 3 },
      { t: 12.5, role: 'router', kind: 'neigh', deleted: false, address: 'fd00:1::1', lladdr: '02:00:00:00:00:01', state: NUD.REACHABLE, ifindex: 3 },
      { t: 12.5, role: 'router', kind: 'neigh', deleted: true, address: '172.20.1.7', lladdr: null, state: NUD.FAILED, ifindex: 3 },
    ]);
  });

  it('counts what it cannot decode instead of throwing', () => {
    const good = neigh(RTM_NEWNEIGH, 2, '10.0.0.1', NUD.REACHABLE, '02:00:00:00:00:01');
    const bad = good.slice();
    new DataView(bad.buffer).setUint32(0, 9999, true); // length past the end
    expect(parseNeighbourMessages(concat(good, bad), 'router', 1)).toMatchObject({ malformed: 1, events: [{ address: '10.0.0.1' }] });
    // A neighbour message without NDA_DST, and one with a short ndmsg.
    expect(parseNeighbourMessages(message(RTM_NEWNEIGH, ndmsg(2, 1, NUD.STALE)), 'router', 1)).toEqual({ events: [], malformed: 1 });
    expect(parseNeighbourMessages(message(RTM_NEWNEIGH, new Uint8Array(4)), 'router', 1)).toEqual({ events: [], malformed: 1 });
  });

  it('takes address notifications through the sidecar parser, as the standby socket gets them', () => {
    const buf = concat(message(RTM_NEWADDR, ifaddrmsg(2, 32, 0, 2), [attr(2, ip('172.20.1.1'))]), message(RTM_DELADDR, ifaddrmsg(2, 24, 0, 5), [attr(2, ip('10.1.0.1'))]));
    expect(parseWatchDatagram(buf, 'addr', 'standby', 7).events).toEqual([
      { t: 7, role: 'standby', kind: 'addr', deleted: false, address: '172.20.1.1', lladdr: null, state: 0, ifindex: 2 },
      { t: 7, role: 'standby', kind: 'addr', deleted: true, address: '10.1.0.1', lladdr: null, state: 0, ifindex: 5 },
    ]);
    expect(parseWatchDatagram(neigh(RTM_NEWNEIGH, 2, '10.0.0.1', NUD.STALE, '02:00:00:00:00:01'), 'neigh', 'inst0', 1).events).toHaveLength(1);
  });

  it('names neighbour states', () => {
    expect(nudText(NUD.STALE)).toBe('STALE');
    expect(nudText(NUD.REACHABLE | NUD.PERMANENT)).toBe('REACHABLE|PERMANENT');
    expect(nudText(0)).toBe('NONE');
  });
});

// --- matching the router's entries to the standby ---

const STANDBY = '02:00:00:00:00:02';
const PRIMARY = '02:00:00:00:00:01';
const T0 = 1000;
const ev = (t: number, role: string, address: string, over: Partial<WatchEvent> = {}): WatchEvent => ({
  t,
  role,
  kind: role === 'standby' ? 'addr' : 'neigh',
  deleted: false,
  address,
  lladdr: role === 'standby' ? null : STANDBY,
  state: role === 'standby' ? 0 : NUD.STALE,
  ifindex: 2,
  ...over,
});

describe('router watcher: when the router points at the standby', () => {
  it('an entry points at the standby only with its MAC and a usable state', () => {
    expect(pointsAt(ev(1, 'router', 'a'), STANDBY)).toBe(true);
    expect(pointsAt(ev(1, 'router', 'a'), STANDBY.toUpperCase())).toBe(true);
    expect(pointsAt(ev(1, 'router', 'a', { lladdr: PRIMARY }), STANDBY)).toBe(false);
    for (const state of [NUD.REACHABLE, NUD.DELAY, NUD.PROBE, NUD.PERMANENT]) expect(pointsAt(ev(1, 'router', 'a', { state }), STANDBY)).toBe(true);
    for (const state of [NUD.INCOMPLETE, NUD.FAILED, 0]) expect(pointsAt(ev(1, 'router', 'a', { state }), STANDBY)).toBe(false);
    expect(pointsAt(ev(1, 'router', 'a', { deleted: true }), STANDBY)).toBe(false);
    expect(pointsAt(ev(1, 'standby', 'a'), STANDBY)).toBe(false);
  });

  it('takes, per address, the first bind after t0 and the first update at its own peer after t0', () => {
    const watched: WatchedAddress[] = [
      { address: '172.20.1.1', peer: 'router', standbyMac: STANDBY },
      { address: '172.20.1.2', peer: 'router', standbyMac: STANDBY },
      { address: '10.1.0.1', peer: 'inst0', standbyMac: '02:00:00:00:0b:00' },
      { address: '172.20.1.3', peer: 'router', standbyMac: STANDBY },
    ];
    const events = [
      // Before t0 (warm-up): ignored even when it looks like convergence.
      ev(990, 'router', '172.20.1.3'),
      ev(3010, 'standby', '172.20.1.1'),
      ev(3011, 'standby', '172.20.1.2'),
      ev(3009, 'standby', '10.1.0.1'),
      ev(3012, 'standby', '172.20.1.3'),
      // The router first marks the old entry stale, then learns the standby.
      ev(3020, 'router', '172.20.1.1', { lladdr: PRIMARY }),
      ev(3025, 'router', '172.20.1.1'),
      ev(3030, 'router', '172.20.1.1', { state: NUD.REACHABLE }),
      // 172.20.1.2 is resolved but never valid (INCOMPLETE, then FAILED).
      ev(3021, 'router', '172.20.1.2', { lladdr: null, state: NUD.INCOMPLETE }),
      ev(3040, 'router', '172.20.1.2', { lladdr: null, state: NUD.FAILED }),
      // The gateway at the wrong peer does not count; at its instance it does (the bridge's MAC).
      ev(3015, 'router', '10.1.0.1', { lladdr: '02:00:00:00:0b:00' }),
      ev(3018, 'inst0', '10.1.0.1', { lladdr: '02:00:00:00:0b:00' }),
    ];
    // Events arrive per socket; the analysis orders them.
    expect(convergenceOf(events.reverse(), watched, T0)).toEqual([
      { address: '172.20.1.1', peer: 'router', boundAt: 3010, convergedAt: 3025 },
      { address: '172.20.1.2', peer: 'router', boundAt: 3011, convergedAt: null },
      { address: '10.1.0.1', peer: 'inst0', boundAt: 3009, convergedAt: 3018 },
      { address: '172.20.1.3', peer: 'router', boundAt: 3012, convergedAt: null },
    ]);
  });

  it('summarizes convergence from t0, bound->peer with its tail, and lists what never converged', () => {
    const conv = [
      { address: 'a', peer: 'router', boundAt: 3000, convergedAt: 3010 },
      { address: 'b', peer: 'router', boundAt: 3001, convergedAt: 3021 },
      { address: 'c', peer: 'router', boundAt: 3002, convergedAt: 3032 },
      { address: 'd', peer: 'router', boundAt: 3003, convergedAt: null },
      { address: 'e', peer: 'router', boundAt: null, convergedAt: null },
    ];
    expect(summarizeConvergence(conv, T0)).toEqual({
      addresses: 5,
      convergenceS: { median: 2.021, p95: 2.031, max: 2.032 },
      boundToPeerMs: { median: 20, p99: 29.8, max: 30 },
      unconverged: 2,
      unconvergedAddresses: ['d', 'e'],
      neverBound: 1,
    });
    expect(summarizeConvergence([{ address: 'a', peer: 'router', boundAt: null, convergedAt: null }], T0)).toMatchObject({ convergenceS: null, boundToPeerMs: null, unconverged: 1 });
  });

  it('p99 interpolates between the closest ranks', () => {
    const values = Array.from({ length: 101 }, (_, i) => i);
    expect(tailFigures(values)).toEqual({ median: 50, p99: 99, max: 100 });
    expect(tailFigures([5])).toEqual({ median: 5, p99: 5, max: 5 });
  });
});

describe('router figures in the report', () => {
  const run = (over: Partial<ModeRun> = {}): ModeRun => ({
    mode: 'nova-garp',
    ha: 'simulated',
    fault: 'power-off',
    detectionMs: 2000,
    takeoverMs: 2000,
    deadtimeMs: 2000,
    probeIntervalMs: 20,
    maxWaitMs: 75_000,
    t0: T0,
    outages: [{ address: '172.20.0.2', from: 'laptop', disconnectionMs: 2040, capped: false, lastBefore: T0 - 5, firstAfter: T0 + 2035 }],
    boundAtMs: 2010,
    announcedAtMs: 2020,
    cutShort: false,
    prober: { maxLateMs: 1, preLossPct: 0, rate: 400 },
    notes: [],
    convergence: [
      { address: '172.20.0.2', peer: 'router', boundAt: T0 + 2001, convergedAt: T0 + 2011 },
      { address: '172.20.1.1', peer: 'router', boundAt: T0 + 2002, convergedAt: null },
      { address: '10.1.0.1', peer: 'inst0', boundAt: T0 + 2000, convergedAt: T0 + 2004 },
    ],
    ...over,
  });

  it('puts the router figures in the JSON, the gateways apart, the unconverged counted and named', () => {
    const m = labJson([summarize(run())]).modes[0]!;
    expect(m.convergenceS).toEqual({ median: 2.011, p95: 2.011, max: 2.011 });
    expect(m.boundToRouterMs).toEqual({ median: 10, p99: 10, max: 10 });
    expect(m.unconverged).toBe(1);
    expect(m.unconvergedAddresses).toEqual(['172.20.1.1']);
    expect(m.gateways).toEqual({ convergenceS: { median: 2.004, p95: 2.004, max: 2.004 }, boundToInstanceMs: { median: 4, p99: 4, max: 4 }, unconverged: 0, unconvergedAddresses: [] });
    // Without networks there is no gateway entry; without a watcher no figures at all.
    expect(labJson([summarize(run({ convergence: run().convergence!.slice(0, 2) }))]).modes[0]!.gateways).toBeNull();
    expect(labJson([summarize(run({ convergence: undefined }))]).modes[0]).toMatchObject({ convergenceS: null, boundToRouterMs: null, unconverged: null, gateways: null });
  });

  it('prints both router columns, marks lower bounds and names the addresses the router never updated', () => {
    const text = renderReport([run()], { floatingIps: 1, networks: 1, ipv6: false, maxWaitMs: 75_000 });
    expect(text).toMatch(/router updated s \(median \/ p95 \/ max\)\s+bound->router ms \(median \/ p99 \/ max\)/);
    expect(text).toMatch(/2\.011 \/ 2\.011 \/ >=2\.011\s+10\.0 \/ 10\.0 \/ >=10\.0/);
    expect(convergenceNotes(run())).toEqual([
      'router NOT updated for 1 of 2 addresses within the run (0 never bound): 172.20.1.1',
      'gateways at their instances: updated t0+2.004 / 2.004 / 2.004 s (median / p95 / max), bound->instance 4.0 / 4.0 / 4.0 ms (median / p99 / max)',
    ]);
    const all = run({ convergence: [{ address: '172.20.0.2', peer: 'router', boundAt: T0 + 2001, convergedAt: T0 + 2011 }] });
    expect(convergenceNotes(all)).toEqual(['router updated for all 1 of its addresses']);
  });
});
