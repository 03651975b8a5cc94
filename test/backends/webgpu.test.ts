/**
 * WebGPU in Node (Dawn): a training step on webgpu matches the cpu backend, and a whole
 * fineTune run works there (every read in the loop is asynchronous: WebGPU in Node cannot read
 * synchronously). Without a GPU this runs on Mesa's llvmpipe through OpenGL ES (slow, correct).
 */
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { fineTune, freeze, unfreeze, type PretrainedModel } from '../../src/index.js';
import { AdamW, SGD } from '../../src/entries/optimizers.js';
import { trainStepAsync } from '../../src/train/train_step.js';
import { registerWebgpuTrainingKernels } from '../../src/backends/webgpu/register.js';
import { relErr, worstGradError } from '../helpers/compare.js';
import { quadrantImages, tinyHeaded } from '../helpers/tiny_model.js';
import { webgpuForTests } from '../helpers/webgpu.js';

const webgpu = webgpuForTests();

/** Three SGD steps of the tiny MobileNet-shaped net (all layers trainable, BN in train mode) on `backend`. */
async function threeSteps(backend: string, weights: Float32Array[], optimizer: 'sgd' | 'adamw' = 'sgd'): Promise<{ losses: number[]; weights: Float32Array[]; leaked: number }> {
  await tf.setBackend(backend);
  const pm: PretrainedModel = await tinyHeaded(3, { dropout: 0 }); // dropout would draw different masks
  unfreeze(pm.model, 'all', { bn: 'train' });
  pm.model.setWeights(weights.map((w, i) => tf.tensor(w, pm.model.getWeights()[i].shape)));
  const data = quadrantImages(12, 16, 3, 5);
  const y = tf.oneHot(tf.tensor1d(data.labels, 'int32'), 3);
  const vars = pm.model.trainableWeights.map((w) => w.read() as tf.Variable);
  const opt = optimizer === 'sgd' ? new SGD(vars, { learningRate: 0.05, momentum: 0.9 }) : new AdamW(vars, { learningRate: 1e-2, weightDecay: 0.01 });
  const losses: number[] = [];
  let before = 0;
  for (let i = 0; i < 3; i++) {
    if (i === 1) before = tf.memory().numTensors;
    losses.push((await trainStepAsync({ model: pm.model, from: 0, x: data.xs, y, vars, optimizer: opt, microBatchSize: 6, clipNorm: 5 })).loss);
  }
  const leaked = tf.memory().numTensors - before;
  const out = await Promise.all(pm.model.getWeights().map(async (w) => (await w.data()) as Float32Array));
  tf.dispose([data.xs, y]);
  opt.dispose();
  return { losses, weights: out, leaked };
}

type Pad = 'same' | 'valid';

/** Gradients of sum(f(x, w)^2) with respect to x and w, read back asynchronously. */
async function gradsOn(backend: string, f: (x: tf.Tensor4D, w: tf.Tensor4D) => tf.Tensor, x: Float32Array, xs: number[], w: Float32Array, ws: number[]): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const g = tf.tidy(() => tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(f(a as tf.Tensor4D, b as tf.Tensor4D))))([tf.tensor(x, xs), tf.tensor(w, ws)]));
  const out = await Promise.all(g.map(async (t) => (await t.data()) as Float32Array));
  tf.dispose(g);
  return out;
}

