/** Summary figures of a mode's outages. Pure. */

export interface Figures {
  median: number;
  p95: number;
  max: number;
}

/** Linear interpolation between closest ranks (the common "type 7" definition). */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export function figures(values: readonly number[]): Figures {
  const sorted = [...values].sort((a, b) => a - b);
  return { median: quantile(sorted, 0.5), p95: quantile(sorted, 0.95), max: sorted.length === 0 ? Number.NaN : sorted[sorted.length - 1]! };
}

export const round3 = (x: number): number => Math.round(x * 1000) / 1000;

export function mapFigures(f: Figures, fn: (x: number) => number): Figures {
  return { median: fn(f.median), p95: fn(f.p95), max: fn(f.max) };
}
