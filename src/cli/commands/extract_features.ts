/** `transferkit extract-features --model <zoo id | folder | onnx:folder> --data <folder | table> --out features.safetensors`: embeddings (+ labels) for kNN baselines, adaptation or other tools. */
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { extractFeatures } from '../../encoders/extract_features.js';
import { imageEncoder, runFeatureLayer } from '../../encoders/tfjs_encoder.js';
import { isFrozenEncoder } from '../../models/frozen_encoder.js';
import { writeSafetensors } from '../../io/safetensors.js';
import { int, startCommand, required } from '../args.js';
import { loadCliData } from '../data.js';
import { loadBase } from '../model.js';
import { makeOutput } from '../output.js';
import { checkOutputFile } from '../files.js';

export const USAGE = 'Usage: transferkit extract-features --model <zoo id | TF.js folder | onnx:folder> --data <image folder | .csv/.tsv/.jsonl> --out FILE.safetensors [--batch 32] [--no-cache] [--json]';

export async function extractFeaturesCommand(argv: string[]): Promise<number> {
  const args = await startCommand(argv, { model: { type: 'string' }, data: { type: 'string' }, out: { type: 'string' }, batch: { type: 'string' }, 'no-cache': { type: 'boolean' }, 'allow-downloads': { type: 'boolean' } }, USAGE);
  if (args === null) return 0;
  const { values } = args;
  const out = makeOutput(values.json === true);
  const spec = required(values, 'model', USAGE);
  const dataPath = path.resolve(required(values, 'data', USAGE));
  const file = required(values, 'out', USAGE);
  checkOutputFile(file, '--out');
  const base = await loadBase(spec, values['allow-downloads'] === true);
  const encoder = isFrozenEncoder(base) ? base : await imageEncoder(base);
  const data = await loadCliData(base, dataPath, undefined, 0, 0);
  let features: tf.Tensor2D;
  let fromCache = false;
  let perSecond: number;
  if ('xs' in data.train) {
    // TF.js image model: the folder is already decoded and preprocessed; run the feature layer on it.
    const t0 = performance.now();
    features = await runFeatureLayer(base as import('../../models/pretrained_model.js').PretrainedModel, data.train.xs, int(values, 'batch', 32, 1));
    perSecond = data.train.xs.shape[0] / ((performance.now() - t0) / 1000);
  } else {
    const r = await extractFeatures(encoder, data.train.inputs, { batchSize: int(values, 'batch', 32, 1), cache: values['no-cache'] !== true });
    features = r.features;
    fromCache = r.fromCache;
    perSecond = r.perSecond;
  }
  const labels = data.train.labels;
  writeSafetensors(file, {
    features: { dtype: 'float32', shape: features.shape, data: (await features.data()) as Float32Array },
    labels: { dtype: 'int32', shape: [labels.length], data: labels },
  }, { encoder: encoder.id, pooling: encoder.pooling, classNames: JSON.stringify(data.classNames), items: JSON.stringify(data.trainItems.map((r) => r.file ?? r.text ?? '')) });
  const result = { out: file, rows: features.shape[0], dim: features.shape[1], fromCache, perSecond: Number(perSecond.toFixed(1)), encoder: encoder.id, runtime: encoder.runtime.runtime };
  out.info(`${result.rows} x ${result.dim} features from ${encoder.id} (${encoder.runtime.runtime}) -> ${file}`);
  features.dispose();
  data.dispose();
  await encoder.dispose();
  if (out.mode === 'json') out.event('features', result);
  else console.log(JSON.stringify(result));
  return 0;
}
