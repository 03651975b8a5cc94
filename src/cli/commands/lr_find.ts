/** `transferkit lr-find --model <zoo id | folder | onnx:folder> --data <folder | table> [--out DIR]`: fastai's LR range test on a new head (backbone frozen), with its suggestions and the curve as SVG. */
import * as path from 'node:path';
import { findLearningRate } from '../../train/lr_finder.js';
import { encodeData } from '../../encoders/encode_data.js';
import { lineChart } from '../../report/svg.js';
import { freeze } from '../../transfer/freeze.js';
import { int, num, startCommand, required } from '../args.js';
import { loadCliData } from '../data.js';
import { loadBase, withHead } from '../model.js';
import { makeOutput } from '../output.js';
import { checkOutputDir, makeDir, writeFile } from '../files.js';

export const USAGE = 'Usage: transferkit lr-find --model <zoo id | TF.js folder | onnx:folder> --data <image folder | .csv/.tsv/.jsonl> [--out DIR] [--batch 32] [--iterations 100] [--start 1e-7] [--end 10] [--seed 42] [--json]';

export async function lrFindCommand(argv: string[]): Promise<number> {
  const args = await startCommand(argv, { model: { type: 'string' }, data: { type: 'string' }, out: { type: 'string' }, batch: { type: 'string' }, iterations: { type: 'string' }, start: { type: 'string' }, end: { type: 'string' }, seed: { type: 'string' }, 'allow-downloads': { type: 'boolean' } }, USAGE);
  if (args === null) return 0;
  const { values } = args;
  const out = makeOutput(values.json === true);
  const spec = required(values, 'model', USAGE);
  const dataPath = path.resolve(required(values, 'data', USAGE));
  const seed = int(values, 'seed', 42);
  const dir = values.out as string | undefined;
  if (dir !== undefined) checkOutputDir(dir, '--out');
  const base = await loadBase(spec, values['allow-downloads'] === true);
  const data = await loadCliData(base, dataPath, undefined, 0, seed);
  const model = withHead(base, data.classNames, 0.2, seed);
  if (model.encoder === undefined) freeze(model, 'backbone');
  const train = 'xs' in data.train ? data.train : await encodeData(model, data.train, { cache: true, progress: 'silent' }, 'lr-find');
  const r = await findLearningRate(model, train, {
    batchSize: int(values, 'batch', 32, 1), numIt: int(values, 'iterations', 100, 6), seed,
    startLr: num(values, 'start', 1e-7, (x) => x > 0, '> 0'), endLr: num(values, 'end', 10, (x) => x > 0, '> 0'),
  });
  const s = r.suggestions;
  const result = { valley: s.valley?.learningRate ?? null, steep: s.steep?.learningRate ?? null, minimum: s.minimum?.learningRate ?? null, iterations: r.learningRates.length, stoppedEarly: r.stoppedEarly };
  out.info(`suggested learning rates (fastai): valley ${result.valley?.toExponential(2) ?? '-'}, steep ${result.steep?.toExponential(2) ?? '-'}, minimum/10 ${result.minimum?.toExponential(2) ?? '-'} (${r.learningRates.length} iterations${r.stoppedEarly ? ', stopped when the loss diverged' : ''})`);
  if (dir !== undefined) {
    makeDir(dir, '--out');
    const marks = ([['valley', s.valley], ['steep', s.steep], ['min/10', s.minimum]] as const).filter(([, v]) => v !== null).map(([label, v]) => ({ x: (v as { learningRate: number }).learningRate, label }));
    writeFile(path.join(dir, 'lr_find.svg'), lineChart([{ name: 'smoothed loss', points: r.learningRates.map((lr, i) => [lr, r.losses[i]] as const), markers: false }], { title: 'LR range test', xLabel: 'learning rate (log)', yLabel: 'loss', xLog: true, vlines: marks }), '--out');
    writeFile(path.join(dir, 'lr_find.json'), `${JSON.stringify({ ...result, learningRates: r.learningRates, losses: r.losses, rawLosses: r.rawLosses }, null, 2)}\n`, '--out');
    out.info(`wrote ${path.join(dir, 'lr_find.svg')}`);
  }
  if (train !== data.train) train.xs.dispose();
  data.dispose();
  model.model.dispose();
  if (out.mode === 'json') out.event('lr-find', result);
  else console.log(JSON.stringify(result));
  return 0;
}
