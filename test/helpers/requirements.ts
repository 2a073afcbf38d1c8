/**
 * Gates for suites that need root, a database or a broker. Outside CI a missing requirement skips
 * the suite with a loud banner; under CI=true it fails the run, so a green CI always means the
 * suite executed.
 */
export function requirement(suite: string, missing: string | null): boolean {
  if (missing === null) return true;
  if (process.env.CI === 'true') {
    throw new Error(`${suite} must run under CI=true but cannot: ${missing}`);
  }
  const bar = '!'.repeat(78);
  console.warn(`\n${bar}\nSKIPPED ${suite}: ${missing}\n${bar}\n`);
  return false;
}

export function missingRoot(): string | null {
  return process.getuid?.() === 0 ? null : 'needs root (network namespaces, raw sockets)';
}
