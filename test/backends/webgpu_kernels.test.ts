/**
 * transferkit's hand-written WGSL kernels (src/backends/webgpu/kernels/) against the composed
 * TF.js ops they replace, run on the cpu backend: Adam/AdamW, training-mode BatchNorm forward,
 * gradient and moving update, the ReLU6 gradient. Without a GPU this runs on Mesa's llvmpipe.
 */
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { adamStepComposed, type AdamStepAttrs } from '../../src/ops/adam_step.js';
import { batchNormActTrainGradComposed, batchNormMovingUpdateComposed, batchNormTrainComposed, batchNormTrainGradComposed } from '../../src/ops/batch_norm_train.js';
import { AdamUpdate, BatchNormActTrain, BatchNormActTrainGrad, BatchNormTrain, BatchNormTrainGrad, ClipByValueGrad, FoldBatchNorm } from '../../src/kernel_names.js';
import { relErr } from '../helpers/compare.js';
import { webgpuForTests } from '../helpers/webgpu.js';
import { crossEntropy, taskMetricSum } from '../../src/train/losses.js';

const webgpu = webgpuForTests();

/** Random values (deterministic) copied out of the cpu backend. */
function rand(shape: number[], seed: number, mean = 0, std = 1): { shape: number[]; data: Float32Array } {
  const t = tf.randomNormal(shape, mean, std, 'float32', seed);
  const data = Float32Array.from(t.dataSync());
  t.dispose();
  return { shape, data };
}

/** Runs `f` on `backend` over fresh tensors of `args` and reads every output back. */
async function on(backend: string, args: Array<{ shape: number[]; data: Float32Array }>, f: (...t: tf.Tensor[]) => tf.Tensor[]): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const ts = args.map((a) => tf.tensor(a.data, a.shape));
  const before = tf.memory().numTensors;
  const outs = tf.tidy(() => f(...ts));
  const vals = await Promise.all(outs.map(async (o) => Float32Array.from((await o.data()) as Float32Array)));
  tf.dispose(outs);
  expect(tf.memory().numTensors).toBe(before);
  tf.dispose(ts);
  return vals;
}

const skipWithout = (ctx: { skip: () => void }): boolean => {
  if (webgpu.info !== null) return false;
  console.log(`[skip] webgpu: ${webgpu.why}`);
  ctx.skip();
  return true;
};

