/**
 * Test-time augmentation, as fastai's `Learner.tta` (fastai 2.x `learner.py`): the model's class
 * probabilities are taken `n` times on randomly augmented copies of the inputs (the training
 * augmentations, drawn from a seeded generator) and averaged (`useMax`: the element-wise maximum
 * instead), once more on the plain inputs, and the two are blended as `torch.lerp(aug, plain,
 * beta)` = `(1 - beta) * aug + beta * plain` (fastai's defaults `n = 4`, `beta = 0.25`); with
 * `useMax` the result is `max(plain, aug)`.
 *
 * Why a library function: on small validation sets (49 ants/bees photos) one or two borderline
 * photos decide a point of accuracy; averaging over flips and crops is the cheap, standard way
 * to make such predictions steadier, and fastai users expect `tta()` beside `get_preds()`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { augmentBatch, flipSome, hasRandomAugment, type AugmentOptions } from '../data/augment.js';
import { TransferKitError } from '../errors.js';
import type { PretrainedModel } from '../models/pretrained_model.js';
import { mulberry32 } from '../utils/random.js';

/** Options of test-time augmentation (fastai `Learner.tta`'s arguments). */
export interface TtaOptions {
  /** The augmentations of the `n` passes (default `{ flip: true }`: random horizontal flips). */
  augment?: AugmentOptions;
  /** Augmented passes (fastai `n`, default 4). */
  n?: number;
  /** Weight of the plain prediction in the blend (fastai `beta`, default 0.25; 0: augmented passes only). */
  beta?: number;
  /** Take the element-wise maximum instead of means (fastai `use_max`, default false). */
  useMax?: boolean;
  /** Seed of the augmentations (default 1). */
  seed?: number;
}

function checkTta(o: TtaOptions): void {
  if (o.n !== undefined && (!Number.isInteger(o.n) || o.n < 1)) {
    throw new TransferKitError('E_BAD_OPTION', `tta.n must be a whole number >= 1 (augmented passes); got ${o.n}.`);
  }
  if (o.beta !== undefined && !(o.beta >= 0 && o.beta <= 1)) {
    throw new TransferKitError('E_BAD_OPTION', `tta.beta must be in [0, 1] (the plain prediction's weight); got ${o.beta}.`);
  }
}

/**
 * Class probabilities of `pm` on images `xs` [N, H, W, C] with test-time augmentation (see the
 * module comment for the exact blend). Inference mode; the caller disposes the result.
 */
export function predictTta(pm: PretrainedModel, xs: tf.Tensor, options: TtaOptions = {}, batchSize = 32): tf.Tensor2D {
  checkTta(options);
  if (xs.rank !== 4) {
    throw new TransferKitError('E_DATA', `Test-time augmentation augments images [N, H, W, C]; got inputs of shape [${xs.shape.join(', ')}].`);
  }
  const n = options.n ?? 4;
  const beta = options.beta ?? 0.25;
  const augment = options.augment ?? { flip: true };
  const flip = augment.flip ?? true;
  // Nothing random to apply: every pass would equal the plain prediction, and so would the blend.
  const passes = flip || hasRandomAugment(augment) ? n : 0;
  const rand = mulberry32(options.seed ?? 1);
  const count = xs.shape[0];
  const run = (x: tf.Tensor) => pm.model.apply(x, { training: false }) as tf.Tensor;
  const parts: tf.Tensor[] = [];
  for (let i = 0; i < count; i += batchSize) {
    parts.push(
      tf.tidy(() => {
        const b = Math.min(batchSize, count - i);
        const x = tf.slice(xs, i, b) as tf.Tensor4D;
        const plain = run(x);
        if (passes === 0) return plain;
        let agg: tf.Tensor | null = null;
        for (let k = 0; k < passes; k++) {
          // One pass: the same draws fastai's training pipeline makes (flip per example, then the rest).
          let input: tf.Tensor = x;
          if (flip) input = flipSome(input, Array.from({ length: b }, () => rand() < 0.5));
          if (hasRandomAugment(augment)) input = augmentBatch(input as tf.Tensor4D, augment, rand);
          const p = run(input);
          agg = agg === null ? p : options.useMax ? tf.maximum(agg, p) : tf.add(agg, p);
        }
        const aug = options.useMax ? (agg as tf.Tensor) : tf.div(agg as tf.Tensor, n);
        return options.useMax ? tf.maximum(plain, aug) : tf.add(tf.mul(aug, 1 - beta), tf.mul(plain, beta));
      }),
    );
  }
  const out = tf.concat(parts, 0) as tf.Tensor2D;
  tf.dispose(parts);
  return out;
}
