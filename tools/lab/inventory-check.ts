/** A target as the sidecar's status reports it (kind as text). */
export interface TargetLike {
  kind: string;
  address: string;
  interface: string;
}

/** `kind address on interface`: one target in words. */
export function targetKey(t: TargetLike): string {
  return `${t.kind} ${t.address} on ${t.interface}`;
}

/** Pure: which expected targets a sidecar's inventory lacks, and which it has beyond them. */
export function compareTargets(expected: readonly TargetLike[], actual: readonly TargetLike[]): { missing: string[]; extra: string[] } {
  const want = new Set(expected.map(targetKey));
  const have = new Set(actual.map(targetKey));
  return { missing: [...want].filter((k) => !have.has(k)), extra: [...have].filter((k) => !want.has(k)) };
}
