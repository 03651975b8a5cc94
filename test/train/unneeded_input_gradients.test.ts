/**
 * The training step marks convolutions whose input gradient the tape discards (the stem on the
 * images, the first trained convolution above a frozen or cached prefix), and the wasm kernels
 * skip that work. Checked: which filters are marked, that the mark really makes the wasm kernels
 * return without computing (so the equality test below exercises the skip), and that a training
 * step with the skip equals the same step on cpu, which computes everything. Also the step's cache
 * of rearranged filters (flipped for the input gradient, transposed for 1x1), shared by the
 * micro-batches of one step: reused within a step, freed after it, same updates as cpu.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/index.js';
import { SGD } from '../../src/entries/optimizers.js';
import { trainStep } from '../../src/entries/train.js';
import { withUnneededInputGradients } from '../../src/backends/unneeded_input_gradients.js';
import { rearrangedFilter, withStepFilterCache } from '../../src/backends/step_filter_cache.js';
import { convFiltersOnConstantInputs } from '../../src/train/graph_executor.js';
import { relErr, values } from '../helpers/compare.js';

type Sym = tfl.SymbolicTensor;

/** pad → conv (stride 2, no bias: a bias before training-mode BN has a zero gradient, float noise) → BN → relu → depthwise → conv 1x1 → pool → dense, seeded. */
function net(): tfl.LayersModel {
  const init = (k: number) => tfl.initializers.glorotUniform({ seed: k });
  const input = tfl.input({ shape: [10, 10, 3] });
  let h = tfl.layers.zeroPadding2d({ padding: 1, name: 'pad' }).apply(input) as Sym;
  h = tfl.layers.conv2d({ filters: 6, kernelSize: 3, strides: 2, useBias: false, kernelInitializer: init(1), name: 'stem' }).apply(h) as Sym;
  h = tfl.layers.batchNormalization({ name: 'stem_bn' }).apply(h) as Sym;
  h = tfl.layers.reLU({ name: 'stem_relu' }).apply(h) as Sym;
  h = tfl.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', depthwiseInitializer: init(2), name: 'dw' }).apply(h) as Sym;
  h = tfl.layers.conv2d({ filters: 5, kernelSize: 1, kernelInitializer: init(3), name: 'pw' }).apply(h) as Sym;
  h = tfl.layers.globalAveragePooling2d({ name: 'pool' }).apply(h) as Sym;
  const out = tfl.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: init(4), name: 'head' }).apply(h) as Sym;
  return tfl.model({ inputs: input, outputs: out });
}

const kernelOf = (m: tfl.LayersModel, name: string, w = 0) => m.getLayer(name).trainableWeights[w].read();

beforeAll(async () => {
  await useBackend('cpu');
  await useBackend('wasm');
});

describe('input gradients nobody reads', () => {
  it('marks the stem on the images, and the first trained convolution above a frozen prefix', () => {
    tf.setBackend('cpu');
    const m = net();
    const all = m.trainableWeights.map((w) => w.read() as tf.Variable);
    expect(convFiltersOnConstantInputs(m, 0, all)).toEqual([kernelOf(m, 'stem')]);
    // stem and its BN frozen: the depthwise convolution's input is constant
    const upper = ['dw', 'pw', 'head'].flatMap((n) => m.getLayer(n).trainableWeights.map((w) => w.read() as tf.Variable));
    expect(convFiltersOnConstantInputs(m, 0, upper)).toEqual([kernelOf(m, 'dw')]);
    // training from a cached output at 'dw' (layer index of dw): pw is next
    const dw = m.layers.findIndex((l) => l.name === 'dw');
    const top = ['pw', 'head'].flatMap((n) => m.getLayer(n).trainableWeights.map((w) => w.read() as tf.Variable));
    expect(convFiltersOnConstantInputs(m, dw, top)).toEqual([kernelOf(m, 'pw')]);
    // BN gamma trained between stem and dw: dw's input depends on it, only the stem is marked
    const bnToo = ['stem', 'stem_bn', 'dw'].flatMap((n) => m.getLayer(n).trainableWeights.map((w) => w.read() as tf.Variable));
    expect(convFiltersOnConstantInputs(m, 0, bnToo)).toEqual([kernelOf(m, 'stem')]);
  });

  it('the wasm convolution kernels return without computing when marked (zeros, never read by the tape)', () => {
    tf.setBackend('wasm');
    tf.tidy(() => {
      const x = tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
      const w = tf.randomNormal([3, 3, 3, 4], 0, 1, 'float32', 2) as tf.Tensor4D;
      const dwf = tf.randomNormal([3, 3, 3, 1], 0, 1, 'float32', 3) as tf.Tensor4D;
      const gConv = (xx: tf.Tensor) => tf.sum(tf.square(tf.conv2d(xx as tf.Tensor4D, w, 2, 'same')));
      const gDw = (xx: tf.Tensor) => tf.sum(tf.square(tf.depthwiseConv2d(xx as tf.Tensor4D, dwf, 1, 'same')));
      expect(tf.max(tf.abs(tf.grad(gConv)(x))).dataSync()[0]).toBeGreaterThan(0);
      expect(tf.max(tf.abs(tf.grad(gDw)(x))).dataSync()[0]).toBeGreaterThan(0);
      const skipped = withUnneededInputGradients([w, dwf], () => [tf.grad(gConv)(x), tf.grad(gDw)(x)]);
      for (const g of skipped) expect(tf.max(tf.abs(g)).dataSync()[0]).toBe(0);
    });
  });

  it('a training step with the skip (wasm) equals the full computation (cpu): every weight within 1e-5', () => {
    const after = (backend: string) => {
      tf.setBackend(backend);
      const m = net();
      const vars = m.trainableWeights.map((w) => w.read() as tf.Variable);
      const x = tf.randomNormal([6, 10, 10, 3], 0, 1, 'float32', 7);
      const y = tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2], 'int32'), 3);
      const optimizer = new SGD(vars, { learningRate: 0.5, momentum: 0.9 });
      for (let i = 0; i < 3; i++) trainStep({ model: m, from: 0, x, y, vars, optimizer, microBatchSize: 3 });
      optimizer.dispose();
      const out = m.getWeights().map(values);
      tf.dispose([x, y]);
      m.dispose();
      return out;
    };
    const cpu = after('cpu');
    const wasm = after('wasm');
    cpu.forEach((c, i) => expect(relErr(c, wasm[i]), `weight ${i}`).toBeLessThan(1e-5));
  });
});

