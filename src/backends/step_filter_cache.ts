/**
 * Filters rearranged for the backward pass (flipped and channel-swapped for the convolution input
 * gradient, transposed for the pointwise one), kept for the duration of one training step.
 *
 * Why: a step accumulated over micro-batches (ResNet50 at 224 px on wasm: 8 micro-batches of 4)
 * runs every backward kernel once per micro-batch with the same filter tensors, since the weights
 * change only after the last one. Rebuilding the rearranged filter each time costs the rearranging
 * (18 ms for a 3x3x512x512 filter) and, because it is a new tensor, XNNPACK's weight packing
 * (~20 ms) — wasm's convolution operators are cached per filter tensor. Outside a step nothing is
 * cached. Keys are the source filters' buffers, which stay the same through a step because saved
 * tensors share their buffers (`Identity.ts`).
 */
import * as tf from '@tensorflow/tfjs-core';

let cache: Map<string, Map<object, tf.Tensor>> | null = null;

/** Runs `f` with a filter cache that is emptied (its tensors disposed) when `f` returns or throws. */
export function withStepFilterCache<T>(f: () => T): T {
  if (cache !== null) return f(); // nested: the outer scope owns the cache
  cache = new Map();
  try {
    return f();
  } finally {
    for (const byId of cache.values()) for (const t of byId.values()) t.dispose();
    cache = null;
  }
}

/**
 * The rearranged form `kind` of `filter`: from the step's cache when one is open (built by `make`
 * once per step and kept until the step ends), else freshly built in the caller's scope.
 */
export function rearrangedFilter(kind: string, filter: tf.TensorInfo, make: () => tf.Tensor): tf.Tensor {
  if (cache === null) return make();
  let byId = cache.get(kind);
  if (byId === undefined) cache.set(kind, (byId = new Map()));
  let t = byId.get(filter.dataId);
  if (t === undefined) {
    t = tf.keep(make());
    byId.set(filter.dataId, t);
  }
  return t;
}
