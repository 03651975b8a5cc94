/**
 * `report.html` of a run folder: one self-contained page (inline SVG charts, thumbnails as data
 * URIs, no scripts, no network) with the loss / accuracy / learning-rate curves, the confusion
 * matrix, per-class precision / recall / F1, the misclassified validation examples, the exact
 * configuration and the environment. Generated in Node without a browser.
 */
import type { ClassificationReport } from '../metrics/classification.js';
import type { EpochLog } from '../transfer/fine_tune.js';
import { confusionMatrixSvg, esc, lineChart, type Series } from './svg.js';

/** One misclassified example. */
export interface Misclassified {
  /** Image thumbnail as a data URI (images), or null. */
  thumbnail: string | null;
  /** The text (text data) or the file name (images). */
  label: string;
  trueClass: string;
  predicted: string;
  /** Probability the model gave the predicted class. */
  confidence: number;
}

/** What the report shows. */
export interface RunReportData {
  title: string;
  /** The command line that produced the run. */
  command: string;
  /** The exact configuration (written to config.json too). */
  config: Record<string, unknown>;
  history: EpochLog[];
  /** Learning rate at every optimizer step, in order: [global step, lr]. */
  learningRates: [number, number][];
  classNames: string[];
  /** Validation figures (absent when there was no validation data). */
  evaluation?: { loss: number; accuracy: number; report: ClassificationReport; examples: number };
  misclassified: Misclassified[];
  /** Backend, versions, seed, machine. */
  environment: Record<string, string | number | boolean>;
  /** Totals to show at the top (seconds, counts, ...). */
  summary: Record<string, string | number>;
}

const pct = (v: number): string => `${(100 * v).toFixed(1)} %`;

function table(rows: [string, string][]): string {
  return `<table>${rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('')}</table>`;
}

/** Stage changes as vertical markers (`head → fine-tune` at the first epoch of a new stage). */
function stageMarks(history: EpochLog[]): { x: number; label: string }[] {
  const marks: { x: number; label: string }[] = [];
  history.forEach((h, i) => {
    if (i > 0 && h.stage !== history[i - 1].stage) marks.push({ x: i + 0.5, label: h.stage });
  });
  return marks;
}

