/**
 * The fused training-mode BatchNorm (transferkit's default) computes the same outputs,
 * gradients and moving statistics as tfjs-layers' own composition, on cpu and wasm.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/index.js';
import { applyKerasBatchNormSemantics, useFusedBatchNorm } from '../../src/layers/batch_norm.js';
import { relErr, values } from '../helpers/compare.js';
import { BatchNormActTrain, BatchNormActTrainGrad } from '../../src/kernel_names.js';
import { batchNormActTrainGradComposed, batchNormTrainComposed } from '../../src/ops/batch_norm_train.js';

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

describe('one-kernel BatchNorm on wasm (SIMD) against the composed ops on cpu', () => {
  // [shape, mean, std]: conv-like, dense-like with a large offset (|mean| >> std: the shifted sums
  // must not cancel), a channel count with a scalar tail, and more rows than one 64-row block.
  const cases: [number[], number, number][] = [[[8, 7, 7, 32], 0.5, 2], [[300, 13], 1000, 0.1], [[3, 5, 5, 6], -3, 1], [[2, 130, 4], 0, 1]];
  for (const [shape, mu, sd] of cases) {
    it(`shape ${JSON.stringify(shape)}, mean ${mu}, std ${sd}: output, statistics and gradients`, async () => {
      const { batchNormTrain } = await import('../../src/ops/batch_norm_train.js');
      const { simdKernels } = await import('../../src/backends/wasm/simd/simd_kernels.js');
      const c = shape[shape.length - 1];
      const run = (backend: string) => {
        tf.setBackend(backend);
        return tf.tidy(() => {
          const x = tf.randomNormal(shape, mu, sd, 'float32', 31);
          const g = tf.randomNormal([c], 1, 0.3, 'float32', 32) as tf.Tensor1D;
          const b = tf.randomNormal([c], 0, 0.3, 'float32', 33) as tf.Tensor1D;
          const w = tf.randomNormal(shape, 0, 1, 'float32', 34);
          const f = (xi: tf.Tensor, gi: tf.Tensor, bi: tf.Tensor) => {
            const r = batchNormTrain(xi, gi as tf.Tensor1D, bi as tf.Tensor1D, 1e-3);
            r.mean.dispose();
            r.variance.dispose();
            return tf.sum(tf.mul(r.y, w));
          };
          const fwd = batchNormTrain(x, g, b, 1e-3);
          const out = [fwd.y, fwd.mean, fwd.variance, ...tf.grads(f)([x, g, b])].map(values);
          fwd.mean.dispose(); // the statistics are kept out of tidy for the moving averages
          fwd.variance.dispose();
          return out;
        });
      };
      const ref = run('cpu');
      tf.setBackend('wasm');
      expect(simdKernels(tf.backend())).not.toBeNull();
      const before = tf.memory().numTensors;
      const got = run('wasm');
      expect(tf.memory().numTensors).toBe(before);
      const names = ['y', 'mean', 'variance', 'dx', 'dgamma', 'dbeta'];
      ref.forEach((r, i) => expect(relErr(r, got[i]), names[i]).toBeLessThan(2e-5));
    });
  }
});

describe('BN → ReLU/ReLU6 as one kernel on wasm (SIMD) against BN, clip and the masked gradient on cpu', () => {
  const run = (backend: string, shape: number[], max: number, fused: boolean, betaNaN = false) => {
    tf.setBackend(backend);
    const c = shape[shape.length - 1];
    return tf.tidy(() => {
      const x = tf.randomNormal(shape, 1, 0.5, 'float32', 41);
      // beta around 3 and gamma around 2: a good share of outputs above 6 and below 0.
      const g = tf.randomNormal([c], 2, 2, 'float32', 42);
      // A NaN beta makes channel 0's pre-activations NaN while gamma * rstd stays finite, so only
      // the mask passing NaN (not the scale) can make that channel's dx NaN.
      const b = betaNaN ? tf.concat([tf.tensor1d([NaN]), tf.fill([c - 1], 3)]) : tf.randomNormal([c], 3, 3, 'float32', 43);
      const dy = tf.randomNormal(shape, 0, 1, 'float32', 44);
      if (!fused) {
        const [y0, m, v, r] = batchNormTrainComposed(x, g as tf.Tensor1D, b as tf.Tensor1D, 1e-3);
        return [tf.clipByValue(y0, 0, max), m, v, r, ...batchNormActTrainGradComposed(dy, x, g as tf.Tensor1D, b as tf.Tensor1D, m, r, max)].map(values);
      }
      const f = tf.engine().runKernel(BatchNormActTrain, { x, gamma: g, beta: b }, { epsilon: 1e-3, max }) as tf.Tensor[];
      const d = tf.engine().runKernel(BatchNormActTrainGrad, { dy, x, gamma: g, beta: b, mean: f[1], rstd: f[3] }, { max }) as tf.Tensor[];
      return [...f, ...d].map(values);
    });
  };
  // 70 channels: a scalar tail after 17 vectors; 3·17·19 rows: several 64-row blocks.
  for (const max of [6, Infinity]) {
    it(`${max === 6 ? 'ReLU6' : 'ReLU'}: output, statistics and gradients (max rel. error 2e-5; dx 5e-4)`, async () => {
      const { simdKernels } = await import('../../src/backends/wasm/simd/simd_kernels.js');
      const shape = [3, 17, 19, 70];
      const ref = run('cpu', shape, max, false);
      tf.setBackend('wasm');
      expect(simdKernels(tf.backend())).not.toBeNull();
      const before = tf.memory().numTensors;
      const got = run('wasm', shape, max, true);
      expect(tf.memory().numTensors).toBe(before);
      const names = ['y', 'mean', 'variance', 'rstd', 'dx', 'dgamma', 'dbeta'];
      ref.forEach((r, i) => expect(relErr(r, got[i]), names[i]).toBeLessThan(names[i] === 'dx' ? 5e-4 : 2e-5));
      const clamped = ref[0].filter((v) => v === 0 || v === max).length;
      expect(clamped / ref[0].length).toBeGreaterThan(max === 6 ? 0.2 : 0.1); // the mask matters
    });
  }

  it('a NaN pre-activation passes through the fused forward and its gradient (as tfjs relu)', () => {
    const [y, , , , dx] = run('wasm', [2, 5, 5, 6], Infinity, true, true);
    for (let i = 0; i < y.length; i++) {
      expect(Number.isNaN(y[i]), `y[${i}]`).toBe(i % 6 === 0);
      expect(Number.isNaN(dx[i]), `dx[${i}]`).toBe(i % 6 === 0);
    }
  });
});
