/**
 * Standalone SVG charts for run reports and study plots, generated as strings (no browser, no
 * DOM): scales and ticks from d3-scale, paths from d3-shape (both bundled into the build, so they
 * are not runtime dependencies). Line charts with several series (log or linear axes) and a
 * heat map with numbers for confusion matrices.
 */
import { scaleBand, scaleLinear, scaleLog, type ScaleContinuousNumeric } from 'd3-scale';
import { line as d3line } from 'd3-shape';

/** One line of a chart. */
export interface Series {
  name: string;
  points: readonly (readonly [number, number])[];
  /** CSS colour (default: from the palette by position). */
  color?: string;
  /** Draw markers at the points (default: when there are at most 40). */
  markers?: boolean;
  /** Dashed line. */
  dashed?: boolean;
  /** Markers only, no line (a scatter plot). */
  scatter?: boolean;
  /** Tooltip per point (SVG `<title>`), e.g. the trial a dot belongs to. */
  labels?: readonly string[];
}

/** Options of {@link lineChart}. */
export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  width?: number;
  height?: number;
  xLog?: boolean;
  yLog?: boolean;
  /** Vertical marker lines (e.g. stage boundaries or a suggested learning rate). */
  vlines?: { x: number; label: string }[];
  /** A categorical x axis: point x = index into these labels. */
  xCategories?: readonly string[];
  /** Show the legend (default: with more than one series). */
  legend?: boolean;
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];
const M = { left: 58, right: 16, top: 30, bottom: 44 };

/** Escapes text for SVG/HTML. */
export function esc(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] as string);
}

const fmt = (v: number): string => {
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 1e4 || a < 1e-3 ? v.toExponential(0) : Number(v.toPrecision(3)).toString();
};

function axis(lo: number, hi: number, log: boolean, range: [number, number]): ScaleContinuousNumeric<number, number> {
  if (log) {
    const l = Math.max(lo, 1e-30);
    return scaleLog().domain(l === hi ? [l / 10, hi * 10] : [l, hi]).range(range).nice();
  }
  return scaleLinear().domain(lo === hi ? [lo - 1, hi + 1] : [lo, hi]).range(range).nice();
}

/** A line chart of `series` as an SVG document string. */
export function lineChart(series: readonly Series[], o: LineChartOptions): string {
  const W = o.width ?? 460;
  const H = o.height ?? 290;
  const pts = series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!o.xLog || x > 0) && (!o.yLog || y > 0));
  const xs = pts.map((p) => p[0]);
  const ys = pts.map((p) => p[1]);
  const cats = o.xCategories;
  const x = cats !== undefined
    ? scaleLinear().domain([-0.5, cats.length - 0.5]).range([M.left, W - M.right])
    : axis(xs.length ? Math.min(...xs) : 0, xs.length ? Math.max(...xs) : 1, o.xLog === true, [M.left, W - M.right]);
  const y = axis(ys.length ? Math.min(...ys) : 0, ys.length ? Math.max(...ys) : 1, o.yLog === true, [H - M.bottom, M.top]);
  const xTicks = cats !== undefined ? cats.map((_, i) => i) : x.ticks(o.xLog ? 6 : 7).filter((_, i, a) => !o.xLog || a.length <= 8 || i % Math.ceil(a.length / 8) === 0);
  const xLabel = (t: number): string => (cats !== undefined ? esc(cats[t]) : fmt(t));
  const yTicks = y.ticks(o.yLog ? 6 : 5).filter((_, i, a) => !o.yLog || a.length <= 7 || i % Math.ceil(a.length / 7) === 0);
  const grid = [
    ...xTicks.map((t) => `<line x1="${x(t)}" y1="${H - M.bottom}" x2="${x(t)}" y2="${H - M.bottom + 4}" stroke="black"/><text x="${x(t)}" y="${H - M.bottom + 16}" text-anchor="middle">${xLabel(t)}</text>`),
    ...yTicks.map((t) => `<line x1="${M.left}" y1="${y(t)}" x2="${W - M.right}" y2="${y(t)}" stroke="#eee"/><text x="${M.left - 6}" y="${y(t) + 4}" text-anchor="end">${fmt(t)}</text>`),
  ].join('\n');
  const path = d3line<readonly [number, number]>().x((p) => x(p[0])).y((p) => y(p[1])).defined(([a, b]) => Number.isFinite(a) && Number.isFinite(b) && (!o.xLog || a > 0) && (!o.yLog || b > 0));
  const lines = series.map((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length];
    const d = path(s.points as [number, number][]) ?? '';
    const r = s.scatter ? 4 : 2.5;
    const marks = s.scatter || (s.markers ?? s.points.length <= 40)
      ? s.points.map(([a, b], k) => (Number.isFinite(a) && Number.isFinite(b) ? `<circle cx="${x(a).toFixed(1)}" cy="${y(b).toFixed(1)}" r="${r}" fill="${color}" fill-opacity="0.85">${s.labels?.[k] !== undefined ? `<title>${esc(s.labels[k])}</title>` : ''}</circle>` : '')).join('')
      : '';
    const stroke = s.scatter ? '' : `<path d="${d}" fill="none" stroke="${color}" stroke-width="1.8"${s.dashed ? ' stroke-dasharray="5 3"' : ''}/>`;
    return `<g data-series="${esc(s.name)}">${stroke}${marks}</g>`;
  }).join('\n');
  const vlines = (o.vlines ?? []).filter((v) => Number.isFinite(v.x)).map((v) => `<line x1="${x(v.x)}" y1="${M.top}" x2="${x(v.x)}" y2="${H - M.bottom}" stroke="#888" stroke-dasharray="3 3"/><text x="${x(v.x) + 3}" y="${H - M.bottom - 6}" fill="#555">${esc(v.label)}</text>`).join('\n');
  const legend = series.map((s, i) => `<rect x="${W - M.right - 120}" y="${M.top + 4 + i * 15}" width="10" height="3" fill="${s.color ?? PALETTE[i % PALETTE.length]}"/><text x="${W - M.right - 106}" y="${M.top + 8 + i * 15}">${esc(s.name)}</text>`).join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">