describe("the step's rearranged-filter cache", () => {
  it('hands the same tensor to every micro-batch of a step, a fresh one outside, and frees them at the step end', () => {
    tf.setBackend('wasm');
    const w = tf.randomNormal([3, 3, 2, 2]);
    const make = () => tf.reverse(w, [0, 1]);
    const before = tf.memory().numTensors;
    withStepFilterCache(() => {
      const a = rearrangedFilter('flip', w, make);
      const b = tf.tidy(() => rearrangedFilter('flip', w, make)); // kept across the caller's tidy
      expect(b).toBe(a);
      expect(a.isDisposed).toBe(false);
      expect(rearrangedFilter('other', w, make)).not.toBe(a);
    });
    expect(tf.memory().numTensors).toBe(before);
    const outside = tf.tidy(() => rearrangedFilter('flip', w, make).clone());
    expect(tf.memory().numTensors).toBe(before + 1);
    tf.dispose([outside, w]);
  });

  it('micro-batched steps through 3x3 and strided convolutions (cache hits) equal cpu, with no tensor growth across steps', () => {
    const net3 = () => {
      const init = (k: number) => tfl.initializers.glorotUniform({ seed: k });
      const input = tfl.input({ shape: [9, 9, 3] });
      let h = tfl.layers.conv2d({ filters: 4, kernelSize: 3, useBias: false, kernelInitializer: init(1), name: 'c1' }).apply(input) as Sym;
      h = tfl.layers.conv2d({ filters: 5, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu', kernelInitializer: init(2), name: 'c2' }).apply(h) as Sym;
      h = tfl.layers.conv2d({ filters: 6, kernelSize: 1, strides: 2, kernelInitializer: init(3), name: 'c3' }).apply(h) as Sym;
      h = tfl.layers.conv2d({ filters: 4, kernelSize: 5, padding: 'same', activation: 'relu', kernelInitializer: init(4), name: 'c4' }).apply(h) as Sym;
      h = tfl.layers.flatten().apply(h) as Sym;
      return tfl.model({ inputs: input, outputs: tfl.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: init(5) }).apply(h) as Sym });
    };
    const run = (backend: string) => {
      tf.setBackend(backend);
      const m = net3();
      const vars = m.trainableWeights.map((w) => w.read() as tf.Variable);
      const x = tf.randomNormal([8, 9, 9, 3], 0, 1, 'float32', 11);
      const y = tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2, 0, 1], 'int32'), 3);
      const optimizer = new SGD(vars, { learningRate: 0.3, momentum: 0.9 });
      const counts: number[] = [];
      for (let i = 0; i < 4; i++) {
        trainStep({ model: m, from: 0, x, y, vars, optimizer, microBatchSize: 2 });
        counts.push(tf.memory().numTensors);
      }
      const out = m.getWeights().map(values);
      optimizer.dispose();
      tf.dispose([x, y]);
      m.dispose();
      return { out, counts };
    };
    const cpu = run('cpu');
    const wasm = run('wasm');
    expect(new Set(wasm.counts.slice(1)).size).toBe(1);
    cpu.out.forEach((c, i) => expect(relErr(c, wasm.out[i]), `weight ${i}`).toBeLessThan(1e-5));
  });
});
