/**
 * Activation caching: the outputs of a model's frozen, deterministic prefix, computed once per
 * stage (for each example and, with flips, its mirror), so training steps run only the layers
 * above the cut. See `cachePoint` in graph_executor.ts for when a cut is valid.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { runLayers } from './graph_executor.js';

/**
 * A frozen prefix's outputs for every example (and, with flips, for the mirrored example).
 * When nothing is cached (`from === 0`) the inputs are borrowed, not copied, and mirrored per batch.
 */
export interface Cache {
  from: number;
  plain: tf.Tensor;
  flipped: tf.Tensor | null;
  /** False when `plain` is the caller's tensor (never disposed here). */
  owned: boolean;
}

function flipImages(x: tf.Tensor): tf.Tensor {
  return tf.reverse(x, 2);
}

export function computeCache(model: tfl.LayersModel, from: number, xs: tf.Tensor, withFlip: boolean, batchSize: number): Cache {
  if (from === 0) return { from, plain: xs, flipped: null, owned: false };
  const run = (flip: boolean) => {
    const parts: tf.Tensor[] = [];
    for (let i = 0; i < xs.shape[0]; i += batchSize) {
      parts.push(tf.tidy(() => {
        let x = tf.slice(xs, i, Math.min(batchSize, xs.shape[0] - i));
        if (flip) x = flipImages(x);
        return runLayers(model, 0, x, from, false);
      }));
    }
    const all = tf.concat(parts, 0);
    tf.dispose(parts);
    return all;
  };
  return { from, plain: run(false), flipped: withFlip ? run(true) : null, owned: true };
}

export function disposeCache(cache: Cache | null): void {
  if (cache === null) return;
  if (cache.owned) cache.plain.dispose();
  cache.flipped?.dispose();
}

export function batchInputs(cache: Cache, idx: Int32Array, flips: boolean[] | null): tf.Tensor {
  const i = tf.tensor1d(idx, 'int32');
  const plain = tf.gather(cache.plain, i);
  if (flips === null || !flips.some((f) => f)) return plain;
  const mirrored = cache.flipped !== null ? tf.gather(cache.flipped, i) : flipImages(plain);
  const mask = tf.tensor1d(flips.map((f) => (f ? 1 : 0)), 'bool');
  const shape = [idx.length, ...new Array(plain.rank - 1).fill(1)];
  return tf.where(tf.reshape(mask, shape), mirrored, plain);
}

