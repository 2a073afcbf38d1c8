import { describe, expect, it } from 'vitest';
import { labJson, renderReport, summarize, textTable, type ModeRun } from '../../tools/lab/report.js';
import { renderPlot, tickStep } from '../../tools/lab/plot.js';
import type { Outage } from '../../tools/lab/outage.js';
import { burstText } from '../../tools/lab/failover.js';

const T0 = 10_000;
const outage = (address: string, ms: number, capped = false): Outage => ({
  address,
  from: 'laptop',
  disconnectionMs: ms,
  capped,
  lastBefore: T0 - 5,
  firstAfter: capped ? null : T0 - 5 + ms,
});

const run = (mode: ModeRun['mode'], outages: Outage[], over: Partial<ModeRun> = {}): ModeRun => ({
  mode,
  ha: 'simulated',
  fault: 'power-off',
  detectionMs: 2000,
  takeoverMs: 2000,
  deadtimeMs: 2000,
  probeIntervalMs: 20,
  maxWaitMs: 75_000,
  t0: T0,
  outages,
  boundAtMs: 2010,
  announcedAtMs: null,
  cutShort: false,
  prober: { maxLateMs: 2.5, preLossPct: 0, rate: 400 },
  notes: [],
  ...over,
});

describe('lab result shaping', () => {
  it('summarizes disconnection and overhead over the deadtime in seconds', () => {
    const s = summarize(run('nova-garp', [outage('a', 2040), outage('b', 2060), outage('c', 2020)]));
    expect(s).toEqual({
      mode: 'nova-garp',
      ha: 'simulated',
      fault: 'power-off',
      detectionS: 2,
      deadtimeS: 2,
      addresses: 3,
      probeIntervalMs: 20,
      capped: false,
      takeoverS: { median: 2, p95: 2, max: 2 },
      disconnectionS: { median: 2.04, p95: 2.058, max: 2.06 },
      overheadS: { median: 0.04, p95: 0.058, max: 0.06 },
      // No router watcher in this run.
      router: null,
      gateways: null,
    });
  });

  it('measures the overhead from the takeover a real manager reported, per address', () => {
    const s = summarize(run('nova-garp', [outage('a', 2540), outage('b', 2560)], { ha: 'heartbeat', fault: 'kill', takeoverMs: 2500 }));
    expect(s.takeoverS).toEqual({ median: 2.5, p95: 2.5, max: 2.5 });
    expect(s.overheadS.max).toBeCloseTo(0.06, 6);
    // No takeover measured: the deadtime stands in.
    expect(summarize(run('none', [outage('a', 30_000)], { takeoverMs: null })).takeoverS).toBeNull();
  });

  it('marks a mode capped when an address never came back, not when only its loop was stopped', () => {
    expect(summarize(run('nova-arping', [outage('a', 5000), outage('b', 75_000, true)])).capped).toBe(true);
    expect(summarize(run('seed-arping', [outage('a', 5000)], { cutShort: true })).capped).toBe(false);
  });

  it('prints exactly the documented JSON keys', () => {
    const doc = labJson([summarize(run('none', [outage('a', 31_000)]))]);
    expect(Object.keys(doc)).toEqual(['modes']);
    expect(Object.keys(doc.modes[0]!)).toEqual([
      'mode',
      'ha',
      'fault',
      'deadtimeS',
      'detectionS',
      'addresses',
      'probeIntervalMs',
      'capped',
      'takeoverS',
      'disconnectionS',
      'overheadS',
      'convergenceS',
      'boundToRouterMs',
      'unconverged',
      'unconvergedAddresses',
      'gateways',
    ]);
    expect(Object.keys(doc.modes[0]!.disconnectionS)).toEqual(['median', 'p95', 'max']);
    expect(Object.keys(doc.modes[0]!.overheadS)).toEqual(['median', 'p95', 'max']);
  });

  it('lays the table out with the original figures next to the measured ones, lower bounds marked', () => {
    const text = renderReport([run('none', [outage('a', 31_000)]), run('nova-arping', [outage('a', 9000), outage('b', 75_000, true)])], {
      floatingIps: 1,
      networks: 0,
      ipv6: false,
      maxWaitMs: 75_000,
    });
    // No router watcher in these runs: its two columns say '-'.
    expect(text).toMatch(/none\s+2\.000\s+1\s+20\s+31\.0 \/ 31\.0 \/ 31\.0\s+29\.0 \/ 29\.0 \/ 29\.0\s+-\s+-\s+24–47 s/);
    expect(text).toMatch(/nova-arping \(capped\).*>=75\.0/);
    expect(text).toMatch(/--max-wait 75\.0 s/);
    expect(text).toMatch(/1 address\(es\) still dark at the cap/);
  });

  it('adds the measured takeover to the table when a real manager ran', () => {
    const text = renderReport([run('nova-garp', [outage('a', 2540)], { ha: 'keepalived', fault: 'kill', takeoverMs: 2500 })], { floatingIps: 1, networks: 0, ipv6: false, maxWaitMs: 75_000 });
    expect(text).toMatch(/^HA manager keepalived, fault kill: SIGKILL/);
    expect(text).toMatch(/mode\s+deadtime s\s+takeover s\s+addresses/);
    expect(text).toMatch(/nova-garp\s+2\.000\s+2\.500\s+1\s+20\s+2\.540 \/ 2\.540 \/ 2\.540\s+0\.040 \/ 0\.040 \/ 0\.040/);
  });

  it('aligns text columns', () => {
    expect(textTable([['a', 'bb', 'c'], ['ccc', 'd', 'e']])).toBe('a    bb  c\n---  --  -\nccc   d  e');
  });

  it('condenses the sidecar burst log line', () => {
    expect(burstText({ level: 30, msg: 'burst', trigger: 'hook', targets: 8, announced: 8, coalesced: 0, notBound: 0, frames: 16, triggerToLastFrameMs: 1.234 })).toBe(
      'hook: 8/8 announced (0 coalesced, 0 not bound), 16 frames, last frame 1.2 ms after the trigger',
    );
    expect(burstText({ level: 30, msg: 'burst', x: 1 })).toBe('x=1');
  });
});

describe('lab plot', () => {
  it('draws one bar per address per mode, dark ones apart, as standalone SVG', () => {
    const svg = renderPlot([run('none', [outage('a', 31_000), outage('b', 40_000, true)]), run('nova-garp', [outage('a', 2040)])], 'title <&>');
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('title &lt;&amp;&gt;');
    expect(svg).not.toMatch(/<script|href=/);
    expect(svg.match(/stroke="#2b6cb0"/g)).toHaveLength(2);
    expect(svg.match(/stroke="#c53030"/g)).toHaveLength(1);
    expect((svg.match(/M[\d.]+ [\d.]+H[\d.]+/g) ?? []).length).toBe(3);
  });

  it('picks round tick steps', () => {
    expect(tickStep(50)).toBe(10);
    expect(tickStep(2.2)).toBe(0.5);
    expect(tickStep(75)).toBe(10);
  });
});

describe('overhead split', () => {
  it('separates the probe phase before t0 from what happens after the deadtime', async () => {
    const { overheadSplit } = await import('../../tools/lab/report.js');
    const split = overheadSplit(run('nova-garp', [outage('a', 2040), outage('b', 2060), outage('c', 9000, true)]));
    expect(split?.beforeT0).toEqual({ median: 5, p95: 5, max: 5 });
    expect(split?.afterDeadtime).toEqual({ median: 45, p95: 54, max: 55 });
  });
});
