/**
 * Parameter groups for transfer learning: layer groups from the bottom of the backbone to the
 * head, discriminative learning rates across them (fastai), layer-wise LR decay (timm), and no
 * weight decay on biases and normalisation parameters (timm, HF).
 */
import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { TransferKitError } from '../errors.js';
import type { PretrainedModel } from '../models/pretrained_model.js';
import { blockStarts, featureIndex } from './block_boundaries.js';
import type { ParamGroup } from '../optimizers/optimizer.js';

/**
 * fastai `even_mults(start, stop, n)`: `n` values spaced geometrically from `start` to `stop`.
 */
export function evenMults(start: number, stop: number, n: number): number[] {
  if (n === 1) return [stop];
  const step = (stop / start) ** (1 / (n - 1));
  return Array.from({ length: n }, (_, i) => start * step ** i);
}

/**
 * Learning rate per group, as fastai's `Learner.lr_range`: a number gives every group the same
 * rate; `{ hi }` (fastai `slice(hi)`) gives the last group `hi` and every other `hi / 10`;
 * `{ lo, hi }` (`slice(lo, hi)`) spaces the rates geometrically from the first group to the last.
 */
export function discriminativeLrs(lr: number | { lo?: number; hi: number }, n: number): number[] {
  if (!Number.isInteger(n) || n < 1) throw new TransferKitError('E_BAD_OPTION', `discriminativeLrs: n must be an integer >= 1. Received: n=${n}.`);
  if (typeof lr === 'number') return new Array(n).fill(lr);
  if (lr.lo === undefined) return [...new Array(n - 1).fill(lr.hi / 10), lr.hi];
  if (!(lr.lo > 0 && lr.hi > 0)) throw new TransferKitError('E_BAD_OPTION', `discriminativeLrs: lo and hi must be > 0. Received: lo=${lr.lo}, hi=${lr.hi}.`);
  return evenMults(lr.lo, lr.hi, n);
}

/**
 * timm's layer-wise LR decay: group i of n (0 = stem, n - 1 = head) gets
 * `max(minScale, decay ^ (n - 1 - i))`.
 */
export function layerDecayScales(n: number, decay = 0.75, minScale = 0): number[] {
  if (!(decay > 0 && decay <= 1)) throw new TransferKitError('E_BAD_OPTION', `layerDecayScales: decay must be in (0, 1]. Received: decay=${decay}.`);
  return Array.from({ length: n }, (_, i) => Math.max(minScale, decay ** (n - 1 - i)));
}

/**
 * Splits a PretrainedModel's weighted layers into `n` contiguous groups: `n - 1` backbone groups
 * of similar depth, cut only at block starts (a conv/dense layer after a graph cut, so residual
 * blocks stay whole), and the head as the last group (as fastai's `splitter` and timm's
 * `group_matcher` separate body and head).
 */
export function layerGroups(pm: PretrainedModel, n: number): tfl.layers.Layer[][] {
  if (!Number.isInteger(n) || n < 2) throw new TransferKitError('E_BAD_OPTION', `layerGroups: n must be an integer >= 2 (at least one backbone group and the head). Received: n=${n}.`);
  const layers = pm.model.layers;
  const featureIdx = featureIndex(pm);
  const starts = [0, ...blockStarts(pm.model, featureIdx)];
  const bodyGroups = n - 1;
  if (starts.length < bodyGroups) {
    throw new TransferKitError('E_BAD_OPTION', `layerGroups: the backbone has ${starts.length} blocks, fewer than the ${bodyGroups} backbone groups asked for. Received: n=${n}.`);
  }
  // Boundaries nearest to equal fractions of the backbone's depth, strictly increasing.
  const cuts: number[] = [0];
  for (let g = 1; g < bodyGroups; g++) {
    const target = (featureIdx + 1) * (g / bodyGroups);
    const candidates = starts.filter((s) => s > cuts[cuts.length - 1]);
    const best = candidates.reduce((a, b) => (Math.abs(b - target) < Math.abs(a - target) ? b : a), candidates[0]);
    cuts.push(best);
  }
  cuts.push(featureIdx + 1);
  const groups = cuts.slice(0, -1).map((c, i) => layers.slice(c, cuts[i + 1]));
  groups.push(layers.slice(featureIdx + 1));
  return groups;
}

/** True for variables that get no weight decay: rank <= 1 (biases, BN/LN gamma and beta), as timm. */
export function isNoDecay(v: tf.Variable): boolean {
  return v.rank <= 1;
}

/** Options of {@link paramGroups}. */
export interface ParamGroupsOptions {
  /** Number of layer groups, head included (default 3: lower backbone, upper backbone, head). */
  groups?: number;
  /** Per-group rates, fastai's `slice(lo, hi)` (see {@link discriminativeLrs}); expressed as `lrScale` relative to the largest. */
  learningRate?: number | { lo?: number; hi: number };
  /** @deprecated Use `learningRate` (the one name across transferkit); kept for one release. */
  lr?: number | { lo?: number; hi: number };
  /** timm layer-wise decay factor instead of `learningRate` (scale `decay^(n-1-i)`). */
  layerDecay?: number;
  /** Floor of the layer-decay scale (default 0). */
  minScale?: number;
  /** Weight decay of decayed parameters (default: the optimizer's). */
  weightDecay?: number;
  /** Exempt biases and normalisation parameters from weight decay (default true). */
  excludeNoDecay?: boolean;
}

/**
 * Parameter groups over the model's *trainable* variables: per layer group, one group for decayed
 * weights and one (weight decay 0) for biases and norm parameters.
 * @example
 * ```ts
 * const groups = paramGroups(model, { groups: 3, learningRate: { lo: 1e-5, hi: 1e-3 }, weightDecay: 0.01 });
 * const opt = new AdamW(groups, { learningRate: 1e-3 }); // groups scale it by 0.01, 0.1, 1
 * ```
 */
export function paramGroups(pm: PretrainedModel, options: ParamGroupsOptions = {}): ParamGroup[] {
  const n = options.groups ?? 3;
  const layers = layerGroups(pm, n);
  let scales: number[];
  if (options.layerDecay !== undefined) scales = layerDecayScales(n, options.layerDecay, options.minScale ?? 0);
  else {
    const lrs = discriminativeLrs(options.learningRate ?? options.lr ?? 1, n);
    const top = Math.max(...lrs);
    scales = lrs.map((l) => l / top);
  }
  const out: ParamGroup[] = [];
  layers.forEach((group, i) => {
    const vars = group.flatMap((l) => l.trainableWeights.map((w) => w.read() as tf.Variable));
    const exclude = options.excludeNoDecay ?? true;
    const decayed = vars.filter((v) => !exclude || !isNoDecay(v));
    const plain = exclude ? vars.filter(isNoDecay) : [];
    const name = i === layers.length - 1 ? 'head' : `body_${i}`;
    if (decayed.length > 0) out.push({ params: decayed, lrScale: scales[i], ...(options.weightDecay !== undefined ? { weightDecay: options.weightDecay } : {}), name });
    if (plain.length > 0) out.push({ params: plain, lrScale: scales[i], weightDecay: 0, name: `${name}_no_decay` });
  });
  return out;
}