describe('webgpu filter-gradient kernels (composed) match cpu', () => {
  const cases: Array<[string, number[], number, Pad, number]> = [
    ['conv2d 3x3', [3, 3, 3, 4], 1, 'same', 8], ['conv2d 3x3', [3, 3, 3, 4], 2, 'same', 7], ['conv2d 3x3', [3, 3, 3, 4], 2, 'valid', 9],
    ['conv2d 1x1', [1, 1, 3, 5], 1, 'same', 7], ['conv2d 1x1', [1, 1, 3, 5], 2, 'valid', 7], ['conv2d 1x1', [1, 1, 3, 5], 2, 'same', 8],
    ['depthwise 3x3', [3, 3, 3, 1], 1, 'same', 8], ['depthwise 3x3', [3, 3, 3, 1], 2, 'same', 7], ['depthwise 3x3 x2', [3, 3, 3, 2], 2, 'valid', 9],
  ];
  for (const method of ['wgsl', 'taps', 'fold'] as const) {
    for (const [kind, ws, s, pad, h] of cases) {
      if (method !== 'wgsl' && kind.startsWith('conv')) continue;
      it(`${kind}, stride ${s}, ${pad}, ${h}x${h}${kind.startsWith('depthwise') ? ` (${method})` : ''}`, async (ctx) => {
        if (webgpu.info === null) return ctx.skip();
        registerWebgpuTrainingKernels({ depthwise: method });
        await tf.setBackend('cpu');
        const xs = [2, h, h, 3];
        const x = tf.randomNormal(xs, 0, 1, 'float32', 1).dataSync() as Float32Array;
        const w = tf.randomNormal(ws, 0, 1, 'float32', 2).dataSync() as Float32Array;
        const f = kind.startsWith('conv') ? (a: tf.Tensor4D, b: tf.Tensor4D) => tf.conv2d(a, b, s, pad) : (a: tf.Tensor4D, b: tf.Tensor4D) => tf.depthwiseConv2d(a, b, s, pad);
        const ref = await gradsOn('cpu', f, x, xs, w, ws);
        const got = await gradsOn('webgpu', f, x, xs, w, ws);
        ref.forEach((r, i) => expect(relErr(r, got[i])).toBeLessThan(1e-5));
      });
    }
  }

  it('WGSL conv filter gradient (stems: few input channels): 3x3/2 and 7x7/2 with 70 output channels, asymmetric same padding', async (ctx) => {
    if (webgpu.info === null) return ctx.skip();
    await tf.setBackend('cpu');
    const xs = [4, 75, 60, 3]; // 3x3/1 'valid': 16,936 output positions (two passes); strided ones fewer (one pass)
    const x = tf.randomNormal(xs, 0, 1, 'float32', 21).dataSync() as Float32Array;
    for (const [k, s, pad] of [[3, 2, 'same'], [7, 2, 'same'], [3, 1, 'valid'], [5, 3, 'same']] as const) {
      const ws = [k, k, 3, 70];
      const w = tf.randomNormal(ws, 0, 1, 'float32', 22).dataSync() as Float32Array;
      const f = (a: tf.Tensor4D, b: tf.Tensor4D) => tf.conv2d(a, b, s, pad);
      const ref = await gradsOn('cpu', f, x, xs, w, ws);
      const got = await gradsOn('webgpu', f, x, xs, w, ws);
      ref.forEach((r, i) => expect(relErr(r, got[i]), `${k}x${k}/${s} ${pad}`).toBeLessThan(1e-5));
    }
  });

  it('WGSL depthwise filter gradient: 70 channels, 5x5, many output positions, dilation 2, asymmetric padding', async (ctx) => {
    if (webgpu.info === null) return ctx.skip();
    registerWebgpuTrainingKernels({ depthwise: 'wgsl' });
    await tf.setBackend('cpu');
    const xs = [6, 41, 38, 70]; // stride 1: 9,348 output positions (two passes); stride 2: one pass
    const ws = [5, 5, 70, 1];
    const x = tf.randomNormal(xs, 0, 1, 'float32', 11).dataSync() as Float32Array;
    const w = tf.randomNormal(ws, 0, 1, 'float32', 12).dataSync() as Float32Array;
    const geometries: Array<[number, 'same' | 'valid']> = [[1, 'same'], [2, 'same'], [2, 'valid']];
    for (const [s, pad] of geometries) {
      const f = (a: tf.Tensor4D, b: tf.Tensor4D) => tf.depthwiseConv2d(a, b, s, pad);
      const ref = await gradsOn('cpu', f, x, xs, w, ws);
      const got = await gradsOn('webgpu', f, x, xs, w, ws);
      ref.forEach((r, i) => expect(relErr(r, got[i]), `stride ${s} ${pad}`).toBeLessThan(1e-5));
    }
    // tfjs-core has no depthwise gradient at dilation > 1: the kernel itself against 'fold'.
    await tf.setBackend('webgpu');
    const xt = tf.tensor(x, xs);
    const dy = tf.randomNormal([6, 41, 38, 70], 0, 1, 'float32', 13);
    const run = async (m: 'wgsl' | 'fold') => {
      registerWebgpuTrainingKernels({ depthwise: m });
      const t = tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter', { x: xt, dy }, { strides: 1, pad: 'same', dilations: 2, filterShape: ws }) as tf.Tensor;
      const v = (await t.data()) as Float32Array;
      t.dispose();
      return v;
    };
    const fold = await run('fold');
    expect(relErr(fold, await run('wgsl'))).toBeLessThan(1e-5);
    tf.dispose([xt, dy]);
  });

  it("depthwise filter gradient with dilation 2: 'taps', 'fold' and 'wgsl' agree", async (ctx) => {
    if (webgpu.info === null) return ctx.skip();
    await tf.setBackend('webgpu');
    const x = tf.randomNormal([2, 7, 7, 3], 0, 1, 'float32', 5);
    const dy = tf.randomNormal([2, 7, 7, 6], 0, 1, 'float32', 6);
    const run = async (m: 'wgsl' | 'taps' | 'fold') => {
      registerWebgpuTrainingKernels({ depthwise: m });
      const t = tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter', { x, dy }, { strides: 1, pad: 'same', dilations: 2, filterShape: [3, 3, 3, 2] }) as tf.Tensor;
      const v = (await t.data()) as Float32Array;
      t.dispose();
      return v;
    };
    const fold = await run('fold');
    const taps = await run('taps');
    const wgsl = await run('wgsl'); // multiplier 2: falls back to 'fold'
    expect(relErr(fold, taps)).toBeLessThan(1e-5);
    expect(relErr(fold, wgsl)).toBeLessThan(1e-5);
    registerWebgpuTrainingKernels({ depthwise: 'wgsl' }); // back to the default
    tf.dispose([x, dy]);
  });
});

