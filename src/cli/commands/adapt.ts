/**
 * `transferkit adapt --model <zoo id | folder> --source <labelled image folder> --target <image folder> --method dann|coral|mmd|adabn|self-training[,..] --out DIR`:
 * unsupervised domain adaptation of a new head + backbone (DomainAdapter), model selected by an
 * unsupervised validator; target labels, when the target folder has class sub-folders, are only
 * used to report accuracy, never to train or select.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TransferKitError } from '../../errors.js';
import { DomainAdapter, type AdaptationMethod } from '../../adapt/domain_adapter.js';
import type { ValidatorName } from '../../adapt/validators/score.js';
import { isFrozenEncoder } from '../../models/frozen_encoder.js';
import { saveModel } from '../../models/save_model.js';
import { lineChart } from '../../report/svg.js';
import { int, num, startCommand, required } from '../args.js';
import { loadCliData } from '../data.js';
import { loadBase, withHead } from '../model.js';
import { makeOutput } from '../output.js';
import { checkOutputDir, makeDir, writeFile } from '../files.js';

export const USAGE = 'Usage: transferkit adapt --model <zoo id | TF.js folder> --source <labelled image folder> --target <image folder> [--method dann] [--epochs 10] [--lr 1e-3] [--batch 32] [--validator entropy] [--seed 42] --out DIR [--json]';

const METHODS = ['source-only', 'dann', 'coral', 'mmd', 'adabn', 'self-training'];

export async function adaptCommand(argv: string[]): Promise<number> {
  const args = await startCommand(argv, { model: { type: 'string' }, source: { type: 'string' }, target: { type: 'string' }, method: { type: 'string' }, epochs: { type: 'string' }, lr: { type: 'string' }, batch: { type: 'string' }, validator: { type: 'string' }, seed: { type: 'string' }, out: { type: 'string' }, 'allow-downloads': { type: 'boolean' } }, USAGE);
  if (args === null) return 0;
  const { values } = args;
  const out = makeOutput(values.json === true);
  const spec = required(values, 'model', USAGE);
  const source = path.resolve(required(values, 'source', USAGE));
  const target = path.resolve(required(values, 'target', USAGE));
  const dir = required(values, 'out', USAGE);
  const methods = ((values.method as string | undefined) ?? 'dann').split(',');
  for (const m of methods) if (!METHODS.includes(m)) throw new TransferKitError('E_BAD_OPTION', `--method: unknown method '${m}'. Choose from ${METHODS.join(', ')} (comma-separated to chain).`);
  const seed = int(values, 'seed', 42);
  checkOutputDir(dir, '--out');
  if (!fs.existsSync(target)) throw new TransferKitError('E_IO_NOT_FOUND', `No --target folder at ${target}. --target names a folder of target-domain images in class sub-folders. Received: --target=${target}. Check the path.`);
  if (!fs.statSync(target).isDirectory()) throw new TransferKitError('E_DATA', `--target ${target} is a file; it must be a folder of target-domain images in sub-folders. Received: --target=${target}. Pass the folder.`);
  const base = await loadBase(spec, values['allow-downloads'] === true);
  if (isFrozenEncoder(base)) throw new TransferKitError('E_BAD_OPTION', 'adapt trains the backbone too; pass a TF.js model (zoo id or folder), not an onnx: encoder.');
  const src = await loadCliData(base, source, undefined, 0.2, seed);
  const hasTargetLabels = fs.readdirSync(target, { withFileTypes: true }).filter((e) => e.isDirectory()).length >= 2;
  const tgt = hasTargetLabels ? await loadCliData(base, target, undefined, 0, seed, src.classNames) : null;
  if (tgt === null) throw new TransferKitError('E_DATA', `${target}: put the target images in sub-folders (named like the source classes when known, else any two or more folders); their names are only used to report accuracy.`);
  const model = withHead(base, src.classNames, 0.2, seed);
  const xsOf = (d: typeof src.train) => ('xs' in d ? d : null);
  const sTrain = xsOf(src.train);
  const sVal = src.val !== null ? xsOf(src.val) : null;
  const tAll = xsOf(tgt.train);
  if (sTrain === null || tAll === null) throw new TransferKitError('E_DATA', 'adapt needs image folders for a TF.js model.');
  const validator = (values.validator as string | undefined) ?? 'entropy';
  if (!['source-accuracy', 'entropy', 'snd', 'dev'].includes(validator)) throw new TransferKitError('E_BAD_OPTION', `--validator must be source-accuracy, entropy, snd or dev. Received: ${validator}.`);
  const adapter = new DomainAdapter({
    method: methods as AdaptationMethod[], epochs: int(values, 'epochs', 10, 1), learningRate: num(values, 'lr', 1e-3, (x) => x > 0, '> 0'),
    batchSize: int(values, 'batch', 32, 1), seed, validator: validator as ValidatorName, progress: out.progress(),
  });
  const res = await adapter.fit(model, { source: sTrain, target: { xs: tAll.xs }, ...(sVal !== null ? { sourceVal: sVal } : {}), targetVal: tAll });
  makeDir(dir, '--out');
  await saveModel(res.model, path.join(dir, 'model'));
  writeFile(path.join(dir, 'history.json'), `${JSON.stringify({ methods, selectedEpoch: res.selectedEpoch, history: res.history }, null, 2)}\n`, '--out');
  writeFile(path.join(dir, 'adaptation.svg'), lineChart([
    { name: 'loss', points: res.history.map((h, i) => [i + 1, h.loss] as const) },
    { name: 'transfer loss', points: res.history.map((h, i) => [i + 1, h.transferLoss] as const) },
    { name: 'target acc (report)', points: res.history.map((h, i) => [i + 1, h.targetValAcc ?? NaN] as const), dashed: true },
  ], { title: `adaptation (${methods.join(' + ')})`, xLabel: 'epoch', yLabel: 'loss', vlines: [{ x: res.selectedEpoch, label: 'selected' }] }), '--out');
  const last = res.history[res.selectedEpoch - 1] ?? res.history[res.history.length - 1];
  const result = { out: dir, methods, selectedEpoch: res.selectedEpoch, targetAccuracy: last?.targetValAcc ?? null, sourceValAccuracy: last?.valAccuracy ?? null, epochs: res.history.length };
  out.info(`adapted with ${methods.join(' + ')}: selected epoch ${res.selectedEpoch} by '${validator}'; target accuracy (report only) ${result.targetAccuracy !== null ? `${(100 * result.targetAccuracy).toFixed(1)} %` : '-'}; saved ${path.join(dir, 'model')}`);
  src.dispose();
  tgt.dispose();
  model.model.dispose();
  if (out.mode === 'json') out.event('adapt', result);
  else console.log(JSON.stringify(result));
  return 0;
}