describe('WGSL kernels equal the composed ops on cpu', () => {
  const adamCases: Array<[string, number[], Partial<AdamStepAttrs>]> = [
    ['Adam, no decay, odd size', [7, 13], {}],
    ['Adam, L2 decay', [3, 3, 5, 17], { weightDecay: 0.01 }],
    ['AdamW, decoupled decay, step 7', [1000], { weightDecay: 0.05, decoupled: true, t: 7 }],
    ['Adam, 70k values (many workgroups)', [70_001], { lr: 3e-4, beta1: 0.85, t: 3 }],
  ];
  for (const [name, shape, over] of adamCases) {
    it(`TkAdamUpdate: ${name}`, async (ctx) => {
      if (skipWithout(ctx)) return;
      const a: AdamStepAttrs = { lr: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0, decoupled: false, t: 1, ...over };
      await tf.setBackend('cpu');
      const v = rand(shape, 4);
      v.data.forEach((x, i) => (v.data[i] = Math.abs(x) * 1e-3)); // a second moment is non-negative
      const args = [rand(shape, 1), rand(shape, 2, 0, 0.1), rand(shape, 3, 0, 0.01), v];
      const ref = await on('cpu', args, (p, g, m, s) => adamStepComposed(p, g, m, s, a));
      const got = await on('webgpu', args, (p, g, m, s) => tf.engine().runKernel(AdamUpdate, { p, g, m, v: s }, a as unknown as tf.NamedAttrMap) as tf.Tensor[]);
      ref.forEach((r, i) => expect(relErr(r, got[i])).toBeLessThan(1e-6));
      expect(relErr(args[0].data, got[0])).toBeGreaterThan(1e-6); // the parameter moved
    });
  }

  const bnCases: Array<[string, number[], number, number]> = [
    ['[2, 5, 5, 3]', [2, 5, 5, 3], 0, 1],
    ['130 channels (3 channel tiles), 7 rows', [7, 130], 0.5, 2],
    ['20,000 rows (several row slices)', [5, 40, 100, 3], -1, 0.5],
    ['mean 1000, std 0.01 (shifted variance)', [4, 9, 9, 6], 1000, 0.01],
  ];
  for (const [name, shape, mean, std] of bnCases) {
    it(`TkBatchNormTrain + TkBatchNormTrainGrad: ${name}`, async (ctx) => {
      if (skipWithout(ctx)) return;
      await tf.setBackend('cpu');
      const c = shape[shape.length - 1];
      const args = [rand(shape, 1, mean, std), rand([c], 2, 1, 0.2), rand([c], 3), rand(shape, 4)];
      const fwd = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.engine().runKernel(BatchNormTrain, { x, gamma: g, beta: b }, { epsilon: 1e-3 }) as tf.Tensor[];
      const grad = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor, dy: tf.Tensor) => {
        const [y, m, v, r] = fwd(x, g, b);
        const d = tf.engine().runKernel(BatchNormTrainGrad, { dy, x, gamma: g, mean: m, rstd: r }, {}) as tf.Tensor[];
        return [y, m, v, r, ...d];
      };
      const ref = await on('cpu', args, (x, g, b, dy) => {
        const [y, m, v, r] = batchNormTrainComposed(x, g as tf.Tensor1D, b as tf.Tensor1D, 1e-3);
        return [y, m, v, r, ...batchNormTrainGradComposed(dy, x, g as tf.Tensor1D, m, r)];
      });
      const got = await on('webgpu', args, grad);
      const names = ['y', 'mean', 'variance', 'rstd', 'dx', 'dgamma', 'dbeta'];
      // float32 sums in another order: ~1e-5 relative on 20,000 rows.
      ref.forEach((r, i) => expect(relErr(r, got[i]), names[i]).toBeLessThan(names[i] === 'dx' ? 5e-4 : 5e-5));
    });
  }

  it('TkBatchNormTrain with the moving statistics: updated in the same kernel (tfjs-layers formula)', async (ctx) => {
    if (skipWithout(ctx)) return;
    await tf.setBackend('cpu');
    const args = [rand([6, 4, 4, 70], 1, 3, 2), rand([70], 2, 1, 0.1), rand([70], 3), rand([70], 4), rand([70], 5, 2, 0.1)];
    args[4].data.forEach((v, i) => (args[4].data[i] = Math.abs(v)));
    const ref = await on('cpu', args, (x, g, b, mm, mv) => {
      const out = batchNormTrainComposed(x, g as tf.Tensor1D, b as tf.Tensor1D, 1e-3);
      return [...out, ...batchNormMovingUpdateComposed(mm, mv, out[1], out[2], 0.99)];
    });
    const got = await on('webgpu', args, (x, g, b, mm, mv) => tf.engine().runKernel(BatchNormTrain, { x, gamma: g, beta: b, movingMean: mm, movingVariance: mv }, { epsilon: 1e-3, momentum: 0.99 }) as tf.Tensor[]);
    expect(got).toHaveLength(6);
    ref.forEach((r, i) => expect(relErr(r, got[i]), String(i)).toBeLessThan(5e-5));
  });

  for (const max of [6, Infinity]) {
    it(`TkBatchNormActTrain + grad (BN then ${max === 6 ? 'ReLU6' : 'ReLU'}) equal BN, clip and the masked gradient on cpu`, async (ctx) => {
      if (skipWithout(ctx)) return;
      await tf.setBackend('cpu');
      const shape = [3, 17, 19, 70];
      // beta around 3 and gamma around 2: a good share of outputs above 6 and below 0.
      const args = [rand(shape, 1, 0.5, 2), rand([70], 2, 2, 1), rand([70], 3, 3, 2), rand(shape, 4), rand([70], 5), rand([70], 6, 1, 0.1)];
      args[5].data.forEach((v, i) => (args[5].data[i] = Math.abs(v)));
      const ref = await on('cpu', args, (x, g, b, dy, mm, mv) => {
        const [y0, m, v, r] = batchNormTrainComposed(x, g as tf.Tensor1D, b as tf.Tensor1D, 1e-3);
        return [tf.clipByValue(y0, 0, max), m, v, r, ...batchNormMovingUpdateComposed(mm, mv, m, v, 0.9), ...batchNormActTrainGradComposed(dy, x, g as tf.Tensor1D, b as tf.Tensor1D, m, r, max)];
      });
      const got = await on('webgpu', args, (x, g, b, dy, mm, mv) => {
        const f = tf.engine().runKernel(BatchNormActTrain, { x, gamma: g, beta: b, movingMean: mm, movingVariance: mv }, { epsilon: 1e-3, momentum: 0.9, max }) as tf.Tensor[];
        const d = tf.engine().runKernel(BatchNormActTrainGrad, { dy, x, gamma: g, beta: b, mean: f[1], rstd: f[3] }, { max }) as tf.Tensor[];
        return [...f, ...d];
      });
      const names = ['y', 'mean', 'variance', 'rstd', 'movingMean', 'movingVariance', 'dx', 'dgamma', 'dbeta'];
      ref.forEach((r, i) => expect(relErr(r, got[i]), names[i]).toBeLessThan(names[i] === 'dx' ? 5e-4 : 5e-5));
      const y = ref[0];
      const clamped = y.filter((v) => v === 0 || v === max).length;
      expect(clamped / y.length).toBeGreaterThan(max === 6 ? 0.2 : 0.1); // the mask matters
    });
  }

  it('TkCrossEntropy + grad equal the composed loss and its gradient (clip edges, smoothing, NaN kept)', async (ctx) => {
    if (skipWithout(ctx)) return;
    await tf.setBackend('cpu');
    const logits = rand([300, 7], 1, 0, 4);
    const probs = { shape: logits.shape, data: Float32Array.from(tf.tidy(() => tf.softmax(tf.tensor(logits.data, logits.shape))).dataSync()) };
    probs.data[0] = 0; // below the clip: no gradient
    probs.data[1] = 1;
    const target = { shape: [300, 7], data: Float32Array.from(tf.tidy(() => tf.add(tf.mul(tf.oneHot(tf.tensor1d(Array.from({ length: 300 }, (_, i) => (i * 5) % 7), 'int32'), 7), 0.9), 0.1 / 7)).dataSync()) };
    const run = async (backend: string) => {
      await tf.setBackend(backend);
      const pv = tf.variable(tf.tensor(probs.data, probs.shape), true, `ce_probs_${backend}`);
      const t = tf.tensor(target.data, target.shape);
      const { value: l, grads } = tf.variableGrads(() => crossEntropy(pv, t));
      const g = grads[pv.name];
      const vals = [Float32Array.from(await l.data()), Float32Array.from(await g.data())];
      tf.dispose([l, g, t, pv]);
      return vals;
    };
    const ref = await run('cpu');
    const got = await run('webgpu');
    expect(Math.abs(got[0][0] - ref[0][0]) / ref[0][0]).toBeLessThan(1e-6);
    expect(relErr(ref[1], got[1])).toBeLessThan(1e-6);
    expect(got[1][0]).toBe(0);
    // Label smoothing builds the target inside the loss function, i.e. inside variableGrads'
    // forward tidy: the gradient must still read it.
    const smoothed = async (backend: string) => {
      await tf.setBackend(backend);
      const pv = tf.variable(tf.tensor(probs.data, probs.shape), true, `ce_smooth_${backend}`);
      const hard = tf.oneHot(tf.tensor1d(Array.from({ length: 300 }, (_, i) => i % 7), 'int32'), 7);
      const { value, grads } = tf.variableGrads(() => crossEntropy(pv, hard, { labelSmoothing: 0.1 }));
      const vals = [Float32Array.from(await value.data()), Float32Array.from(await grads[pv.name].data())];
      tf.dispose([value, grads[pv.name], pv, hard]);
      return vals;
    };
    const sRef = await smoothed('cpu');
    const sGot = await smoothed('webgpu');
    expect(Math.abs(sGot[0][0] - sRef[0][0]) / sRef[0][0]).toBeLessThan(1e-6);
    expect(relErr(sRef[1], sGot[1])).toBeLessThan(1e-6);
    // int32 one-hot targets (tf.oneHot's dtype) read as such.
    const ints = tf.tidy(() => [crossEntropy(tf.tensor2d([[0.2, 0.8], [0.6, 0.4]]), tf.oneHot(tf.tensor1d([1, 0], 'int32'), 2))]);
    expect((await ints[0].data())[0]).toBeCloseTo(-(Math.log(0.8) + Math.log(0.6)) / 2, 6);
    tf.dispose(ints);
    // A NaN probability gives a NaN loss (the divergence guard relies on it).
    await tf.setBackend('webgpu');
    const nanLoss = tf.tidy(() => crossEntropy(tf.tensor2d([[NaN, 1]]), tf.tensor2d([[0, 1]])));
    expect(Number.isNaN((await nanLoss.data())[0])).toBe(true);
    nanLoss.dispose();
  });

  it('TkMulticlassHits equals argMax/equal/sum, first index on ties, float and int32 targets', async (ctx) => {
    if (skipWithout(ctx)) return;
    const out = [[0.1, 0.7, 0.2], [0.5, 0.5, 0], [0.2, 0.3, 0.5], [0.9, 0.05, 0.05], [0.3, 0.3, 0.4]];
    const labels = [1, 0, 1, 0, 2];
    for (const backend of ['cpu', 'webgpu']) {
      await tf.setBackend(backend);
      for (const dtype of ['float32', 'int32'] as const) {
        const h = tf.tidy(() => taskMetricSum('multiclass', tf.tensor2d(out), tf.cast(tf.oneHot(tf.tensor1d(labels, 'int32'), 3), dtype)));
        expect(await h.data(), `${backend} ${dtype}`).toEqual(new Float32Array([4]));
        h.dispose();
      }
    }
    await tf.setBackend('cpu');
    const big = rand([1000, 10], 3);
    const t = rand([1000, 10], 4);
    const ref = await on('cpu', [big, t], (o, y) => [taskMetricSum('multiclass', o, y)]);
    const got = await on('webgpu', [big, t], (o, y) => [taskMetricSum('multiclass', o, y)]);
    expect(got[0][0]).toBe(ref[0][0]);
    expect(ref[0][0]).toBeGreaterThan(50);
  });

  it('NaN reaches the loss through the fused BN + ReLU and the ReLU gradient (as tfjs-core)', async (ctx) => {
    if (skipWithout(ctx)) return;
    await tf.setBackend('webgpu');
    const x = tf.randomNormal([2, 5, 5, 4], 0, 1, 'float32', 1);
    const gamma = tf.tensor1d([NaN, 1, 1, 1]);
    const beta = tf.zeros([4]);
    const dy = tf.ones([2, 5, 5, 4]);
    const f = tf.engine().runKernel(BatchNormActTrain, { x, gamma, beta }, { epsilon: 1e-3, max: Infinity }) as tf.Tensor[];
    const d = tf.engine().runKernel(BatchNormActTrainGrad, { dy, x, gamma, beta, mean: f[1], rstd: f[3] }, { max: Infinity }) as tf.Tensor[];
    const y = (await f[0].data()) as Float32Array;
    const dx = (await d[0].data()) as Float32Array;
    for (let i = 0; i < y.length; i++) {
      expect(Number.isNaN(y[i]), `y[${i}]`).toBe(i % 4 === 0);
      expect(Number.isNaN(dx[i]), `dx[${i}]`).toBe(i % 4 === 0);
    }
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.relu(t)))(tf.tensor1d([NaN, -1, 2]));
    const gv = Array.from(await g.data());
    expect(Number.isNaN(gv[0])).toBe(true);
    expect(gv.slice(1)).toEqual([0, 1]);
    tf.dispose([x, gamma, beta, dy, ...f, ...d, g]);
  });

  for (const [name, shape, optional] of [['conv [3, 3, 5, 70], gamma, beta and bias', [3, 3, 5, 70], true], ['depthwise [3, 3, 35, 2], no gamma/beta/bias', [3, 3, 35, 2], false]] as const) {
    it(`TkFoldBatchNorm: ${name}`, async (ctx) => {
      if (skipWithout(ctx)) return;
      await tf.setBackend('cpu');
      const depthwise = !optional; // the second case is the depthwise filter: [C, M] output channels
      const c = depthwise ? shape[2] * shape[3] : shape[3];
      const args = [rand([...shape], 1), rand([c], 2), rand([c], 3, 1, 0.1), rand([c], 4, 1, 0.3), rand([c], 5), rand([c], 6)];
      args[2].data.forEach((v, i) => (args[2].data[i] = Math.abs(v)));
      const ref = await on('cpu', args, (w, m, v, g, b, b0) => {
        const scale = tf.div(optional ? g : tf.onesLike(v), tf.sqrt(tf.add(v, 1e-3)));
        return [tf.mul(w, tf.reshape(scale, depthwise ? [shape[2], shape[3]] : [c])), tf.add(tf.mul(tf.sub(optional ? b0 : tf.zerosLike(v), m), scale), optional ? b : tf.zerosLike(v))];
      });
      const got = await on('webgpu', args, (w, m, v, g, b, b0) => tf.engine().runKernel(FoldBatchNorm, { filter: w, mean: m, variance: v, ...(optional ? { gamma: g, beta: b, bias: b0 } : {}) }, { epsilon: 1e-3 }) as tf.Tensor[]);
      ref.forEach((r, i) => expect(relErr(r, got[i])).toBeLessThan(1e-6));
    });
  }

  const sums: Array<[string, number[], number[], boolean]> = [
    ['bias gradient [2, 9, 9, 70] over N, H, W', [2, 9, 9, 70], [0, 1, 2], false],
    ['bias gradient [4, 50, 50, 3] (10,000 rows: two passes)', [4, 50, 50, 3], [0, 1, 2], false],
    ['[300, 5] over axis 0, keepDims', [300, 5], [0], true],
    ['rank 3, axes given as [1, 0]', [4, 33, 65], [1, 0], false],
    ['trailing axis (TF.js kernel)', [6, 40], [1], false],
  ];
  for (const [name, shape, axes, keepDims] of sums) {
    it(`Sum: ${name}`, async (ctx) => {
      if (skipWithout(ctx)) return;
      await tf.setBackend('cpu');
      const x = rand(shape, 7, 0.5, 1);
      const ref = await on('cpu', [x], (t) => [tf.sum(t, axes, keepDims)]);
      const got = await on('webgpu', [x], (t) => [tf.sum(t, axes, keepDims)]);
      expect(relErr(ref[0], got[0])).toBeLessThan(1e-5);
      expect(got[0].length).toBe(ref[0].length);
    });
  }

  for (const lowerExclusive of [false, true]) {
    it(`TkClipByValueGrad (${lowerExclusive ? 'min < x' : 'min <= x'} <= max), edges and NaN`, async (ctx) => {
      if (skipWithout(ctx)) return;
      await tf.setBackend('cpu');
      const x = rand([1001], 1, 3, 4);
      x.data.set([0, 6, -0, 6.0000005, NaN, Infinity, -Infinity], 0);
      const dy = rand([1001], 2);
      dy.data[10] = NaN;
      x.data[10] = 1;
      const attrs = { clipValueMin: 0, clipValueMax: 6, lowerExclusive } as unknown as tf.NamedAttrMap;
      const ref = await on('cpu', [dy, x], (d, v) => [tf.where(tf.logicalAnd(lowerExclusive ? tf.greater(v, 0) : tf.greaterEqual(v, 0), tf.lessEqual(v, 6)), d, tf.zerosLike(d))]);
      const got = await on('webgpu', [dy, x], (d, v) => [tf.engine().runKernel(ClipByValueGrad, { dy: d, x: v }, attrs) as tf.Tensor]);
      expect(Array.from(got[0]).map((v) => (Number.isNaN(v) ? 'NaN' : v))).toEqual(Array.from(ref[0]).map((v) => (Number.isNaN(v) ? 'NaN' : v)));
      expect(got[0][0]).toBe(lowerExclusive ? 0 : dy.data[0]);
    });
  }
});
