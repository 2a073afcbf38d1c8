import { describe, expect, it } from 'vitest';
import { plotLines, tickLabel } from '../../bench/lib/svg-plot.js';

describe('bench/lib/svg-plot', () => {
  it('draws one path per series with a legend entry, on a log x axis with decade ticks', () => {
    const svg = plotLines({
      title: 'time per address',
      xLabel: 'addresses',
      yLabel: 'µs per address',
      logX: true,
      series: [
        { name: 'nova-garp', points: [[100, 9], [1000, 5], [10000, 4.4]] },
        { name: 'floor <C>', points: [[100, 6], [1000, 4], [10000, 4]], dashed: true },
      ],
    });
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg.match(/<path /g)).toHaveLength(2);
    expect(svg).toContain('floor &lt;C&gt;');
    expect(svg).toContain('stroke-dasharray="6 4"');
    expect(svg).toContain('>1k<');
    expect(svg).toContain('>10k<');
    expect(svg).toContain('(log scale)');
    expect(svg).not.toContain('NaN');
  });

  it('leaves out points a log axis cannot show and copes with an empty series', () => {
    const svg = plotLines({ title: 't', xLabel: 'x', yLabel: 'y', logX: true, series: [{ name: 'a', points: [[0, 1], [10, 2]] }, { name: 'b', points: [] }] });
    expect(svg).not.toContain('NaN');
    expect(svg.match(/<circle /g)).toHaveLength(1);
  });

  it('labels ticks compactly', () => {
    expect(tickLabel(100)).toBe('100');
    expect(tickLabel(1000)).toBe('1k');
    expect(tickLabel(50000)).toBe('50k');
    expect(tickLabel(0.25)).toBe('0.25');
  });
});
