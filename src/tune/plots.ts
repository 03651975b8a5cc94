/**
 * Plots of a study as standalone SVG (src/report/svg.ts; viewable in any browser): the metric against
 * each hyperparameter (log axis for log-uniform ones), and the halving ladder — every trial's
 * reported curve over the resource, ended where ASHA stopped it — as Ray Tune / Optuna dashboards
 * show them.
 */
import type { SearchSpace } from './space.js';
import type { TrialRecord } from './tune.js';
import { lineChart, type Series } from '../report/svg.js';

const COLOR = { completed: '#1f77b4', stopped: '#ff7f0e', failed: '#d62728' } as const;

/** One SVG per hyperparameter: the metric of every trial that has one, against its value. */
export function metricVsParameterSvgs(trials: readonly TrialRecord[], space: SearchSpace, metric = 'value'): Record<string, string> {
  const scored = trials.filter((t) => t.value !== undefined && Number.isFinite(t.value));
  const out: Record<string, string> = {};
  for (const [name, dim] of Object.entries(space)) {
    const log = dim.kind === 'log-uniform';
    const xOf = (t: TrialRecord): number => (dim.kind === 'choice' ? dim.values.indexOf(t.config[name]) : (t.config[name] as number));
    // One scatter series per status, so completed / stopped / failed keep their colours.
    const series: Series[] = (['completed', 'stopped', 'failed'] as const).map((status) => {
      const of = scored.filter((t) => t.status === status);
      return { name: status, color: COLOR[status], scatter: true, points: of.map((t) => [xOf(t), t.value as number] as const), labels: of.map((t) => `trial ${t.id} (${t.status}): ${t.value}`) };
    }).filter((s) => s.points.length > 0);
    out[name] = lineChart(series, {
      title: `${metric} vs ${name}`, xLabel: `${name}${log ? ' (log)' : ''}`, yLabel: metric, xLog: log, legend: true,
      ...(dim.kind === 'choice' ? { xCategories: dim.values.map(String) } : {}),
    });
  }
  return out;
}

/** Every trial's reported curve over the resource; orange curves are trials ASHA stopped. */
export function ladderSvg(trials: readonly TrialRecord[], metric = 'value'): string {
  const series: Series[] = trials
    .filter((t) => t.reports.length > 0)
    .map((t) => ({ name: `trial ${t.id} (${t.status})`, color: COLOR[t.status], points: t.reports.map(([s, v]) => [s, v] as const), markers: false }));
  return lineChart(series, { title: `halving ladder: ${metric} per step`, xLabel: 'resource (step)', yLabel: metric, legend: false });
}
