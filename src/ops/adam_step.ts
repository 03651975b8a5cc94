/**
 * One Adam / AdamW parameter update as a pure function of (p, g, m, v): the formula of
 * {@link Adam} in one place, so that a backend can run it as ONE kernel (`TkAdamUpdate`, the
 * wasm SIMD kernel of `backends/wasm/kernels/AdamUpdate.ts`) with results bit-identical to the
 * composed ops here. Why: composed, the update is ~13 element-wise kernels per parameter
 * (MobileNetV2: ~2,000 kernel calls and as many full passes over the weights per step).
 */
import * as tf from '@tensorflow/tfjs-core';
import { AdamUpdate } from '../kernel_names.js';

/** Hyper-parameters of one update at step `t` (1-based). */
export interface AdamStepAttrs {
  lr: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  weightDecay: number;
  /** AdamW (decay the weights) rather than Adam (add `wd * p` to the gradient). */
  decoupled: boolean;
  t: number;
}

/** PyTorch's `_single_tensor_adam` (amsgrad off) with TF.js ops: returns [p, m, v]. */
export function adamStepComposed(p: tf.Tensor, grad: tf.Tensor, m: tf.Tensor, v: tf.Tensor, a: AdamStepAttrs): [tf.Tensor, tf.Tensor, tf.Tensor] {
  const { lr, beta1: b1, beta2: b2, epsilon: eps, weightDecay: wd, decoupled, t } = a;
  let g = grad;
  let w = p;
  if (wd !== 0 && decoupled) w = tf.mul(p, 1 - lr * wd);
  else if (wd !== 0) g = tf.add(g, tf.mul(p, wd));
  const m1 = tf.add(tf.mul(m, b1), tf.mul(g, 1 - b1));
  const v1 = tf.add(tf.mul(v, b2), tf.mul(tf.square(g), 1 - b2));
  const bc1 = 1 - b1 ** t;
  const bc2 = 1 - b2 ** t;
  const denom = tf.add(tf.div(tf.sqrt(v1), Math.sqrt(bc2)), eps);
  return [tf.sub(w, tf.mul(tf.div(m1, denom), lr / bc1)), m1, v1];
}

/** The update through the backend's fused kernel where it has one, else composed. Returns [p, m, v]. */
export function adamStep(p: tf.Tensor, g: tf.Tensor, m: tf.Tensor, v: tf.Tensor, a: AdamStepAttrs): [tf.Tensor, tf.Tensor, tf.Tensor] {
  const fused = p.dtype === 'float32' && g.dtype === 'float32' && tf.getKernel(AdamUpdate, tf.getBackend()) !== undefined;
  if (!fused) return adamStepComposed(p, g, m, v, a);
  const out = tf.engine().runKernel(AdamUpdate, { p, g, m, v }, a as unknown as tf.NamedAttrMap) as tf.Tensor[];
  return [out[0], out[1], out[2]];
}
