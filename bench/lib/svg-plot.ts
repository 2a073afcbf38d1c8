/**
 * A small, generic line plot for benchmark results: one or more named series of [x, y] points, a
 * linear or logarithmic x (and y) axis, a legend. A self-contained SVG with no scripts or external
 * fonts (the style of src/lab/plot.ts), to commit next to a README. Pure.
 *
 *   plotLines({ title, xLabel, yLabel, logX: true, series: [{ name: 'nova-garp', points: [[100, 4.2], ...] }] })
 */

export interface PlotSeries {
  name: string;
  points: readonly (readonly [number, number])[];
  /** A CSS colour; taken from a fixed palette in series order when absent. */
  color?: string;
  /** Dashed line (e.g. for a baseline). */
  dashed?: boolean;
}

export interface LinePlot {
  title: string;
  xLabel: string;
  yLabel: string;
  logX?: boolean;
  logY?: boolean;
  series: readonly PlotSeries[];
  /** Pixels; 720 × 420 unless given. */
  width?: number;
  height?: number;
  /** A line of small print under the x label (e.g. the machine and its load). */
  note?: string;
}

const PALETTE = ['#2b6cb0', '#c53030', '#2f855a', '#b7791f', '#6b46c1', '#4a5568'];
const LEFT = 78;
const RIGHT = 24;
const TOP = 44;
const BOTTOM = 62;

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const f1 = (x: number): string => (Math.round(x * 10) / 10).toString();

/** Tick step giving roughly 5–10 ticks over a span. */
function linearStep(span: number): number {
  const raw = span / 8;
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (raw <= m * p) return m * p;
  return 10 * p;
}

/** A compact label: 1000 → "1k", 50000 → "50k", 0.25 → "0.25". */
export function tickLabel(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e6 && a % 1e5 === 0) return `${Number((v / 1e6).toPrecision(3))}M`;
  if (a >= 1e3 && a % 100 === 0) return `${Number((v / 1e3).toPrecision(3))}k`;
  return String(Number(v.toPrecision(3)));
}

interface Axis {
  lo: number;
  hi: number;
  ticks: number[];
  log: boolean;
}

function axis(values: number[], log: boolean): Axis {
  const vs = log ? values.filter((v) => v > 0) : values;
  if (vs.length === 0) return { lo: log ? 1 : 0, hi: log ? 10 : 1, ticks: log ? [1, 10] : [0, 1], log };
  const min = Math.min(...vs);
  const max = Math.max(...vs);
  if (log) {
    const lo = 10 ** Math.floor(Math.log10(min));
    let hi = 10 ** Math.ceil(Math.log10(max));
    if (hi <= lo) hi = lo * 10;
    const decades = Math.round(Math.log10(hi / lo));
    const ticks: number[] = [];
    for (let d = lo; d <= hi * 1.0001; d *= 10) {
      ticks.push(d);
      if (decades <= 3 && d < hi) ticks.push(2 * d, 5 * d);
    }
    return { lo, hi, ticks, log };
  }
  const lo = Math.min(0, min);
  const span = max - lo || Math.abs(max) || 1;
  const step = linearStep(span * 1.05);
  const hi = Math.ceil((max + span * 0.05) / step) * step;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  return { lo, hi, ticks, log };
}

function scale(a: Axis, from: number, to: number): (v: number) => number {
  if (a.log) {
    const l0 = Math.log10(a.lo);
    const l1 = Math.log10(a.hi);
    return (v) => from + ((Math.log10(Math.max(v, a.lo)) - l0) / (l1 - l0)) * (to - from);
  }
  return (v) => from + ((v - a.lo) / (a.hi - a.lo)) * (to - from);
}

