import { describe, expect, it } from 'vitest';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { missingRoot, requirement } from '../helpers/requirements.js';

const BENCH = fileURLToPath(new URL('../../dist/bench/burst/run.js', import.meta.url));
const missingTools = (): string | null => {
  const absent = ['gcc', 'tcpdump', 'arping'].filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
  return absent.length === 0 ? null : `needs ${absent.join(', ')} (scripts/bootstrap installs them)`;
};
const enabled = requirement('bench/burst smoke test', missingRoot() ?? missingTools());

// A smoke test of the benchmark itself (100 addresses, one pair, tiny arping baselines): it must run
// the floor and nova-garp, judge both at the receiver and write its JSON and plot. No timing is
// asserted; the figures are the benchmark's to report.
describe.runIf(enabled)('bench/burst (smoke)', () => {
  it('writes burst.json with the floor, nova-garp, their ratios and a curve, and the SVG plot', async () => {
    const out = await mkdtemp(join(tmpdir(), 'nova-garp-burst-smoke-'));
    try {
      const env = { ...process.env, BURST_SIZES: '100', BURST_REPEATS: '1', BURST_SERIAL_N: '1', BURST_PARALLEL_N: '5', BURST_OUT: out };
      await new Promise<void>((resolve, reject) =>
        execFile(process.execPath, [BENCH], { env, timeout: 50_000 }, (err, _stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve())),
      );
      const j = JSON.parse(await readFile(join(out, 'burst.json'), 'utf8')) as {
        sizes: { addresses: number; frames: number; ratio: Record<string, number>; warm: { ratio: Record<string, number> }; framesLost: Record<string, number> }[];
        curve: { addresses: number; floorUsPerAddress: number; novaGarpUsPerAddress: number; ratio: number }[];
      };
      expect(j.sizes).toHaveLength(1);
      const s = j.sizes[0]!;
      expect(s).toMatchObject({ addresses: 100, frames: 200, framesLost: { floor: 0, novaGarp: 0 } });
      for (const k of ['sender', 'cpu', 'wire']) expect(s.ratio[k]).toBeGreaterThan(0);
      expect(s.warm.ratio.sender).toBeGreaterThan(0);
      expect(j.curve).toHaveLength(1);
      expect(j.curve[0]!.addresses).toBe(100);
      expect(j.curve[0]!.novaGarpUsPerAddress).toBeGreaterThan(0);
      expect(j.curve[0]!.floorUsPerAddress).toBeGreaterThan(0);
      const svg = await readFile(join(out, 'burst-curve.svg'), 'utf8');
      expect(svg).toContain('<svg');
      expect(svg).toContain('kernel floor');
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  }, 60_000);
});
