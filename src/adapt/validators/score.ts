/**
 * Scores a model with one of the unsupervised validators, from the data of a DomainAdapter run.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { TransferKitError } from '../../errors.js';
import type { LabeledData } from '../../data/dataset.js';
import { mulberry32, permutation } from '../../utils/random.js';
import { devRisk, importanceWeights } from './dev.js';
import { entropyScore } from './entropy.js';
import { accuracyOf, featuresAndProbs } from './outputs.js';
import { sndScore } from './snd.js';

/**
 * Validators that need no target labels:
 * - `'source-accuracy'`: accuracy on labelled source validation data (higher is better);
 * - `'entropy'`: mean prediction entropy on target data (lower is better);
 * - `'snd'`: soft neighbourhood density of target predictions (higher is better);
 * - `'dev'`: deep embedded validation, an importance-weighted estimate of the target risk (lower is better).
 */
export type ValidatorName = 'source-accuracy' | 'entropy' | 'snd' | 'dev';

/** True when a larger score of `v` is better. */
export function higherIsBetter(v: ValidatorName): boolean {
  return v === 'source-accuracy' || v === 'snd';
}

/** The data the validators read. */
export interface ValidationData {
  source: LabeledData;
  target: { xs: tf.Tensor };
  sourceVal?: LabeledData;
}

/** A fixed, seeded subset of at most `n` rows of `xs` (the same rows on every call). */
function subsetRows(xs: tf.Tensor, n: number, seed: number): tf.Tensor {
  if (xs.shape[0] <= n) return tf.clone(xs);
  const idx = permutation(xs.shape[0], mulberry32(seed ^ 0x5eed)).slice(0, n);
  return tf.tidy(() => tf.gather(xs, tf.tensor1d(idx, 'int32')));
}

/**
 * The score of `validator` for model `lm` whose feature layer is `featureIndex`. At most
 * `validationSize` (default 1000) target and source-training examples are used, always the same
 * seeded subset, so scores of different epochs and runs are comparable.
 */
export async function scoreModel(validator: ValidatorName, lm: tfl.LayersModel, featureIndex: number, data: ValidationData, options: { validationSize?: number; seed?: number } = {}): Promise<number> {
  const size = options.validationSize ?? 1000;
  const seed = options.seed ?? 0;
  const needVal = validator === 'source-accuracy' || validator === 'dev';
  if (needVal && data.sourceVal === undefined) {
    throw new TransferKitError('E_DATA', `Validator '${validator}' needs labelled source validation data: pass data.sourceVal (e.g. a split of the source set).`);
  }
  if (validator === 'source-accuracy') {
    return accuracyOf(lm, data.sourceVal as LabeledData);
  }
  const tx = subsetRows(data.target.xs, size, seed);
  const target = featuresAndProbs(lm, featureIndex, tx);
  tx.dispose();
  try {
    if (validator === 'entropy') return await entropyScore(target.probs);
    if (validator === 'snd') return await sndScore(target.probs);
    if (validator === 'dev') {
      const sv = data.sourceVal as LabeledData;
      const sx = subsetRows(data.source.xs, size, seed + 1);
      const source = featuresAndProbs(lm, featureIndex, sx);
      const val = featuresAndProbs(lm, featureIndex, sv.xs);
      sx.dispose();
      const k = val.probs.shape[1];
      const lossT = tf.tidy(() => tf.neg(tf.sum(tf.mul(tf.oneHot(tf.tensor1d(Array.from(sv.labels), 'int32'), k), tf.log(tf.clipByValue(val.probs, 1e-7, 1))), -1)));
      const losses = await lossT.data();
      const w = await importanceWeights(source.features, target.features, val.features);
      tf.dispose([lossT, source.features, source.probs, val.features, val.probs]);
      return devRisk(w, losses);
    }
    throw new TransferKitError('E_BAD_OPTION', `Unknown validator. Received: validator='${String(validator)}'. Choose source-accuracy, entropy, snd or dev.`);
  } finally {
    tf.dispose([target.features, target.probs]);
  }
}
