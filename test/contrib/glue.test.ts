import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { requirement } from '../helpers/requirements.js';
import { haresourcesLine } from '../../tools/lab/ha.js';

/**
 * The HA glue in contrib/ against the real tools: Debian's ocf-tester for the OCF agent,
 * keepalived's own config check for the example, and the LSB contract heartbeat relies on. The
 * lab (test/lab/ha.test.ts, docs/lab.md) runs the same files under the real managers.
 */

const has = (tool: string): boolean => spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0;
const ocfTester = requirement('OCF agent under ocf-tester', has('ocf-tester') ? null : 'ocf-tester is not installed (package resource-agents; scripts/bootstrap installs it)');
const keepalived = requirement('keepalived.conf example check', has('keepalived') ? null : 'keepalived is not installed (scripts/bootstrap installs it)');

const repo = (p: string): string => new URL(`../../${p}`, import.meta.url).pathname;
const LSB = repo('contrib/heartbeat/nova-network');
const OCF = repo('contrib/pacemaker/nova-network');

const dir = mkdtempSync(join(tmpdir(), 'nova-garp-glue-'));
afterAll(() => {
  // A stand-in left running by a failed assertion.
  spawnSync('sh', ['-c', `test -f ${dir}/pid && kill $(cat ${dir}/pid)`]);
  rmSync(dir, { recursive: true, force: true });
});

/** A configuration whose "nova-network" is a real long-running process (sleep), tracked by pid file. */
function conf(name: string): string {
  const pid = join(dir, 'pid');
  const file = join(dir, name);
  writeFileSync(
    file,
    [
      `NOVA_NETWORK_START="setsid sleep 600 >/dev/null 2>&1 </dev/null & echo \\$! > ${pid}"`,
      `NOVA_NETWORK_STOP="kill \\$(cat ${pid}) && rm -f ${pid}"`,
      `NOVA_NETWORK_STATUS="test -f ${pid} && kill -0 \\$(cat ${pid})"`,
      '',
    ].join('\n'),
  );
  return file;
}

describe('contrib HA glue', () => {
  it('heartbeat resource script: LSB start/stop/status, with the configuration as heartbeat passes it', () => {
    const c = conf('lsb.conf');
    const run = (...args: string[]): { code: number | null; out: string } => {
      const r = spawnSync(LSB, args, { encoding: 'utf8' });
      return { code: r.status, out: r.stdout.trim() };
    };
    expect(run(c, 'status')).toEqual({ code: 3, out: 'stopped' });
    expect(run(c, 'start').code).toBe(0);
    expect(run(c, 'status')).toEqual({ code: 0, out: 'running' });
    // Starting a running resource succeeds (heartbeat may do so after a split brain).
    expect(run(c, 'start')).toEqual({ code: 0, out: 'nova-network: already running' });
    expect(run(c, 'stop').code).toBe(0);
    expect(run(c, 'status')).toEqual({ code: 3, out: 'stopped' });
    expect(run(c, 'stop').code).toBe(0);
    expect(run(c, 'bogus').code).toBe(2);
  });

  it('haresources example: the lab derives its resource line from it', () => {
    const example = readFileSync(repo('contrib/heartbeat/haresources'), 'utf8');
    expect(haresourcesLine(example, 'net1', '/run/x.conf')).toBe('net1 nova-network::/run/x.conf');
  });

  it.runIf(ocfTester)('OCF agent passes ocf-tester', () => {
    const c = conf('ocf.conf');
    // ocf-tester refuses an agent it cannot reach as another user ("too restrictive permissions"),
    // and a checkout may sit under a private directory (mktemp -d is 0700): test a copy in a
    // directory anyone may traverse.
    chmodSync(dir, 0o755);
    const agent = join(dir, 'nova-network');
    copyFileSync(OCF, agent);
    chmodSync(agent, 0o755);
    const r = spawnSync('ocf-tester', ['-n', 'nova-network', '-o', `config=${c}`, agent], { encoding: 'utf8' });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/passed all tests/);
  });

  it('OCF agent: a missing configuration file is a configuration error (6), not a crash', () => {
    const r = spawnSync(OCF, ['monitor'], { env: { ...process.env, OCF_RESKEY_config: join(dir, 'absent.conf') } });
    expect(r.status).toBe(6);
    const meta = execFileSync(OCF, ['meta-data']).toString();
    expect(meta).toMatch(/<resource-agent name="nova-network"/);
  });

  it.runIf(keepalived)('keepalived.conf example passes keepalived --config-test', () => {
    const r = spawnSync('keepalived', ['--config-test', '-f', repo('contrib/keepalived/keepalived.conf'), '-l', '-n'], { encoding: 'utf8' });
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });
});
