// The benchmark's SVG charts: drawn from the figures given, labels escaped, bad figures refused.
import { describe, expect, it } from 'vitest';
import { barChart } from '../../bench/charts.js';

const widths = (svg: string) => [...svg.matchAll(/<rect x="\d+" y="\d+" width="([\d.]+)"/g)].map((m) => Number(m[1]));

describe('barChart', () => {
  it('draws one bar per figure, lengths in proportion, each value written beside it', () => {
    const svg = barChart(
      'p50',
      [
        { label: 'caisson', value: 200, ours: true },
        { label: 'docker run', value: 100 },
      ],
      (v) => `${v} ms`,
    );
    const [ours, baseline] = widths(svg);
    expect(ours! / baseline!).toBeCloseTo(2, 5);
    expect(svg).toContain('>200 ms</text>');
    expect(svg).toContain('>100 ms</text>');
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
  });

  it('escapes labels: a phase name is text, never markup', () => {
    const svg = barChart('<t>', [{ label: 'a <b> & "c"', value: 1 }], String);
    expect(svg).toContain('a &lt;b&gt; &amp; &quot;c&quot;');
    expect(svg).toContain('&lt;t&gt;');
    expect(svg).not.toContain('<b>');
  });

  it('refuses a figure that is not a finite number ≥ 0, naming the bar', () => {
    expect(() => barChart('t', [{ label: 'x', value: NaN }], String)).toThrow(/bar "x" has value NaN/);
    expect(() => barChart('t', [{ label: 'y', value: -1 }], String)).toThrow(/bar "y"/);
    expect(() => barChart('t', [], String)).toThrow(/no bars/);
  });
});
