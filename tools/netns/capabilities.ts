import { readFileSync } from 'node:fs';

/** The capabilities namespace work needs: create/enter namespaces, configure links, raw sockets. */
const NEEDED: ReadonlyArray<[name: string, bit: number]> = [
  ['CAP_NET_ADMIN', 12],
  ['CAP_NET_RAW', 13],
  ['CAP_SYS_ADMIN', 21],
];

/** Pure: which of NEEDED are absent from a `CapEff:` hex mask. */
export function missingCapabilities(capEffHex: string): string[] {
  const mask = BigInt(`0x${capEffHex.trim() || '0'}`);
  return NEEDED.filter(([, bit]) => (mask & (1n << BigInt(bit))) === 0n).map(([name]) => name);
}

/**
 * Checks the effective capabilities rather than the uid: root without CAP_SYS_ADMIN (a
 * restricted container, a capability-dropping wrapper) cannot build a lab either.
 */
export function missingCapabilitiesOfThisProcess(): string[] {
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    return missingCapabilities(/^CapEff:\s*([0-9a-f]+)/m.exec(status)?.[1] ?? '0');
  } catch {
    return process.getuid?.() === 0 ? [] : NEEDED.map(([name]) => name);
  }
}
