// Bar charts of the benchmark's figures as SVG, drawn from the same run's data and embedded in
// RESULTS.md: a reader sees at a glance how far Caisson is from `docker run`, and where its time goes.
// Plain SVG text, no library: every label is escaped, every value is a number the run measured.

export interface Bar {
  label: string;
  value: number;
  /** Highlighted: the product's own bar, against its baselines. */
  ours?: boolean;
}

const WIDTH = 720;
const LABEL_WIDTH = 300;
const BAR_HEIGHT = 22;
const GAP = 8;
const TOP = 36;
const OURS = '#2f6fb3';
const BASELINE = '#9aa5b1';

const escapeXml = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);

/** A horizontal bar chart; `format` writes each bar's value beside it. */
export function barChart(title: string, bars: Bar[], format: (value: number) => string): string {
  if (!bars.length) throw new Error(`chart "${title}" has no bars`);
  for (const bar of bars) {
    if (!Number.isFinite(bar.value) || bar.value < 0)
      throw new Error(`chart "${title}": bar "${bar.label}" has value ${bar.value}, not a finite number ≥ 0`);
  }
  const most = Math.max(...bars.map((b) => b.value)) || 1;
  const room = WIDTH - LABEL_WIDTH - 90;
  const height = TOP + bars.length * (BAR_HEIGHT + GAP) + GAP;
  const rows = bars.map((bar, i) => {
    const y = TOP + i * (BAR_HEIGHT + GAP);
    const width = Math.max(1, (bar.value / most) * room);
    const text = y + BAR_HEIGHT / 2 + 5;
    return [
      `<text x="${LABEL_WIDTH - 8}" y="${text}" text-anchor="end">${escapeXml(bar.label)}</text>`,
      `<rect x="${LABEL_WIDTH}" y="${y}" width="${width.toFixed(1)}" height="${BAR_HEIGHT}" fill="${bar.ours ? OURS : BASELINE}"/>`,
      `<text x="${(LABEL_WIDTH + width + 6).toFixed(1)}" y="${text}">${escapeXml(format(bar.value))}</text>`,
    ].join('\n  ');
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="13">
  <rect width="100%" height="100%" fill="#ffffff"/>
  <text x="8" y="22" font-size="15" font-weight="bold">${escapeXml(title)}</text>
  ${rows.join('\n  ')}
</svg>
`;
}
