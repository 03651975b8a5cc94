/**
 * `findLearningRate`: the learning-rate range test, exactly as fastai's `Learner.lr_find`.
 *
 * The rate grows exponentially, `lr_i = startLr * (endLr / startLr) ^ (i / numIt)` for
 * iterations i = 0..numIt-1, one optimizer step each; the loss is smoothed with fastai's
 * `AvgSmoothLoss` (`val = beta * val + (1 - beta) * loss`, reported as `val / (1 - beta^count)`,
 * beta 0.98); the test stops once the smoothed loss exceeds 4x the best so far (`stop_div`).
 * Suggestions use the points `[floor(numIt / 10), -5)` (truncated at the first NaN), as fastai.
 * Every weight (including BatchNorm statistics) is restored afterwards.
 *
 * Reference: fastai `fastai/callback/schedule.py` (`LRFinder`, `lr_find`, `valley`, `steep`,
 * `minimum`); Smith, "Cyclical Learning Rates for Training Neural Networks",
 * https://arxiv.org/abs/1506.01186.
 */
import * as tf from '@tensorflow/tfjs-core';
import { TransferKitError } from '../errors.js';
import type { LabeledData } from '../data/dataset.js';
import type { PretrainedModel } from '../models/pretrained_model.js';
import { mulberry32, permutation } from '../utils/random.js';
import { batchInputs, computeCache, disposeCache } from './activation_cache.js';
import { cachePoint } from './graph_executor.js';
import { createOptimizer, type OptimizerSpec } from './optimizers.js';
import { trainStepAsync } from './train_step.js';
import { ensureBackend } from '../backends/backend.js';

/** Options of {@link findLearningRate}. */
export interface LRFinderOptions {
  /** Default 1e-7. */
  startLr?: number;
  /** Default 10. */
  endLr?: number;
  /** Iterations (at least 6, as fastai; default 100). */
  numIt?: number;
  /** Stop when the smoothed loss exceeds 4x the best (default true). */
  stopDiv?: boolean;
  /** Default 32. */
  batchSize?: number;
  /** Default `'adam'`. */
  optimizer?: OptimizerSpec;
  /** Smoothing factor of the loss (default 0.98). */
  beta?: number;
  /** Shuffling seed (default 42). */
  seed?: number;
}

/** A suggested rate and the curve point it was read from. */
export interface LRSuggestion {
  /** The suggested learning rate. */
  learningRate: number;
  /** The smoothed loss at (or interpolated for) the suggestion. */
  loss: number;
}

/** The sweep and the suggestions. */
export interface LRFinderResult {
  /** Learning rate of each iteration run. */
  learningRates: number[];
  /** Smoothed loss after each iteration. */
  losses: number[];
  /** Raw batch loss of each iteration. */
  rawLosses: number[];
  /** True when the sweep stopped because the loss diverged. */
  stoppedEarly: boolean;
  /** fastai's suggestions (null when too few points remain after trimming). */
  suggestions: { valley: LRSuggestion | null; steep: LRSuggestion | null; minimum: LRSuggestion | null };
}

/** fastai `valley`: a point in the longest descending run of the loss curve. */
export function valley(lrs: number[], losses: number[]): LRSuggestion {
  const n = losses.length;
  let maxStart = 0;
  let maxEnd = 0;
  const lds = new Array(n).fill(1);
  for (let i = 1; i < n; i++) {
    for (let j = 0; j < i; j++) {
      if (losses[i] < losses[j] && lds[i] < lds[j] + 1) lds[i] = lds[j] + 1;
      if (lds[maxEnd] < lds[i]) {
        maxEnd = i;
        maxStart = maxEnd - lds[maxEnd];
      }
    }
  }
  const sections = (maxEnd - maxStart) / 3;
  // fastai's index arithmetic (int() truncates toward zero), kept verbatim for identical picks.
  const raw = maxStart + Math.trunc(sections) + Math.trunc(sections / 2);
  // maxStart can be -1 in fastai's code; Python then indexes from the end.
  const idx = raw < 0 ? n + raw : raw;
  return { learningRate: lrs[idx], loss: losses[idx] };
}

/** fastai `steep`: the rate where the loss falls fastest per log-unit of rate. */
export function steep(lrs: number[], losses: number[]): LRSuggestion {
  let best = 0;
  let bestGrad = Infinity;
  for (let i = 0; i + 1 < lrs.length; i++) {
    const g = (losses[i + 1] - losses[i]) / (Math.log(lrs[i + 1]) - Math.log(lrs[i]));
    if (g < bestGrad) {
      bestGrad = g;
      best = i;
    }
  }
  return { learningRate: lrs[best], loss: losses[best] };
}