/** The report page as one HTML string. */
export function renderRunReport(d: RunReportData): string {
  const idx = d.history.map((_, i) => i + 1);
  const marks = stageMarks(d.history);
  const loss: Series[] = [{ name: 'train loss', points: d.history.map((h, i) => [idx[i], h.loss] as const) }];
  if (d.history.some((h) => h.valLoss !== undefined)) loss.push({ name: 'val loss', dashed: true, points: d.history.map((h, i) => [idx[i], h.valLoss ?? NaN] as const) });
  const acc: Series[] = [{ name: 'train accuracy', points: d.history.map((h, i) => [idx[i], h.accuracy] as const) }];
  if (d.history.some((h) => h.valAccuracy !== undefined)) acc.push({ name: 'val accuracy', dashed: true, points: d.history.map((h, i) => [idx[i], h.valAccuracy ?? NaN] as const) });
  const charts = [
    lineChart(loss, { title: 'Loss per epoch', xLabel: 'epoch (all stages)', yLabel: 'loss', vlines: marks }),
    lineChart(acc, { title: 'Accuracy per epoch', xLabel: 'epoch (all stages)', yLabel: 'accuracy', vlines: marks }),
    lineChart([{ name: 'learning rate', points: d.learningRates, markers: false }], { title: 'Learning rate per step', xLabel: 'optimizer step (all stages)', yLabel: 'learning rate' }),
  ];
  const ev = d.evaluation;
  const perClass = ev === undefined ? '' : `<table class="grid"><tr><th>class</th><th>precision</th><th>recall</th><th>F1</th><th>support</th></tr>${d.classNames
    .map((c, i) => `<tr><td>${esc(c)}</td><td>${ev.report.precision[i].toFixed(3)}</td><td>${ev.report.recall[i].toFixed(3)}</td><td>${ev.report.f1[i].toFixed(3)}</td><td>${ev.report.support[i]}</td></tr>`)
    .join('')}<tr><td><b>macro</b></td><td>${ev.report.macroPrecision.toFixed(3)}</td><td>${ev.report.macroRecall.toFixed(3)}</td><td>${ev.report.macroF1.toFixed(3)}</td><td>${ev.examples}</td></tr></table>`;
  const wrong = d.misclassified.length === 0
    ? `<p>${ev === undefined ? 'No validation data.' : 'None: every validation example is classified correctly.'}</p>`
    : `<div class="thumbs">${d.misclassified.map((m) => `<figure>${m.thumbnail !== null ? `<img src="${m.thumbnail}" alt="${esc(m.label)}">` : `<blockquote>${esc(m.label.slice(0, 280))}</blockquote>`}<figcaption>${m.thumbnail !== null ? `${esc(m.label)}<br>` : ''}true <b>${esc(m.trueClass)}</b> → <b class="bad">${esc(m.predicted)}</b> (${pct(m.confidence)})</figcaption></figure>`).join('')}</div>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(d.title)}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 24px auto; max-width: 1120px; color: #222; }
h1 { font-size: 22px; } h2 { font-size: 17px; margin-top: 28px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
code, pre { background: #f6f6f6; padding: 2px 4px; } pre { padding: 8px; overflow-x: auto; font-size: 12px; }
table { border-collapse: collapse; font-size: 13px; } th, td { text-align: left; padding: 3px 10px 3px 0; }
table.grid td, table.grid th { border-bottom: 1px solid #eee; padding: 4px 12px 4px 0; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; } .summary { display: flex; gap: 28px; flex-wrap: wrap; }
.summary div { background: #f3f7fb; padding: 10px 14px; border-radius: 6px; } .summary b { display: block; font-size: 20px; }
.thumbs { display: flex; flex-wrap: wrap; gap: 10px; } figure { margin: 0; width: 150px; font-size: 12px; }
figcaption { word-break: break-all; } figure img { width: 150px; height: 150px; object-fit: cover; border: 1px solid #ccc; } blockquote { margin: 0; font-size: 12px; background: #fafafa; padding: 6px; }
.bad { color: #c0392b; }
</style></head><body>
<h1>${esc(d.title)}</h1>
<p><code>${esc(d.command)}</code></p>
<div class="summary">${Object.entries(d.summary).map(([k, v]) => `<div>${esc(k)}<b>${esc(String(v))}</b></div>`).join('')}</div>
<h2>Training curves</h2>
<div class="charts">${charts.join('\n')}</div>
<h2>Validation</h2>
${ev === undefined ? '<p>No validation data.</p>' : `<p>${ev.examples} examples: accuracy <b>${pct(ev.accuracy)}</b>, loss ${ev.loss.toFixed(4)}.</p><div class="charts">${confusionMatrixSvg(ev.report.confusion, d.classNames)}<div>${perClass}</div></div>`}
<h2>Misclassified validation examples${d.misclassified.length > 0 ? ` (${d.misclassified.length})` : ''}</h2>
${wrong}
<h2>Epochs</h2>
<table class="grid"><tr><th>stage</th><th>epoch</th><th>loss</th><th>accuracy</th><th>val loss</th><th>val accuracy</th><th>lr</th><th>seconds</th></tr>${d.history
    .map((h) => `<tr><td>${esc(h.stage)}</td><td>${h.epoch}</td><td>${h.loss.toFixed(4)}</td><td>${Number.isNaN(h.accuracy) ? '-' : pct(h.accuracy)}</td><td>${h.valLoss?.toFixed(4) ?? '-'}</td><td>${h.valAccuracy !== undefined && !Number.isNaN(h.valAccuracy) ? pct(h.valAccuracy) : '-'}</td><td>${h.learningRate.toExponential(2)}</td><td>${h.seconds.toFixed(1)}</td></tr>`)
    .join('')}</table>
<h2>Configuration</h2>
<pre>${esc(JSON.stringify(d.config, null, 2))}</pre>
<h2>Environment</h2>
${table(Object.entries(d.environment).map(([k, v]) => [k, String(v)]))}
</body></html>
`;
}
