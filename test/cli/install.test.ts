import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The README's production install, as an operator runs it: `npm pack` in a checkout, the tarball
 * unpacked in an empty /opt/nova-garp-like directory, `npm ci --omit=dev` there. The packages come
 * from npm's cache (`--offline`), filled by the checkout's own `npm ci`: no registry needed.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const exec = promisify(execFile);

describe('production install from an npm pack tarball with --omit=dev', () => {
  let dir: string;
  let opt: string;
  let tarball: string;
  let ciOutput: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ng-install-'));
    const packed = await exec('npm', ['pack', '--pack-destination', dir, '--json', '--ignore-scripts=false'], { cwd: ROOT, timeout: 240_000, maxBuffer: 16 * 1024 * 1024 });
    const info = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as Array<{ filename: string }>;
    tarball = join(dir, info[0]!.filename);
    opt = join(dir, 'opt', 'nova-garp');
    await mkdir(opt, { recursive: true });
    await exec('tar', ['-xzf', tarball, '-C', opt, '--strip-components=1']);
    const ci = await exec('npm', ['ci', '--omit=dev', '--offline', '--no-audit', '--no-fund'], { cwd: opt, timeout: 240_000 });
    ciOutput = ci.stdout + ci.stderr;
  }, 480_000);

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('the tarball carries the compiled code and the pinned dependency tree, not the tests', async () => {
    const { stdout } = await exec('tar', ['-tzf', tarball]);
    const files = stdout.split('\n');
    for (const f of ['package/bin/nova-garp', 'package/dist/src/cli/main.js', 'package/dist/migrations/index.js', 'package/npm-shrinkwrap.json', 'package/patches/nova_garp_hook.py', 'package/contrib/nova-garp.service', 'package/contrib/nova-garp.env']) {
      expect(files, f).toContain(f);
    }
    expect(files.filter((f) => f.startsWith('package/test/') || /^package\/src\/.*\.ts$/.test(f))).toEqual([]);
    // The tools (lab, db, seed, netns helpers, capture) stay in the checkout.
    expect(files.filter((f) => /^package\/(dist\/)?tools\//.test(f))).toEqual([]);
    // prepack's copy of the lockfile is removed again by postpack.
    expect(existsSync(join(ROOT, 'npm-shrinkwrap.json'))).toBe(false);
  });

  it("npm ci --omit=dev succeeds: prepare does not need TypeScript, and no dev tool is installed", async () => {
    expect(ciOutput).toMatch(/nova-garp: no TypeScript \(--omit=dev\): using the dist\/ that came with the package/);
    const installed = await readdir(join(opt, 'node_modules'));
    for (const dev of ['typescript', 'vitest', 'eslint', 'testcontainers', 'typescript-eslint']) expect(installed).not.toContain(dev);
    for (const dep of ['amqplib', 'koffi', 'kysely', 'mysql2', 'pino', 'prom-client']) expect(installed).toContain(dep);
  });

  it('the installed CLI runs: version, each command loads, status says down without a sidecar', async () => {
    const bin = join(opt, 'bin', 'nova-garp');
    expect((await exec(bin, ['--version'])).stdout).toBe('nova-garp 0.1.0\n');
    for (const c of ['announce', 'plan', 'serve', 'status', 'reannounce']) {
      const { stdout } = await exec(bin, [c, '--help']);
      expect(stdout, c).toMatch(/^Usage: nova-garp /);
    }
    const lab = await exec(bin, ['lab', '--help']).then(() => 0, (err: { code: number }) => err.code);
    expect(lab, 'the package carries no lab').toBe(2);
    const down = await exec(bin, ['status', '--control-socket', join(dir, 'none.sock')]).then(
      () => ({ code: 0 }),
      (err: { code: number; stdout: string }) => err,
    );
    expect(down.code).toBe(2);
  });
});
