/**
 * The fused training-mode BatchNorm (transferkit's default) computes the same outputs,
 * gradients and moving statistics as tfjs-layers' own composition, on cpu and wasm.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/index.js';
import { applyKerasBatchNormSemantics, useFusedBatchNorm } from '../../src/transfer/batch_norm.js';
import { relErr, values } from '../helpers/compare.js';

function model(): tfl.LayersModel {
  const inp = tfl.input({ shape: [5, 5, 6] });
  let x = tfl.layers.conv2d({ filters: 6, kernelSize: 3, padding: 'same', useBias: false, kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }) }).apply(inp) as tfl.SymbolicTensor;
  x = tfl.layers.batchNormalization({ name: 'bn', gammaInitializer: tfl.initializers.randomNormal({ mean: 1, stddev: 0.3, seed: 2 }), betaInitializer: tfl.initializers.randomNormal({ stddev: 0.3, seed: 3 }), momentum: 0.9 }).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.reLU({ maxValue: 6 }).apply(x) as tfl.SymbolicTensor;
  const m = tfl.model({ inputs: inp, outputs: x });
  applyKerasBatchNormSemantics(m);
  return m;
}

function step(fused: boolean, backend: string) {
  tf.setBackend(backend);
  useFusedBatchNorm(fused);
  const m = model();
  const x = tf.randomNormal([4, 5, 5, 6], 0.5, 2, 'float32', 7);
  const w = tf.sin(tf.reshape(tf.range(0, 4 * 5 * 5 * 6), [4, 5, 5, 6]));
  const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(m.apply(x, { training: true }) as tf.Tensor, w)) as tf.Scalar);
  const dx = tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(m.apply(xi, { training: true }) as tf.Tensor, w)))(x);
  const bn = m.getLayer('bn');
  return {
    loss: value.dataSync()[0],
    grads: Object.keys(grads).sort().map((k) => values(grads[k])),
    dx: values(dx),
    stats: bn.getWeights().slice(2).map(values),
  };
}

beforeAll(async () => {
  await useBackend('cpu');
  await useBackend('wasm');
});
afterEach(() => useFusedBatchNorm(true));

describe('fused training-mode BatchNorm', () => {
  for (const backend of ['cpu', 'wasm']) {
    it(`matches tfjs-layers' BatchNormalization on ${backend}: output, gradients, moving statistics`, () => {
      const ref = step(false, backend);
      const got = step(true, backend);
      expect(Math.abs(got.loss - ref.loss) / Math.abs(ref.loss)).toBeLessThan(1e-5);
      expect(got.grads.length).toBe(ref.grads.length);
      ref.grads.forEach((g, i) => expect(relErr(g, got.grads[i])).toBeLessThan(1e-4));
      expect(relErr(ref.dx, got.dx)).toBeLessThan(1e-4);
      // Two training applications (variableGrads, then grad) updated the moving statistics.
      ref.stats.forEach((s, i) => expect(relErr(s, got.stats[i])).toBeLessThan(1e-5));
    });
  }
});
