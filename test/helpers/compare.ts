import * as tf from '@tensorflow/tfjs-core';

/** max |a - b| / max |a| (with a floor so all-zero references compare absolutely). */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(a[i]));
  }
  return diff / Math.max(scale, 1e-6);
}

/** Copies a tensor's values out (so they survive a backend switch or disposal). */
export function values(t: tf.Tensor): Float32Array {
  return Float32Array.from(t.dataSync());
}

/**
 * Compares per-variable gradients. A gradient that is mathematically zero (e.g. the bias of a
 * conv feeding a training-mode BatchNorm, which subtracts the batch mean) is float noise on both
 * backends, so a relative error is meaningless: such tensors (reference below 1e-6 of the
 * model's largest gradient) must instead be ~0 on both sides at that same scale.
 * @returns the worst relative error among the non-degenerate tensors.
 */
export function worstGradError(ref: Float32Array[], got: Float32Array[]): number {
  const maxAbs = (a: Float32Array) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  const global = Math.max(...ref.map(maxAbs));
  let worst = 0;
  ref.forEach((r, i) => {
    if (maxAbs(r) < 1e-6 * global) {
      if (maxAbs(got[i]) > 1e-6 * global) worst = Math.max(worst, Infinity);
    } else worst = Math.max(worst, relErr(r, got[i]));
  });
  return worst;
}

/**
 * Index of the first element where `a` and `b` differ bit for bit (-1: identical, same length and
 * type). A byte comparison: vitest's deep `toEqual` on arrays of millions of numbers blocks the
 * worker for seconds per tensor (see test/helpers/run.ts for why that matters).
 */
export function firstBitDifference(a: ArrayBufferView & ArrayLike<unknown>, b: ArrayBufferView & ArrayLike<unknown>): number {
  if (a.constructor !== b.constructor || a.length !== b.length) return 0;
  const x = Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  const y = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  if (x.equals(y)) return -1;
  const width = a.byteLength / Math.max(1, a.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return Math.floor(i / width);
  return 0;
}