<rect width="${W}" height="${H}" fill="white"/>
<text x="${W / 2}" y="17" text-anchor="middle" font-size="13">${esc(o.title)}</text>
${grid}
<line x1="${M.left}" y1="${H - M.bottom}" x2="${W - M.right}" y2="${H - M.bottom}" stroke="black"/>
<line x1="${M.left}" y1="${M.top}" x2="${M.left}" y2="${H - M.bottom}" stroke="black"/>
${vlines}
${lines}
${(o.legend ?? series.length > 1) ? legend : ''}
<text x="${(M.left + W - M.right) / 2}" y="${H - 8}" text-anchor="middle">${esc(o.xLabel)}</text>
<text x="14" y="${(M.top + H - M.bottom) / 2}" text-anchor="middle" transform="rotate(-90 14 ${(M.top + H - M.bottom) / 2})">${esc(o.yLabel)}</text>
</svg>`;
}

/** A confusion matrix (rows: true class, columns: predicted) as a heat map with counts. */
export function confusionMatrixSvg(matrix: readonly (readonly number[])[], classNames: readonly string[], title = 'Confusion matrix'): string {
  const k = classNames.length;
  const cell = Math.max(22, Math.min(64, Math.floor(420 / Math.max(k, 1))));
  const left = 28 + Math.min(140, 7 * Math.max(...classNames.map((c) => c.length), 4));
  const top = 40;
  const W = left + k * cell + 16;
  const H = top + k * cell + 56;
  const band = scaleBand<number>().domain([...Array(k).keys()]).range([0, k * cell]);
  const max = Math.max(1, ...matrix.flat());
  const rowSums = matrix.map((r) => r.reduce((a, b) => a + b, 0));
  const cells = matrix.flatMap((row, i) => row.map((v, j) => {
    // Shade by the row-normalised rate (recall per class), so small classes read as clearly as large ones.
    const rate = rowSums[i] > 0 ? v / rowSums[i] : 0;
    const fill = i === j ? `rgba(31,119,180,${0.12 + 0.88 * rate})` : `rgba(214,39,40,${v === 0 ? 0 : 0.12 + 0.88 * rate})`;
    return `<rect x="${left + (band(j) as number)}" y="${top + (band(i) as number)}" width="${cell - 1}" height="${cell - 1}" fill="${fill}"/><text x="${left + (band(j) as number) + cell / 2}" y="${top + (band(i) as number) + cell / 2 + 4}" text-anchor="middle" fill="${rate > 0.6 ? 'white' : 'black'}">${v}</text>`;
  })).join('\n');
  const labels = classNames.map((c, i) => `<text x="${left - 6}" y="${top + (band(i) as number) + cell / 2 + 4}" text-anchor="end">${esc(c.slice(0, 20))}</text><text x="${left + (band(i) as number) + cell / 2}" y="${top + k * cell + 14}" text-anchor="middle">${esc(c.slice(0, Math.max(3, Math.floor(cell / 6))))}</text>`).join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11" data-max="${max}">
<rect width="${W}" height="${H}" fill="white"/>
<text x="${W / 2}" y="17" text-anchor="middle" font-size="13">${esc(title)}</text>
${cells}
${labels}
<text x="${left + (k * cell) / 2}" y="${top + k * cell + 34}" text-anchor="middle">predicted</text>
<text x="12" y="${top + (k * cell) / 2}" text-anchor="middle" transform="rotate(-90 12 ${top + (k * cell) / 2})">true</text>
</svg>`;
}
