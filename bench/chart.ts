// A dependency-free horizontal bar chart (SVG text) for docs/benchmarks.svg.

export interface ChartBar {
  label: string;
  value: number;
  /** Min and max over the rounds, drawn as a whisker. */
  range?: [number, number];
  /** Colour key: 'library' (this library), 'peer' (the peer), anything else neutral. */
  kind: 'library' | 'peer' | 'neutral';
}

export interface ChartSection {
  title: string;
  bars: ChartBar[];
}

export interface Chart {
  title: string;
  subtitle: string;
  sections: ChartSection[];
  /** Footer lines (machine, command, date). */
  notes: string[];
}

const COLOURS = { library: '#2563eb', peer: '#9ca3af', neutral: '#0d9488' } as const;

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function renderChart(chart: Chart): string {
  const width = 860;
  const labelWidth = 300;
  const x0 = labelWidth + 10;
  const x1 = width - 70;
  const rowHeight = 24;
  const barHeight = 15;
  const values = chart.sections.flatMap((section) => section.bars.flatMap((bar) => [bar.value, ...(bar.range ?? [])]));
  const top = Math.max(1.5, Math.ceil((Math.max(0, ...values.filter(Number.isFinite)) + 0.05) * 4) / 4);
  const x = (value: number): number => x0 + (Math.max(0, Math.min(value, top)) / top) * (x1 - x0);

  const body: string[] = [];
  let y = 78;
  const gridTop = y - 6;
  for (const section of chart.sections) {
    body.push(`<text x="12" y="${y + 12}" class="section">${escapeXml(section.title)}</text>`);
    y += 24;
    for (const bar of section.bars) {
      const value = Number.isFinite(bar.value) ? bar.value : 0;
      body.push(`<text x="${labelWidth}" y="${y + barHeight - 3}" class="label" text-anchor="end">${escapeXml(bar.label)}</text>`);
      body.push(`<rect x="${x0}" y="${y}" width="${(x(value) - x0).toFixed(1)}" height="${barHeight}" fill="${COLOURS[bar.kind]}" rx="2"><title>${escapeXml(`${bar.label}: ${value.toFixed(2)}`)}</title></rect>`);
      let textX = x(value) + 6;
      if (bar.range) {
        const [low, high] = bar.range;
        const mid = y + barHeight / 2;
        body.push(`<path d="M${x(low).toFixed(1)} ${mid}H${x(high).toFixed(1)}M${x(low).toFixed(1)} ${mid - 4}V${mid + 4}M${x(high).toFixed(1)} ${mid - 4}V${mid + 4}" class="whisker"/>`);
        textX = Math.max(textX, x(high) + 6);
      }
      body.push(`<text x="${textX.toFixed(1)}" y="${y + barHeight - 3}" class="value">${Number.isFinite(bar.value) ? bar.value.toFixed(2) : 'n/a'}</text>`);
      y += rowHeight;
    }
    y += 10;
  }
  const gridBottom = y - 8;

  const grid: string[] = [];
  for (let tick = 0; tick <= top + 1e-9; tick += 0.25) {
    const tx = x(tick).toFixed(1);
    const major = Math.abs(tick - 1) < 1e-9;
    grid.push(`<line x1="${tx}" y1="${gridTop}" x2="${tx}" y2="${gridBottom}" class="${major ? 'one' : 'grid'}"/>`);
    grid.push(`<text x="${tx}" y="${gridBottom + 14}" class="tick" text-anchor="middle">${tick.toFixed(2)}</text>`);
  }
  y = gridBottom + 36;
  const notes = chart.notes.map((note, index) => `<text x="12" y="${y + index * 16}" class="note">${escapeXml(note)}</text>`);
  const height = y + chart.notes.length * 16 + 8;

  const legend = [
    ['library', 'this library'],
    ['peer', 'peer (express-session)'],
    ['neutral', 'this library ÷ peer'],
  ] as const;
  const legendItems = legend.map(([kind, text], index) => {
    const lx = 12 + index * 210;
    return `<rect x="${lx}" y="48" width="12" height="12" fill="${COLOURS[kind]}" rx="2"/><text x="${lx + 18}" y="58" class="label">${escapeXml(text)}</text>`;
  });

  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeXml(chart.title)}">
<style>
  text { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; fill: #111827; }
  .title { font-size: 17px; font-weight: 600; }
  .subtitle { font-size: 12px; fill: #4b5563; }
  .section { font-size: 13px; font-weight: 600; }
  .label { font-size: 12px; }
  .value { font-size: 11px; fill: #374151; }
  .tick { font-size: 10px; fill: #6b7280; }
  .note { font-size: 10px; fill: #6b7280; }
  .grid { stroke: #e5e7eb; stroke-width: 1; }
  .one { stroke: #111827; stroke-width: 1; stroke-dasharray: 4 3; }
  .whisker { stroke: #111827; stroke-width: 1; fill: none; }
</style>
<rect width="100%" height="100%" fill="#ffffff"/>
<text x="12" y="24" class="title">${escapeXml(chart.title)}</text>
<text x="12" y="40" class="subtitle">${escapeXml(chart.subtitle)}</text>
${legendItems.join('\n')}
${grid.join('\n')}
${body.join('\n')}
${notes.join('\n')}
</svg>
`;
}
