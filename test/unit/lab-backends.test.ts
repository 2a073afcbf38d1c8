import { describe, expect, it } from 'vitest';
import { makeLayout, NOVA_HOST, layoutTargets, ROUTING_SOURCE_IP, PUBLIC_IF } from '../../tools/lab/addressing.js';
import { labExchange, labNovaConf, managementLayout, relayedDatabaseUrl } from '../../tools/lab/backends.js';
import { compareTargets, targetKey } from '../../tools/lab/inventory-check.js';
import { labRows, OTHER_HOST, selectHostRows, spareFloatingIp } from '../../tools/lab/lab-database.js';
import { parseDatabaseUrl } from '../../src/nova/database-url.js';
import { deriveTargets } from '../../src/inventory/derive-targets.js';
import { parseNovaConf } from '../../src/nova/nova-conf.js';
import { resolveSettings } from '../../src/nova/settings.js';

const config = { routingSourceIp: ROUTING_SOURCE_IP, publicInterface: PUBLIC_IF };

describe('lab database rows', () => {
  for (const shape of ['newton', 'cactus'] as const) {
    for (const [fips, nets, v6] of [
      [5, 2, false],
      [50, 3, true],
      [0, 0, false],
      [1000, 20, false],
    ] as const) {
      it(`${shape}, ${fips} floating IPs, ${nets} networks${v6 ? ', IPv6' : ''}: the reader's rows give exactly the plan's targets`, () => {
        const plan = makeLayout(fips, nets, v6);
        const set = labRows(plan, shape, new Date('2020-01-01T00:00:00Z'));
        const derived = deriveTargets(config, selectHostRows(set.rows, NOVA_HOST));
        expect(derived.skipped).toEqual([]);
        expect(compareTargets(layoutTargets(plan), derived.targets)).toEqual({ missing: [], extra: [] });
        expect(derived.targets).toHaveLength(layoutTargets(plan).length);
      });
    }

    it(`${shape}: distractor rows are there and none of them is a target`, () => {
      const plan = makeLayout(5, 2, false);
      const set = labRows(plan, shape);
      const { floating_ips: fips, networks } = set.rows;
      const live = (r: Record<string, unknown>): boolean => r.deleted === 0 || r.deleted === false;
      expect(fips.filter((r) => r.host === OTHER_HOST && r.fixed_ip_id !== null)).toHaveLength(3);
      expect(fips.filter((r) => r.host === NOVA_HOST && !live(r))).toHaveLength(1);
      expect(fips.filter((r) => r.host === NOVA_HOST && r.fixed_ip_id === null && live(r)).map((r) => r.address)).toEqual([set.spareFloating]);
      expect(networks.filter((r) => r.host === OTHER_HOST)).toHaveLength(1);
      expect(networks.filter((r) => r.host === NOVA_HOST && !live(r))).toHaveLength(1);
      expect(set.distractors).toHaveLength(7);
      const targets = new Set(deriveTargets(config, selectHostRows(set.rows, NOVA_HOST)).targets.map((t) => t.address));
      for (const r of [...fips.filter((f) => f.host !== NOVA_HOST || f.fixed_ip_id === null || !live(f))]) expect(targets.has(r.address as string)).toBe(false);
      expect(targets.has('10.2.0.1')).toBe(false);
      expect(targets.has('10.2.1.1')).toBe(false);
    });

    it(`${shape}: deleted is the release's type, ids and fixed IP addresses are unique`, () => {
      const set = labRows(makeLayout(600, 3, false), shape);
      const deleted = set.rows.floating_ips.map((r) => r.deleted);
      if (shape === 'newton') expect(deleted.every((d) => typeof d === 'number')).toBe(true);
      else expect(deleted.every((d) => typeof d === 'boolean')).toBe(true);
      for (const rows of Object.values(set.rows)) expect(new Set(rows.map((r) => r.id)).size).toBe(rows.length);
      expect(new Set(set.rows.fixed_ips.map((r) => r.address)).size).toBe(set.rows.fixed_ips.length);
      const fixedIds = new Set(set.rows.fixed_ips.map((r) => r.id));
      for (const f of set.rows.floating_ips) if (f.fixed_ip_id !== null) expect(fixedIds.has(f.fixed_ip_id)).toBe(true);
      const netIds = new Set(set.rows.networks.map((r) => r.id));
      for (const f of set.rows.fixed_ips) expect(netIds.has(f.network_id)).toBe(true);
      expect('interface' in set.rows.floating_ips[0]!).toBe(shape === 'newton');
    });
  }

  it('the spare floating IP follows the plan and is not one of its addresses', () => {
    expect(spareFloatingIp(makeLayout(5, 0, false))).toBe('172.20.1.6');
    expect(spareFloatingIp(makeLayout(250, 0, false))).toBe('172.20.2.1');
    expect(makeLayout(250, 0, false).floating).not.toContain(spareFloatingIp(makeLayout(250, 0, false)));
  });
});