/** Renders the plot as an SVG document. Points with a non-finite coordinate (or ≤ 0 on a log axis) are left out. */
export function plotLines(p: LinePlot): string {
  const width = p.width ?? 720;
  const height = p.height ?? 420;
  const ok = (v: number, log: boolean | undefined): boolean => Number.isFinite(v) && (!log || v > 0);
  const series = p.series.map((s, i) => ({
    ...s,
    color: s.color ?? PALETTE[i % PALETTE.length]!,
    points: s.points.filter(([x, y]) => ok(x, p.logX) && ok(y, p.logY)).sort((a, b) => a[0] - b[0]),
  }));
  const xs = series.flatMap((s) => s.points.map((q) => q[0]));
  const ys = series.flatMap((s) => s.points.map((q) => q[1]));
  const ax = axis(xs, p.logX ?? false);
  const ay = axis(ys, p.logY ?? false);
  const plotW = width - LEFT - RIGHT;
  const plotH = height - TOP - BOTTOM;
  const x = scale(ax, LEFT, LEFT + plotW);
  const y = scale(ay, TOP + plotH, TOP);

  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${esc(p.title)}</text>`,
    `<rect x="${LEFT}" y="${TOP}" width="${plotW}" height="${plotH}" fill="#f7f7f7" stroke="#999"/>`,
  ];
  for (const t of ax.ticks) {
    const tx = f1(x(t));
    out.push(`<line x1="${tx}" y1="${TOP}" x2="${tx}" y2="${TOP + plotH}" stroke="#e0e0e0"/>`);
    out.push(`<line x1="${tx}" y1="${TOP + plotH}" x2="${tx}" y2="${TOP + plotH + 5}" stroke="#333"/>`);
    out.push(`<text x="${tx}" y="${TOP + plotH + 18}" text-anchor="middle">${tickLabel(t)}</text>`);
  }
  for (const t of ay.ticks) {
    const ty = f1(y(t));
    out.push(`<line x1="${LEFT}" y1="${ty}" x2="${LEFT + plotW}" y2="${ty}" stroke="#e0e0e0"/>`);
    out.push(`<line x1="${LEFT - 5}" y1="${ty}" x2="${LEFT}" y2="${ty}" stroke="#333"/>`);
    out.push(`<text x="${LEFT - 8}" y="${f1(y(t) + 4)}" text-anchor="end">${tickLabel(t)}</text>`);
  }
  out.push(`<text x="${LEFT + plotW / 2}" y="${TOP + plotH + 38}" text-anchor="middle">${esc(p.xLabel)}${p.logX ? ' (log scale)' : ''}</text>`);
  out.push(
    `<text transform="translate(18 ${TOP + plotH / 2}) rotate(-90)" text-anchor="middle">${esc(p.yLabel)}${p.logY ? ' (log scale)' : ''}</text>`,
  );
  if (p.note) out.push(`<text x="${LEFT + plotW / 2}" y="${TOP + plotH + 54}" text-anchor="middle" font-size="10" fill="#555">${esc(p.note)}</text>`);

  for (const s of series) {
    if (s.points.length === 0) continue;
    const d = s.points.map(([px, py], i) => `${i === 0 ? 'M' : 'L'}${f1(x(px))} ${f1(y(py))}`).join('');
    out.push(`<path d="${d}" stroke="${s.color}" stroke-width="2" fill="none"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    for (const [px, py] of s.points) out.push(`<circle cx="${f1(x(px))}" cy="${f1(y(py))}" r="3.5" fill="${s.color}"/>`);
  }
  // Legend, top right inside the plot area.
  const lw = 16 + Math.max(...series.map((s) => s.name.length), 4) * 7;
  const lx = LEFT + plotW - lw - 10;
  out.push(`<rect x="${lx - 6}" y="${TOP + 6}" width="${lw + 12}" height="${series.length * 18 + 8}" fill="white" stroke="#ccc"/>`);
  series.forEach((s, i) => {
    const ly = TOP + 20 + i * 18;
    out.push(`<line x1="${lx}" y1="${ly - 4}" x2="${lx + 14}" y2="${ly - 4}" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="4 3"' : ''}/>`);
    out.push(`<text x="${lx + 20}" y="${ly}">${esc(s.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
