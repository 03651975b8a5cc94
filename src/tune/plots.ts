/**
 * Plots of a study as standalone SVG (no dependency, viewable in any browser): the metric against
 * each hyperparameter (log axis for log-uniform ones), and the halving ladder — every trial's
 * reported curve over the resource, ended where ASHA stopped it — as Ray Tune / Optuna dashboards
 * show them.
 */
import type { SearchSpace } from './space.js';
import type { TrialRecord } from './tune.js';

const W = 420;
const H = 280;
const M = { left: 56, right: 16, top: 28, bottom: 44 };

function esc(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] as string);
}

function scale(lo: number, hi: number, a: number, b: number, log = false): (v: number) => number {
  const f = log ? Math.log10 : (v: number) => v;
  const [l, h] = lo === hi ? [f(lo) - 1, f(hi) + 1] : [f(lo), f(hi)];
  return (v) => a + ((f(v) - l) / (h - l)) * (b - a);
}

function frame(title: string, xLabel: string, yLabel: string, body: string, xTicks: string, yTicks: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">
<rect width="${W}" height="${H}" fill="white"/>
<text x="${W / 2}" y="16" text-anchor="middle" font-size="13">${esc(title)}</text>
<line x1="${M.left}" y1="${H - M.bottom}" x2="${W - M.right}" y2="${H - M.bottom}" stroke="black"/>
<line x1="${M.left}" y1="${M.top}" x2="${M.left}" y2="${H - M.bottom}" stroke="black"/>
${xTicks}${yTicks}
<text x="${(M.left + W - M.right) / 2}" y="${H - 8}" text-anchor="middle">${esc(xLabel)}</text>
<text x="14" y="${(M.top + H - M.bottom) / 2}" text-anchor="middle" transform="rotate(-90 14 ${(M.top + H - M.bottom) / 2})">${esc(yLabel)}</text>
${body}
</svg>
`;
}

function ticks(lo: number, hi: number, at: (v: number) => number, axis: 'x' | 'y', log = false): string {
  const vals = log ? Array.from({ length: Math.floor(Math.log10(hi)) - Math.ceil(Math.log10(lo)) + 1 }, (_, i) => 10 ** (Math.ceil(Math.log10(lo)) + i)) : Array.from({ length: 5 }, (_, i) => lo + ((hi - lo) * i) / 4);
  return vals
    .map((v) => {
      const p = at(v);
      const label = log ? v.toExponential(0) : Math.abs(v) >= 100 || v === 0 ? String(Number(v.toFixed(0))) : v.toPrecision(2);
      return axis === 'x'
        ? `<line x1="${p}" y1="${H - M.bottom}" x2="${p}" y2="${H - M.bottom + 4}" stroke="black"/><text x="${p}" y="${H - M.bottom + 16}" text-anchor="middle">${label}</text>\n`
        : `<line x1="${M.left - 4}" y1="${p}" x2="${M.left}" y2="${p}" stroke="black"/><text x="${M.left - 6}" y="${p + 4}" text-anchor="end">${label}</text>\n`;
    })
    .join('');
}

const COLOR = { completed: '#1f77b4', stopped: '#ff7f0e', failed: '#d62728' } as const;

/** One SVG per hyperparameter: the metric of every trial that has one, against its value. */
export function metricVsParameterSvgs(trials: readonly TrialRecord[], space: SearchSpace, metric = 'value'): Record<string, string> {
  const scored = trials.filter((t) => t.value !== undefined && Number.isFinite(t.value));
  const ys = scored.map((t) => t.value as number);
  const [ylo, yhi] = ys.length ? [Math.min(...ys), Math.max(...ys)] : [0, 1];
  const y = scale(ylo, yhi, H - M.bottom - 6, M.top + 6);
  const out: Record<string, string> = {};
  for (const [name, dim] of Object.entries(space)) {
    const log = dim.kind === 'log-uniform';
    let x: (v: number) => number;
    let xTicks: string;
    let pos: (t: TrialRecord) => number;
    if (dim.kind === 'choice') {
      const n = dim.values.length;
      pos = (t) => M.left + ((dim.values.indexOf(t.config[name]) + 0.5) / n) * (W - M.left - M.right);
      xTicks = dim.values.map((v, i) => `<text x="${M.left + ((i + 0.5) / n) * (W - M.left - M.right)}" y="${H - M.bottom + 16}" text-anchor="middle">${esc(String(v))}</text>\n`).join('');
    } else {
      x = scale(dim.low, dim.high, M.left + 8, W - M.right - 8, log);
      pos = (t) => x(t.config[name] as number);
      xTicks = ticks(dim.low, dim.high, x, 'x', log);
    }
    const dots = scored.map((t) => `<circle cx="${pos(t).toFixed(1)}" cy="${y(t.value as number).toFixed(1)}" r="4" fill="${COLOR[t.status]}" fill-opacity="0.8"><title>trial ${t.id} (${t.status}): ${t.value}</title></circle>`).join('\n');
    out[name] = frame(`${metric} vs ${name}`, `${name}${log ? ' (log)' : ''}`, metric, dots, xTicks, ticks(ylo, yhi, y, 'y'));
  }
  return out;
}

/** Every trial's reported curve over the resource; orange curves are trials ASHA stopped. */
export function ladderSvg(trials: readonly TrialRecord[], metric = 'value'): string {
  const pts = trials.flatMap((t) => t.reports);
  const steps = pts.map((p) => p[0]);
  const vals = pts.map((p) => p[1]);
  const [xlo, xhi] = steps.length ? [Math.min(...steps), Math.max(...steps)] : [0, 1];
  const [ylo, yhi] = vals.length ? [Math.min(...vals), Math.max(...vals)] : [0, 1];
  const x = scale(xlo, xhi, M.left + 8, W - M.right - 8);
  const y = scale(ylo, yhi, H - M.bottom - 6, M.top + 6);
  const lines = trials
    .filter((t) => t.reports.length > 0)
    .map((t) => `<polyline fill="none" stroke="${COLOR[t.status]}" stroke-opacity="0.8" points="${t.reports.map(([s, v]) => `${x(s).toFixed(1)},${y(v).toFixed(1)}`).join(' ')}"><title>trial ${t.id} (${t.status})</title></polyline>`)
    .join('\n');
  return frame(`halving ladder: ${metric} per step`, 'resource (step)', metric, lines, ticks(xlo, xhi, x, 'x'), ticks(ylo, yhi, y, 'y'));
}
