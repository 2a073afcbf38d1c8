import { describe, expect, it } from 'vitest';
import { missingRoot, requirement } from '../helpers/requirements.js';
import { runCli } from '../helpers/cli.js';
import { listNamespaces } from '../../src/netns/namespaces.js';

const enabled = requirement('failover lab', missingRoot());

interface Figures {
  median: number;
  p95: number;
  max: number;
}
interface ModeJson {
  mode: string;
  deadtimeS: number;
  addresses: number;
  probeIntervalMs: number;
  capped: boolean;
  disconnectionS: Figures;
  overheadS: Figures;
}

describe.runIf(enabled)('nova-garp lab', () => {
  it(
    'reproduces the stale-cache outage without announcements and removes it with the hook and the sidecar',
    async () => {
      // none lasts the router's reachable time (15–45 s, random per run) + 5 s delay + 3 s of probes.
      const r = await runCli(null, ['lab', '--modes', 'none,nova-garp', '--floating-ips', '5', '--json'], { timeoutMs: 170_000 });
      const prefix = /namespace prefix (nglab-[0-9a-f]+-)/.exec(r.stderr)?.[1];
      expect(prefix, r.stderr).toBeDefined();
      expect(listNamespaces(prefix!)).toEqual([]);
      expect(r.code, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout) as { modes: ModeJson[] };
      expect(out.modes.map((m) => m.mode)).toEqual(['none', 'nova-garp']);
      const [none, garp] = out.modes as [ModeJson, ModeJson];
      for (const m of out.modes) {
        // routing source + 5 floating IPs + 2 gateways
        expect(m).toMatchObject({ deadtimeS: 2, addresses: 8, probeIntervalMs: 20, capped: false });
      }
      expect(none.disconnectionS.median, r.stderr).toBeGreaterThan(10);
      expect(garp.overheadS.max, r.stderr).toBeLessThan(1);
      expect(garp.disconnectionS.median).toBeGreaterThanOrEqual(2);
    },
    180_000,
  );

  it('refuses to run without root, and says why', async () => {
    const r = await runCli(null, ['lab', '--modes', 'none'], { prefix: ['setpriv', '--reuid', '65534', '--regid', '65534', '--clear-groups'] });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/needs root/);
    expect(r.stdout).toBe('');
  });

  it('rejects bad options with exit 2 and documents itself', async () => {
    const bad = await runCli(null, ['lab', '--modes', 'none,garp']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown mode 'garp'/);
    const help = await runCli(null, ['lab', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--max-wait S/);
  });
});
