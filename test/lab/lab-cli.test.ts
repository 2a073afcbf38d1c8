import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

/**
 * The lab's option errors: checked before any work, one line in the style
 * `nova-garp lab: <what is wrong>; <what to do>`, exit 2, no parser text or stack trace. None of
 * these needs root: every check runs before the capability check.
 */
describe('nova-garp lab option errors', () => {
  const expectUsage = (r: { code: number | null; stdout: string; stderr: string }, what: RegExp): void => {
    expect(r.code, r.stderr).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^nova-garp lab: [^\n]+; [^\n]+\n$/);
    expect(r.stderr).not.toMatch(/nova-garp lab: nova-garp lab|ambiguous|at async|\bat [\w.]+ \(/);
    expect(r.stderr).toMatch(what);
  };

  it('a negative count is range-checked, not taken for an option', async () => {
    expectUsage(await runCli(null, ['lab', '--floating-ips', '-5']), /--floating-ips -5 is out of range; give a whole number from 0 to \d+/);
    expectUsage(await runCli(null, ['lab', '--samples', '-1', '--deadtimes', '2']), /--samples -1 is out of range; give a whole number from 1 to 20/);
  });

  it('--plot is checked before the run, not after it', async () => {
    const started = Date.now();
    const r = await runCli(null, ['lab', '--modes', 'none', '--plot', '/nonexistent-nova-garp/plot.svg']);
    expectUsage(r, /--plot: cannot write \/nonexistent-nova-garp\/plot\.svg/);
    // It did not run a failover first (that takes tens of seconds).
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(existsSync('/nonexistent-nova-garp')).toBe(false);
    expectUsage(await runCli(null, ['lab', '--plot', '/tmp']), /--plot: \/tmp is a directory/);
  });

  it('the HA options name what is allowed', async () => {
    expectUsage(await runCli(null, ['lab', '--ha', 'corosync']), /--ha: unknown manager 'corosync'; use one of simulated, heartbeat, pacemaker, keepalived/);
    expectUsage(await runCli(null, ['lab', '--ha', 'heartbeat', '--fault', 'reboot']), /--fault: unknown fault 'reboot'/);
    expectUsage(await runCli(null, ['lab', '--fault', 'kill']), /--fault kill needs a real manager/);
    expectUsage(await runCli(null, ['lab', '--deadtimes', '4,x']), /--deadtimes: 'x' is not a deadtime/);
    expectUsage(await runCli(null, ['lab', '--deadtime', '2', '--deadtimes', '4,3']), /exclude each other/);
    expectUsage(await runCli(null, ['lab', '--samples', '3']), /--samples needs --deadtimes/);
    expectUsage(await runCli(null, ['lab', '--floating-ips']), /--floating-ips needs a value/);
    expectUsage(await runCli(null, ['lab', '--bogus']), /unknown option '--bogus'; see 'nova-garp lab --help'$/m);
  });
});
