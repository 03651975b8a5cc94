/** `transferkit evaluate --model <run folder | saved model> --data <folder | table> [--out DIR]`: accuracy, per-class figures, confusion matrix; with --out, metrics.json and report.html. */
import * as path from 'node:path';
import { evaluate } from '../../train/evaluate.js';
import { renderRunReport, type Misclassified } from '../../report/run_report.js';
import { thumbnailDataUri } from '../../report/thumbnail.js';
import { int, startCommand, required } from '../args.js';
import { loadCliData } from '../data.js';
import { environment } from '../environment.js';
import { loadTrained } from '../model.js';
import { makeOutput } from '../output.js';
import { checkOutputDir, makeDir, writeFile } from '../files.js';

export const USAGE = 'Usage: transferkit evaluate --model <run folder | saved model folder> --data <image folder | .csv/.tsv/.jsonl> [--out DIR] [--batch 32] [--json]';

export async function evaluateCommand(argv: string[]): Promise<number> {
  const args = await startCommand(argv, { model: { type: 'string' }, data: { type: 'string' }, out: { type: 'string' }, batch: { type: 'string' }, 'allow-downloads': { type: 'boolean' } }, USAGE);
  if (args === null) return 0;
  const { values } = args;
  const out = makeOutput(values.json === true);
  const modelDir = required(values, 'model', USAGE);
  const dataPath = path.resolve(required(values, 'data', USAGE));
  const batch = int(values, 'batch', 32, 1);
  const dir = values.out as string | undefined;
  if (dir !== undefined) checkOutputDir(dir, '--out');
  const model = await loadTrained(modelDir, values['allow-downloads'] === true);
  const classNames = model.classNames as string[];
  const data = await loadCliData(model, dataPath, undefined, 0, 0, classNames);
  const ev = await evaluate(model, data.train, { batchSize: batch });
  const result = { accuracy: ev.accuracy, loss: ev.loss, macroF1: ev.report.macroF1, examples: ev.predictions.length, ...(ev.auc !== undefined ? { auc: ev.auc } : {}) };
  out.info(`${result.examples} examples: accuracy ${(100 * ev.accuracy).toFixed(1)} %, loss ${ev.loss.toFixed(4)}, macro F1 ${ev.report.macroF1.toFixed(3)}`);
  for (const [i, c] of classNames.entries()) out.info(`  ${c.padEnd(16)} precision ${ev.report.precision[i].toFixed(3)}  recall ${ev.report.recall[i].toFixed(3)}  support ${ev.report.support[i]}`);
  if (dir !== undefined) {
    makeDir(dir, '--out');
    const rows = ev.probabilities;
    const misclassified: Misclassified[] = [];
    for (const [i, l] of data.train.labels.entries()) {
      const p = ev.predictions[i];
      if (p === l || misclassified.length >= 48) continue;
      const ref = data.trainItems[i] ?? {};
      misclassified.push({ thumbnail: ref.file !== undefined ? await thumbnailDataUri(ref.file) : null, label: ref.file !== undefined ? path.basename(ref.file) : ref.text ?? `#${i}`, trueClass: classNames[l], predicted: classNames[p], confidence: rows[i][p] });
    }
    writeFile(path.join(dir, 'metrics.json'), `${JSON.stringify({ ...ev.report, loss: ev.loss, classNames, model: modelDir, data: dataPath }, null, 2)}\n`, '--out');
    writeFile(path.join(dir, 'report.html'), renderRunReport({
      title: `transferkit evaluate: ${path.basename(dataPath)} on ${modelDir}`, command: `transferkit evaluate ${argv.join(' ')}`, config: { model: modelDir, data: dataPath, batch },
      history: [], learningRates: [], classNames, evaluation: { loss: ev.loss, accuracy: ev.accuracy, report: ev.report, examples: result.examples }, misclassified, environment: environment(0),
      summary: { accuracy: `${(100 * ev.accuracy).toFixed(1)} %`, loss: ev.loss.toFixed(4), 'macro F1': ev.report.macroF1.toFixed(3), examples: result.examples },
    }), '--out');
    out.info(`wrote ${path.join(dir, 'report.html')}`);
  }
  data.dispose();
  if (out.mode === 'json') out.event('evaluation', result);
  else console.log(JSON.stringify(result));
  return 0;
}
