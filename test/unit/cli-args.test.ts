import { describe, expect, it } from 'vitest';
import { choiceOption, intOption, numberOption, parseCommandArgs, suggestFlag, type OptionSpec } from '../../src/cli/args.js';
import { UsageError } from '../../src/cli/exit-codes.js';
import { resolveSettings, SettingsError } from '../../src/nova/settings.js';
import { parseNovaConf } from '../../src/nova/nova-conf.js';

const SPEC: OptionSpec = {
  rounds: { type: 'string' },
  'floating-ips': { type: 'string' },
  'db-timeout-ms': { type: 'string' },
  address: { type: 'string', short: 'a', multiple: true },
  json: { type: 'boolean' },
};

/** The message of the UsageError `fn` throws (fails the test when it throws nothing or something else). */
function usageMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).exitCode).toBe(2);
    return (err as Error).message;
  }
  throw new Error('expected a UsageError');
}

/** "<what is wrong>; <what to do>", without the command prefix (main adds it once). */
const STYLE = /^(?!nova-garp )[^;]+; .+$/;

describe('parse errors in the common style, never node:util texts', () => {
  it.each([
    [['--bogus'], /^unknown option '--bogus'; see 'nova-garp x --help'$/],
    [['--round', '3'], /^unknown option '--round'; did you mean --rounds\? /],
    [['--rounds'], /^--rounds needs a value; write --rounds VALUE/],
    [['--json=yes'], /^--json takes no value; write --json alone/],
    [['stray'], /^unexpected argument 'stray'; nova-garp x takes options only/],
    [['--rounds', '--json'], /^--rounds needs a value, and what follows it looks like an option; write --rounds=VALUE/],
  ])('%j', (argv, expected) => {
    const msg = usageMessage(() => parseCommandArgs('x', argv, SPEC));
    expect(msg).toMatch(expected);
    expect(msg).toMatch(STYLE);
    expect(msg).not.toMatch(/Option '|To specify|Unknown option|argument missing/);
  });

  it('a negative number after a flag is its value, so the range check speaks (not "ambiguous")', () => {
    const { values } = parseCommandArgs<{ 'floating-ips'?: string; address?: string[] }>('x', ['--floating-ips', '-5', '-a', '-1'], SPEC);
    expect(values['floating-ips']).toBe('-5');
    expect(values.address).toEqual(['-1']);
    expect(usageMessage(() => intOption('floating-ips', values['floating-ips'], 0, 1000))).toBe('--floating-ips -5 is out of range; give a whole number from 0 to 1000');
  });

  it('keeps a deprecated name working, moved to the new one, and refuses both at once', () => {
    const { values } = parseCommandArgs<Record<string, unknown>>('x', ['--db-timeout', '900'], SPEC, false, { 'db-timeout': 'db-timeout-ms' });
    expect(values).toEqual({ 'db-timeout-ms': '900' });
    expect(usageMessage(() => parseCommandArgs('x', ['--db-timeout', '1', '--db-timeout-ms', '2'], SPEC, false, { 'db-timeout': 'db-timeout-ms' }))).toBe(
      '--db-timeout and --db-timeout-ms are the same option; give only --db-timeout-ms',
    );
  });

  it('suggests only close flags', () => {
    expect(suggestFlag('--db-timeout', ['db-timeout-ms', 'json'])).toBe('--db-timeout-ms');
    expect(suggestFlag('--jsno', ['db-timeout-ms', 'json'])).toBe('--json');
    expect(suggestFlag('--frobnicate', ['db-timeout-ms', 'json'])).toBeNull();
  });
});

describe('value checks', () => {
  it('numbers and choices say what is wrong and what to give, naming the flag or the variable', () => {
    expect(usageMessage(() => intOption('rounds', 'abc', 1, 100))).toBe("--rounds 'abc' is not a whole number; give one from 1 to 100");
    expect(usageMessage(() => intOption('db-timeout-ms', '5', 50, 600000, 'NOVA_GARP_DB_TIMEOUT_MS'))).toBe(
      'NOVA_GARP_DB_TIMEOUT_MS 5 is out of range; give a whole number from 50 to 600000',
    );
    expect(usageMessage(() => numberOption('deadtime', 'x', 0, 600))).toBe("--deadtime 'x' is not a number; give one from 0 to 600");
    expect(usageMessage(() => choiceOption('form', 'both2', ['request', 'reply', 'both']))).toBe("--form 'both2' is not valid; give one of request, reply, both");
    expect(intOption('rounds', undefined, 1, 100)).toBeUndefined();
    expect(intOption('rounds', '7', 1, 100)).toBe(7);
  });
});

describe('a bad --my-ip is blamed on the flag, a bad nova.conf my_ip on nova.conf', () => {
  const facts = { hostname: 'h', defaultRouteIp: '192.0.2.9' };
  const settingsError = (fn: () => unknown): string => {
    try {
      fn();
    } catch (err) {
      expect(err).toBeInstanceOf(SettingsError);
      return (err as Error).message;
    }
    throw new Error('expected a SettingsError');
  };

  it('flag and environment', () => {
    expect(settingsError(() => resolveSettings(null, {}, { myIp: 'notanip' }, facts))).toBe("--my-ip 'notanip' is not an IP address; give this host's IPv4 or IPv6 address");
    expect(settingsError(() => resolveSettings(null, { myIp: '10.0.0' }, {}, facts))).toBe("NOVA_GARP_MY_IP '10.0.0' is not an IP address; give this host's IPv4 or IPv6 address");
    expect(settingsError(() => resolveSettings(null, {}, { routingSourceIp: 'x' }, facts))).toMatch(/^--routing-source-ip 'x' is not an IP address; /);
    expect(settingsError(() => resolveSettings(null, {}, { rabbitPort: '99999' }, facts))).toBe("--rabbit-port '99999' is not a port number; give one from 1 to 65535");
    expect(settingsError(() => resolveSettings(null, {}, { databaseUrl: 'sqlite:///nova.sqlite' }, facts))).toMatch(/^--db-url: .*not supported; /);
    expect(settingsError(() => resolveSettings(null, {}, { host: '' }, facts))).toMatch(/^--host '' is not a host name; /);
  });

  it('a nova.conf value is not a flag error (derive-targets reports it with its source)', () => {
    const conf = parseNovaConf('[DEFAULT]\nmy_ip = notanip\n', '/etc/nova/nova.conf');
    expect(() => resolveSettings(conf, {}, {}, facts)).not.toThrow();
    // A flag fixes it, and the flag's value is what is used.
    expect(resolveSettings(conf, {}, { myIp: '192.0.2.7' }, facts).routingSourceIp).toBe('192.0.2.7');
  });
});

describe('serve path and endpoint checks', () => {
  it('--metrics-listen: host:port, [v6]:port or off', async () => {
    const { checkListen } = await import('../../src/cli/flag-checks.js');
    for (const ok of ['127.0.0.1:9469', '[::1]:9469', 'localhost:0', '0.0.0.0:65535', 'off']) expect(() => checkListen('--metrics-listen', ok), ok).not.toThrow();
    for (const bad of ['9469', ':9469', '127.0.0.1:70000', '127.0.0.1', 'a b:1']) {
      expect(usageMessage(() => checkListen('--metrics-listen', bad))).toBe(`--metrics-listen '${bad}' is not host:port; give e.g. 127.0.0.1:9469, [::1]:9469 or off`);
    }
  });
});