describe('webgpu backend (Dawn in Node)', () => {
  it('starts with a real adapter (never Dawn\'s null backend) and reports it', (ctx) => {
    if (webgpu.info === null) {
      console.log(`[skip] webgpu: ${webgpu.why}`);
      ctx.skip();
      return;
    }
    console.log(`[webgpu] adapter: ${JSON.stringify(webgpu.info.gpuAdapter)}; missing kernels: ${webgpu.info.missingKernels.join(', ') || 'none'}`);
    expect(webgpu.info.name).toBe('webgpu');
    expect(webgpu.info.gpuAdapter?.dawnBackend).not.toBe('null');
    expect(webgpu.info.gpuAdapter?.description.length).toBeGreaterThan(0);
  });

  for (const optimizer of ['sgd', 'adamw'] as const) {
  it(`three ${optimizer} training steps (BN in train mode, micro-batches, clipping) match the cpu backend`, async (ctx) => {
    if (webgpu.info === null) {
      ctx.skip();
      return;
    }
    await tf.setBackend('cpu');
    const init = (await tinyHeaded(3, { dropout: 0 })).model.getWeights().map((w) => w.dataSync() as Float32Array);
    const ref = await threeSteps('cpu', init, optimizer);
    const web = await threeSteps('webgpu', init, optimizer);
    console.log(`[webgpu] losses cpu ${ref.losses} webgpu ${web.losses}; leaked ${ref.leaked} ${web.leaked}`);
    for (let i = 0; i < 3; i++) expect(Math.abs(web.losses[i] - ref.losses[i])).toBeLessThan(1e-4 * Math.max(1, ref.losses[i]));
    // block_1_project_BN's beta gets a mathematically zero gradient (the train-mode BN after Conv_1
    // subtracts any shift of its input, so the loss does not depend on it): it moves by float
    // noise, which Adam normalises into ±lr steps whose sign is noise. SGD: compared absolutely
    // at the noise scale (with every other weight relatively); Adam: left out, with the one
    // statistic it shifts (Conv_1_bn's moving mean: Conv_1's output mean moves with that beta).
    const noise = ['block_1_project_BN/beta', 'Conv_1_bn/moving_mean'];
    const keep = (await tinyHeaded(3, { dropout: 0 })).model.weights.map((w) => optimizer === 'sgd' || !noise.some((n) => w.name.startsWith(n)));
    expect(keep.filter((k) => !k).length).toBe(optimizer === 'sgd' ? 0 : 2);
    expect(worstGradError(ref.weights.filter((_, i) => keep[i]), web.weights.filter((_, i) => keep[i]))).toBeLessThan(1e-3);
    expect(web.leaked).toBe(0);
    expect(ref.leaked).toBe(0);
    // The steps changed the weights (a test that could not fail otherwise).
    expect(relErr(init[0], web.weights[0])).toBeGreaterThan(1e-4);
  }, 300_000);
  }

  it('runs a whole fineTune (head, then unfrozen) with stable tensor counts', async (ctx) => {
    if (webgpu.info === null) {
      ctx.skip();
      return;
    }
    await tf.setBackend('webgpu');
    const pm = await tinyHeaded(2);
    freeze(pm, 'backbone');
    const train = quadrantImages(24, 16, 3, 9);
    const { history } = await fineTune(pm, train, { recipe: 'two-stage', headEpochs: 2, epochs: 2, batchSize: 8, validation: quadrantImages(9, 16, 3, 8), seed: 4, unfreeze: { from: 'Conv_1' } });
    expect(history).toHaveLength(4);
    for (const h of history) expect(Number.isFinite(h.loss) && Number.isFinite(h.valLoss as number)).toBe(true);
    expect(history[3].numTensors).toBe(history[2].numTensors);
    expect(history[1].numTensors).toBe(history[0].numTensors);
  }, 300_000);
});
