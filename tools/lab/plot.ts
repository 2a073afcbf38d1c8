import type { ModeRun } from './report.js';
import { MODE_INFO } from './modes.js';

/**
 * `--plot FILE.svg`: one panel per mode, one horizontal bar per address from its last reply
 * before t0 to its first reply after, in init_host order (so nova's serial arping shows as a
 * staircase). A self-contained SVG with no scripts or external fonts, to paste into a report. Pure.
 */

const WIDTH = 900;
const LEFT = 150;
const RIGHT = 30;
const PANEL = 130;
const GAP = 34;
const TOP = 46;
const BOTTOM = 44;

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const f1 = (x: number): string => (Math.round(x * 10) / 10).toString();

/** Tick step giving 5–10 ticks over [0, max]. */
export function tickStep(max: number): number {
  const raw = max / 8;
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (raw <= m * p) return m * p;
  return 10 * p;
}

export function renderPlot(runs: ModeRun[], title: string): string {
  const xmaxS = Math.max(1, ...runs.flatMap((r) => r.outages.map((o) => outageEnd(o, r) / 1000))) * 1.04;
  const plotW = WIDTH - LEFT - RIGHT;
  const x = (s: number): number => LEFT + (Math.max(0, s) / xmaxS) * plotW;
  const height = TOP + runs.length * (PANEL + GAP) + BOTTOM;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${WIDTH / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${esc(title)}</text>`,
  ];
  const step = tickStep(xmaxS);
  runs.forEach((r, p) => {
    const top = TOP + p * (PANEL + GAP);
    const n = Math.max(1, r.outages.length);
    const row = PANEL / n;
    out.push(`<rect x="${LEFT}" y="${top}" width="${plotW}" height="${PANEL}" fill="#f7f7f7" stroke="#999"/>`);
    for (let t = step; t < xmaxS; t += step) out.push(`<line x1="${f1(x(t))}" y1="${top}" x2="${f1(x(t))}" y2="${top + PANEL}" stroke="#e0e0e0"/>`);
    const dx = x(r.deadtimeMs / 1000);
    out.push(`<line x1="${f1(dx)}" y1="${top - 4}" x2="${f1(dx)}" y2="${top + PANEL}" stroke="#555" stroke-dasharray="4 3"/>`);
    out.push(`<text x="${LEFT - 8}" y="${top + PANEL / 2 - 4}" text-anchor="end" font-weight="bold">${esc(r.mode)}</text>`);
    out.push(`<text x="${LEFT - 8}" y="${top + PANEL / 2 + 12}" text-anchor="end" fill="#555">${r.outages.length} addresses</text>`);
    const ok: string[] = [];
    const dark: string[] = [];
    r.outages.forEach((o, i) => {
      const y = f1(top + (i + 0.5) * row);
      const from = o.lastBefore === null ? 0 : (o.lastBefore - r.t0) / 1000;
      (o.capped ? dark : ok).push(`M${f1(x(from))} ${y}H${f1(x(outageEnd(o, r) / 1000))}`);
    });
    const sw = Math.min(6, Math.max(0.6, row * 0.8)).toFixed(2);
    if (ok.length > 0) out.push(`<path d="${ok.join('')}" stroke="#2b6cb0" stroke-width="${sw}" fill="none"/>`);
    if (dark.length > 0) out.push(`<path d="${dark.join('')}" stroke="#c53030" stroke-width="${sw}" fill="none"/>`);
    out.push(`<text x="${LEFT + 4}" y="${top - 6}" fill="#333">${esc(MODE_INFO[r.mode].announces)}${dark.length > 0 ? ' (red: still dark at --max-wait)' : ''}</text>`);
  });
  const axisY = TOP + runs.length * (PANEL + GAP) - GAP + 4;
  for (let t = 0; t < xmaxS; t += step) {
    out.push(`<line x1="${f1(x(t))}" y1="${axisY - 4}" x2="${f1(x(t))}" y2="${axisY + 2}" stroke="#333"/>`);
    out.push(`<text x="${f1(x(t))}" y="${axisY + 16}" text-anchor="middle">${Number(t.toPrecision(6))}</text>`);
  }
  out.push(
    `<text x="${LEFT + plotW / 2}" y="${axisY + 34}" text-anchor="middle">seconds after t0 (primary dies); dashed: deadtime; bar: no echo reply</text>`,
  );
  out.push('</svg>');
  return out.join('\n') + '\n';
}

function outageEnd(o: { lastBefore: number | null; disconnectionMs: number }, r: ModeRun): number {
  const start = o.lastBefore === null ? 0 : o.lastBefore - r.t0;
  return start + o.disconnectionMs;
}