describe('the sidecar nova.conf with --db and --amqp', () => {
  const facts = { hostname: 'box', defaultRouteIp: null };

  it('without them: no database, default broker settings, the lab host and addresses', () => {
    const s = resolveSettings(parseNovaConf(labNovaConf(), 'nova.conf'), {}, {}, facts);
    expect(s).toMatchObject({ host: NOVA_HOST, routingSourceIp: ROUTING_SOURCE_IP, publicInterface: PUBLIC_IF, databaseUrl: null, controlExchange: 'nova' });
  });

  it('with them: [database] connection through the relay, rabbit_* and the run own control_exchange', () => {
    const url = parseDatabaseUrl('mysql://lab:p%40ss@127.0.0.1:3306/nova_lab?charset=utf8');
    const dbUrl = relayedDatabaseUrl(url, { host: '169.254.31.1', port: 40841 });
    const back = parseDatabaseUrl(dbUrl);
    expect(back).toMatchObject({ host: '169.254.31.1', port: 40841, user: 'lab', password: 'p@ss', database: 'nova_lab', charset: 'utf8' });
    const text = labNovaConf({
      databaseUrl: dbUrl,
      rabbit: { host: '169.254.31.1', port: 36299, userid: 'guest', password: 'guest', virtualHost: '/', controlExchange: labExchange('nglab-1e2e99-0-') },
    });
    const s = resolveSettings(parseNovaConf(text, 'nova.conf'), {}, {}, facts);
    expect(s.databaseUrl).toBe(dbUrl);
    expect(s.origin.databaseUrl).toBe('nova.conf');
    expect(s.rabbit).toMatchObject({ hosts: [{ host: '169.254.31.1', port: 36299 }], userid: 'guest', password: 'guest', virtualHost: '/' });
    expect(s.controlExchange).toBe('nglab-1e2e99-0');
    expect(s.host).toBe(NOVA_HOST);
  });
});

describe('management link plan', () => {
  it('names fit IFNAMSIZ and each mode gets its own link-local /30', () => {
    const a = managementLayout('nglab-1e2e99-0-');
    const b = managementLayout('nglab-1e2e99-1-');
    expect(a).toEqual({ rootIf: 'ngm1e2e990', nsIf: 'mgmt0', rootIp: '169.254.31.1', nsIp: '169.254.31.2' });
    expect(b.rootIp).toBe('169.254.31.5');
    for (const tag of ['000000', 'a8ffff', 'ffffff']) {
      const p = managementLayout(`nglab-${tag}-12-`);
      expect(p.rootIf.length).toBeLessThanOrEqual(15);
      expect(p.rootIp).not.toMatch(/^169\.254\.(0|169|255)\./);
    }
    expect(() => managementLayout('other-')).toThrow(RangeError);
  });
});

describe('compareTargets', () => {
  it('reports what is missing and what is extra, by kind, address and interface', () => {
    const plan = layoutTargets(makeLayout(2, 1, false));
    expect(compareTargets(plan, [...plan].reverse())).toEqual({ missing: [], extra: [] });
    const moved = plan.map((t) => (t.kind === 'gateway' ? { ...t, interface: 'br999' } : t));
    expect(compareTargets(plan, [...moved, { kind: 'floating', address: '198.51.100.1', interface: PUBLIC_IF }])).toEqual({
      missing: [targetKey({ kind: 'gateway', address: '10.1.0.1', interface: 'br100' })],
      extra: ['gateway 10.1.0.1 on br999', 'floating 198.51.100.1 on pub0'],
    });
  });
});
