import { describe, expect, it } from 'vitest';
import { cibXml, corosyncConf, haTimers } from '../../tools/lab/ha.js';
import { standinScript } from '../../tools/lab/standin.js';
import { makeLayout } from '../../tools/lab/addressing.js';

const tools = { ip: '/sbin/ip', arping: '/usr/bin/arping', python3: '/usr/bin/python3' };
const setup = (mode: Parameters<typeof standinScript>[0]['mode']): Parameters<typeof standinScript>[0] => ({
  node: 'net2',
  mode,
  layout: makeLayout(2, 1, false),
  fifo: '/tmp/x/events',
  controlSocket: '/tmp/x/control.sock',
});

describe('lab HA settings', () => {
  it('derives each manager\'s timers from --deadtime, and the detection they imply', () => {
    expect(haTimers('simulated', 2000).detectionMs).toBe(2000);
    expect(haTimers('heartbeat', 2000)).toMatchObject({ detectionMs: 2000, heartbeat: { keepaliveMs: 500, warntimeMs: 1000, deadtimeMs: 2000, initdeadS: 4 } });
    expect(haTimers('heartbeat', 4000).heartbeat).toMatchObject({ warntimeMs: 2000, initdeadS: 8 });
    // VRRPv3: 3 x advert + (256 - 100) / 256 x advert for the standby (priority 100).
    expect(haTimers('keepalived', 2000)).toMatchObject({ detectionMs: 1985, keepalived: { advertCs: 55 } });
    expect(haTimers('pacemaker', 2000)).toMatchObject({ detectionMs: 2000, corosync: { tokenMs: 909 } });
    expect(corosyncConf(909, '/tmp/c.log')).toMatch(/token: 909/);
    expect(cibXml('/run/c.conf')).toMatch(/provider="nova-garp" type="nova-network"[\s\S]*name="config" value="\/run\/c.conf"/);
  });

  it('the nova-network stand-in reports its start first, binds, then announces the mode\'s way', () => {
    const garp = standinScript(setup('nova-garp'), '/tmp/x/standby', tools);
    const at = (text: string): number => garp.indexOf(text);
    expect(at('echo start net2')).toBeGreaterThan(0);
    expect(at('echo start net2')).toBeLessThan(at('-force -batch'));
    expect(at('echo bound net2')).toBeLessThan(at('notify_started'));
    expect(at('notify_started')).toBeLessThan(at('echo done net2'));
    // The primary's first start only binds.
    const primary = standinScript({ ...setup('bind-only'), node: 'net1' }, '/tmp/x/primary', tools);
    expect(primary).not.toMatch(/arping|notify_started/);
    // nova's order for nova-arping: bind then arping, one address after the other.
    const nova = standinScript(setup('nova-arping'), '/tmp/x/standby', tools);
    expect(nova.indexOf('address replace 172.20.1.1/32')).toBeLessThan(nova.indexOf('-U 172.20.1.1'));
    expect(nova.indexOf('-U 172.20.1.1')).toBeLessThan(nova.indexOf('address replace 172.20.1.2/32'));
    expect(standinScript(setup('seed-arping'), '/tmp/x/standby', tools)).toMatch(/arping -b -c 1 -s 172\.20\.1\.1 -I pub0 172\.20\.0\.1/);
  });
});