/** fastai `minimum`: one tenth of the rate at the lowest loss. */
export function minimum(lrs: number[], losses: number[]): LRSuggestion {
  let k = 0;
  for (let i = 1; i < losses.length; i++) if (losses[i] < losses[k]) k = i;
  return { learningRate: lrs[k] / 10, loss: losses[k] };
}

/**
 * Runs the range test on `pm` (its current trainability) and returns the curve and suggestions.
 * @example
 * ```ts
 * const { suggestions } = await findLearningRate(model, train);
 * await fineTune(model, train, { headLearningRate: suggestions.valley?.learningRate });
 * ```
 */
export async function findLearningRate(pm: PretrainedModel, data: LabeledData, options: LRFinderOptions = {}): Promise<LRFinderResult> {
  await ensureBackend();
  const startLr = options.startLr ?? 1e-7;
  const endLr = options.endLr ?? 10;
  const numIt = Math.max(6, options.numIt ?? 100);
  const beta = options.beta ?? 0.98;
  const batchSize = options.batchSize ?? 32;
  if (!(startLr > 0 && endLr > startLr)) {
    throw new TransferKitError('E_BAD_OPTION', `findLearningRate: need 0 < startLr < endLr. Received: startLr=${startLr}, endLr=${endLr}.`);
  }
  const model = pm.model;
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  if (vars.length === 0) throw new TransferKitError('E_BAD_OPTION', 'findLearningRate: the model has no trainable weights; unfreeze the layers you want to tune first.');
  const numClasses = model.outputs[0].shape[1] as number;
  const snapshot = model.getWeights().map((w) => tf.clone(w));
  const from = cachePoint(model);
  const cache = computeCache(model, from, data.xs, false, batchSize);
  const optimizer = createOptimizer(options.optimizer ?? 'adam', vars, startLr);
  const rand = mulberry32(options.seed ?? 42);
  const result: LRFinderResult = { learningRates: [], losses: [], rawLosses: [], stoppedEarly: false, suggestions: { valley: null, steep: null, minimum: null } };
  try {
    const n = data.xs.shape[0];
    let order = permutation(n, rand);
    let pos = 0;
    let val = 0;
    let best = Infinity;
    for (let it = 0; it < numIt; it++) {
      if (pos + batchSize > order.length && pos > 0) {
        order = permutation(n, rand);
        pos = 0;
      }
      const idx = order.subarray(pos, Math.min(order.length, pos + batchSize));
      pos += idx.length;
      const lr = startLr * (endLr / startLr) ** (it / numIt);
      optimizer.setLearningRate(lr);
      const x = tf.tidy(() => batchInputs(cache, idx, null));
      const y = tf.tidy(() => (data.targets !== undefined ? tf.gather(data.targets, tf.tensor1d(idx, 'int32')) : tf.oneHot(tf.tensor1d(Int32Array.from(idx, (k) => data.labels[k]), 'int32'), numClasses)));
      const { loss } = await trainStepAsync({ model, from, x, y, vars, optimizer, task: pm.task ?? 'multiclass' });
      tf.dispose([x, y]);
      val = beta * val + (1 - beta) * loss;
      const smooth = val / (1 - beta ** (it + 1));
      result.learningRates.push(lr);
      result.rawLosses.push(loss);
      result.losses.push(smooth);
      if (smooth < best) best = smooth;
      if (!Number.isFinite(loss) || ((options.stopDiv ?? true) && smooth > 4 * best)) {
        result.stoppedEarly = true;
        break;
      }
    }
  } finally {
    model.setWeights(snapshot);
    tf.dispose(snapshot);
    disposeCache(cache);
    optimizer.dispose();
  }
  let lrs = result.learningRates.slice(Math.floor(numIt / 10), Math.max(0, result.learningRates.length - 5));
  let losses = result.losses.slice(Math.floor(numIt / 10), Math.max(0, result.losses.length - 5));
  const nan = losses.findIndex((l) => !Number.isFinite(l));
  if (nan >= 0) {
    lrs = lrs.slice(0, nan);
    losses = losses.slice(0, nan);
  }
  if (losses.length >= 2) result.suggestions = { valley: valley(lrs, losses), steep: steep(lrs, losses), minimum: minimum(lrs, losses) };
  return result;
}
