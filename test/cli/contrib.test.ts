import { spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, runCli } from '../helpers/cli.js';
import { missingRoot, requirement } from '../helpers/requirements.js';

/**
 * contrib/nova-garp.service and contrib/nova-garp.env are glue an operator copies as is: what they
 * promise is checked here against the real CLI (no systemd needed: the unit's capability set is
 * applied with setpriv, the environment file's variables are looked up in the sources).
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const unitText = await readFile(join(ROOT, 'contrib', 'nova-garp.service'), 'utf8');
const envText = await readFile(join(ROOT, 'contrib', 'nova-garp.env'), 'utf8');

/** `Key=value` lines of a unit's section, in order (repeated keys kept). */
function directives(text: string): Array<[string, string]> {
  return text
    .split('\n')
    .filter((l) => /^[A-Za-z]+=/.test(l))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as [string, string]);
}

async function sourceText(dir: string): Promise<string> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(await sourceText(p));
    else if (e.name.endsWith('.ts')) out.push(await readFile(p, 'utf8'));
  }
  return out.join('\n');
}

describe('contrib/nova-garp.env', () => {
  it('names only variables nova-garp reads (commented examples included)', async () => {
    const src = await sourceText(join(ROOT, 'src'));
    const names = [...new Set([...envText.matchAll(/^#?(NOVA_GARP_[A-Z_]+)=/gm)].map((m) => m[1]!))];
    expect(names.length).toBeGreaterThan(8);
    for (const n of names.filter((x) => x !== 'NOVA_GARP_SERVE_ARGS')) expect(src.includes(`'${n}'`) || src.includes(`.${n}`), n).toBe(true);
    // NOVA_GARP_SERVE_ARGS is the unit's, not the program's.
    expect(unitText).toMatch(/^ExecStart=\/opt\/nova-garp\/bin\/nova-garp serve \$NOVA_GARP_SERVE_ARGS$/m);
  });

  it("its example serve flags pass serve's checks (only the deliberately bad flag after them is refused)", async () => {
    const example = /^#NOVA_GARP_SERVE_ARGS=(.*)$/m.exec(envText)?.[1];
    expect(example).toBeDefined();
    // systemd splits an unbraced $VAR on whitespace.
    const words = example!.trim().split(/\s+/);
    const r = await runCli(null, ['serve', ...words, '--metrics-listen', 'nowhere']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe("nova-garp serve: --metrics-listen 'nowhere' is not host:port; give e.g. 127.0.0.1:9469, [::1]:9469 or off");
  });

  it('is what the unit loads, optionally', () => {
    const d = directives(unitText);
    expect(d).toContainEqual(['EnvironmentFile', '-/etc/default/nova-garp']);
    expect(d).toContainEqual(['Environment', 'NOVA_GARP_NOVA_CONFIG=/etc/nova/nova.conf']);
  });
});

const asRoot = requirement('contrib/nova-garp.service capability set (setpriv)', missingRoot());

describe.runIf(asRoot)("contrib/nova-garp.service: serve starts with the unit's capabilities and nothing more", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ng-unit-'));
    await writeFile(join(dir, 'nova.conf'), '[DEFAULT]\nhost = unithost\n');
    await writeFile(join(dir, 'inventory.json'), JSON.stringify({ targets: [] }));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** `CapabilityBoundingSet=CAP_NET_RAW CAP_CHOWN` → `-all,+net_raw,+chown` for setpriv. */
  function boundingSet(extraDrop: string[] = []): string {
    const caps = (directives(unitText).find(([k]) => k === 'CapabilityBoundingSet')?.[1] ?? '').split(/\s+/).filter((c) => c !== '');
    expect(caps).toContain('CAP_NET_RAW');
    return ['-all', ...caps.map((c) => c.replace(/^CAP_/, '').toLowerCase()).filter((c) => !extraDrop.includes(c)).map((c) => `+${c}`)].join(',');
  }

  /** Runs serve as root restricted to `caps`, the control socket handed to gid 4242 (as to nova's group). */
  function serveWith(caps: string, socket: string): Promise<{ ready: boolean; stderr: string; gid: number | null }> {
    const child = spawn(
      'setpriv',
      ['--bounding-set', caps, process.execPath, BIN, 'serve', '--nova-config', join(dir, 'nova.conf'), '--inventory', join(dir, 'inventory.json'), '--no-amqp', '--metrics-listen', 'off', '--control-socket', socket, '--control-group', '4242'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const lines: string[] = [];
    let ready = false;
    let gid: number | null = null;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`serve neither ready nor exited within 20 s:\n${lines.join('\n')}`));
      }, 20_000);
      createInterface({ input: child.stderr }).on('line', (line) => {
        lines.push(line);
        if (!line.includes('"msg":"ready"')) return;
        void stat(socket)
          .then((st) => st.gid)
          .catch(() => null)
          .then((g) => {
            gid = g;
            ready = true;
            child.kill('SIGTERM');
          });
      });
      child.once('exit', () => {
        clearTimeout(timer);
        resolve({ ready, stderr: lines.join('\n'), gid });
      });
    });
  }

  it('with CapabilityBoundingSet as shipped: ready, socket owned by the control group', async () => {
    const r = await serveWith(boundingSet(), join(dir, 'ok.sock'));
    expect(r.ready, r.stderr).toBe(true);
    expect(r.gid).toBe(4242);
  });

  it('without CAP_CHOWN it could not hand the socket to nova (why the unit keeps it)', async () => {
    const r = await serveWith(boundingSet(['chown']), join(dir, 'nochown.sock'));
    expect(r.ready).toBe(false);
    expect(r.stderr).toMatch(/^nova-garp serve: cannot start: EPERM: operation not permitted, chown .*; fix that and start again$/m);
  });
});
