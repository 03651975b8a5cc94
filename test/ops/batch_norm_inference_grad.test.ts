/**
 * Inference-mode BatchNorm's gradient (transferkit's replacement of tfjs-core's FusedBatchNorm
 * gradient): equal to the gradient of the same function written as element-wise ops, for every
 * input, for image and dense inputs, on cpu and wasm — and computed without a full-size `tile`.
 * (Without gamma, tfjs-core 4.22's engine cannot record the op on a tape at all — it saves the
 * absent `scale` input and fails — so that case is not reachable.)
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/index.js';
import { relErr, values } from '../helpers/compare.js';

const EPS = 1e-3;

/** The function tf.batchNorm computes, as element-wise ops (differentiated by tfjs's own element-wise gradients). */
function composed(x: tf.Tensor, mean: tf.Tensor, variance: tf.Tensor, offset: tf.Tensor, scale: tf.Tensor): tf.Tensor {
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, EPS))), scale), offset);
}

function inputs(shape: number[]) {
  const c = shape[shape.length - 1];
  return {
    x: tf.randomNormal(shape, 0.3, 2, 'float32', 1),
    mean: tf.randomNormal([c], 0, 1, 'float32', 2),
    variance: tf.add(tf.randomUniform([c], 0.05, 3, 'float32', 3), 0),
    scale: tf.randomNormal([c], 1, 0.5, 'float32', 4),
    offset: tf.randomNormal([c], 0, 0.5, 'float32', 5),
    // A weighting that is not constant, so every gradient is non-trivial.
    w: tf.sin(tf.reshape(tf.range(0, shape.reduce((a, b) => a * b)), shape)),
  };
}

/** Gradients of sum(bn(x)·w) for [x, mean, variance, offset, scale], through tf.batchNorm and through `composed`. */
function bothGradients(shape: number[]): { got: Float32Array[]; ref: Float32Array[] } {
  return tf.tidy(() => {
    const t = inputs(shape);
    const args = [t.x, t.mean, t.variance, t.offset, t.scale];
    const loss = (f: (...a: tf.Tensor[]) => tf.Tensor) => (...a: tf.Tensor[]) => tf.sum(tf.mul(f(...a), t.w));
    const fused = tf.grads(loss((x, m, v, o, s) => tf.batchNorm(x, m, v, o, s, EPS)))(args);
    const ref = tf.grads(loss((x, m, v, o, s) => composed(x, m, v, o, s)))(args);
    return { got: fused.map(values), ref: ref.map(values) };
  });
}

beforeAll(async () => {
  await useBackend('cpu');
  await useBackend('wasm');
});

describe('inference-mode BatchNorm gradient', () => {
  for (const backend of ['cpu', 'wasm']) {
    for (const [label, shape] of [['image [N,H,W,C]', [3, 4, 5, 6]], ['dense [N,C]', [7, 6]]] as const) {
      it(`equals the element-wise formula's gradient on ${backend}, ${label}`, () => {
        tf.setBackend(backend);
        const { got, ref } = bothGradients([...shape]);
        expect(got).toHaveLength(5);
        got.forEach((g, i) => {
          expect(g.length).toBe(ref[i].length);
          expect(relErr(ref[i], g)).toBeLessThan(1e-5);
        });
      });
    }
  }

  it('runs no Tile kernel, and only the gradients the tape needs (x, gamma, beta: fixed statistics are not trained)', async () => {
    tf.setBackend('wasm');
    const t = inputs([2, 8, 8, 16]);
    // x as a variable stands for the output of a trainable layer below: its gradient is needed.
    const [x, gamma, beta] = [tf.variable(t.x), tf.variable(t.scale), tf.variable(t.offset)];
    const before = tf.memory().numTensors;
    const profile = await tf.profile(() => {
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(tf.batchNorm(x, t.mean, t.variance, beta, gamma, EPS), t.w)), [x, gamma, beta]);
      expect(Object.keys(grads)).toHaveLength(3);
      tf.dispose([value, ...Object.values(grads)]);
    });
    const names = profile.kernels.map((k) => k.name);
    expect(names).toContain('FusedBatchNorm');
    expect(names).not.toContain('Tile');
    // dmean / dvar would each run a Pow or Neg; neither is on this tape.
    expect(names).not.toContain('Pow');
    expect(names).not.toContain('Neg');
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([...Object.values(t), x, gamma, beta]);
  });
});
