/**
 * AdaBN (Li et al. 2017): only BatchNorm moving statistics change, and each equals the exact
 * target statistics of its input given the already-adapted layers before it.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/index.js';
import { adaBN } from '../../src/entries/adapt.js';
import { runLayers } from '../../src/train/graph_executor.js';
import { setInferenceFolding } from '../../src/layers/fold_batch_norm.js';
import { prepareModel } from '../../src/layers/prepare_model.js';
import { tinyConvNet } from '../helpers/tiny_model.js';

beforeAll(async () => {
  await useBackend('cpu');
});

describe('adaBN', () => {
  it('changes only BN moving statistics, to the exact per-channel mean and biased variance of each BN input', async () => {
    const model = tinyConvNet({ inputSize: 16, classes: 3, seed: 3 });
    const before = model.weights.map((w) => ({ name: w.originalName, v: Array.from(w.read().dataSync()) }));
    // Target domain: shifted and scaled inputs, 37 examples (not a multiple of the batch).
    const target = tf.tidy(() => tf.add(tf.mul(tf.randomUniform([37, 16, 16, 3], 0, 1, 'float32', 5), 3), 1.5));
    const report = await adaBN(model, target, { batchSize: 8 });
    const bnNames = model.layers.filter((l) => l.getClassName() === 'BatchNormalization').map((l) => l.name);
    expect(report.layers).toEqual(bnNames);
    expect(report.examples).toBe(37);
    const after = model.weights.map((w) => ({ name: w.originalName, v: Array.from(w.read().dataSync()) }));
    for (let i = 0; i < before.length; i++) {
      const isStat = /moving_(mean|variance)/.test(before[i].name);
      if (isStat) expect(after[i].v, before[i].name).not.toEqual(before[i].v);
      else expect(after[i].v, before[i].name).toEqual(before[i].v);
    }
    // Each BN's statistics = moments of its input computed with the *adapted* earlier layers.
    const layers = model.layers;
    for (const name of bnNames) {
      const j = layers.findIndex((l) => l.name === name);
      const src = layers.indexOf((layers[j] as unknown as { inboundNodes: { inboundLayers: unknown[] }[] }).inboundNodes[0].inboundLayers[0] as (typeof layers)[number]);
      const { mean, variance } = tf.tidy(() => {
        const h = runLayers(model, 0, target, src, false);
        const c = h.shape[h.rank - 1] as number;
        return tf.moments(tf.reshape(h, [-1, c]), 0);
      });
      const w = layers[j].getWeights();
      const gotMean = w[2].dataSync();
      const gotVar = w[3].dataSync();
      mean.dataSync().forEach((m, c) => expect(gotMean[c]).toBeCloseTo(m, 4));
      variance.dataSync().forEach((v, c) => expect(Math.abs(gotVar[c] - v)).toBeLessThan(1e-4 * Math.max(1, v)));
      tf.dispose([mean, variance]);
    }
    target.dispose();
  });

  it('is idempotent on the same data and names the missing layer', async () => {
    const model = tinyConvNet({ seed: 4 });
    const target = tf.randomNormal([10, 16, 16, 3], 0, 1, 'float32', 9);
    await adaBN(model, target);
    const once = model.weights.map((w) => Array.from(w.read().dataSync()));
    await adaBN(model, target, { batchSize: 3 });
    const twice = model.weights.map((w) => Array.from(w.read().dataSync()));
    once.forEach((v, i) => v.forEach((x, k) => expect(twice[i][k]).toBeCloseTo(x, 4)));
    await expect(adaBN(model, target, { layers: ['no_such_bn'] })).rejects.toThrow(/no_such_bn/);
    await expect(adaBN(model, tf.zeros([1, 16, 16, 3]))).rejects.toThrow(/at least 2/);
  });

  it('on a model with inference folding (as loadPretrained / replaceHead prepare it), estimates each BN from its input', async () => {
    // Regression: with Conv→BN→ReLU6 folding active, the pass that stops at a BN's input returned
    // the folded chain's output, so every BN got the moments of its own post-activation output.
    const target = tf.tidy(() => tf.add(tf.mul(tf.randomUniform([20, 16, 16, 3], 0, 1, 'float32', 6), 3), 1.5));
    const stats = async (folding: boolean) => {
      const model = tinyConvNet({ seed: 3 });
      prepareModel(model);
      setInferenceFolding(folding);
      try {
        await adaBN(model, target, { batchSize: 8 });
      } finally {
        setInferenceFolding(true);
      }
      const out = model.layers.filter((l) => l.getClassName() === 'BatchNormalization').map((l) => l.getWeights().slice(2).map((w) => Array.from(w.dataSync())));
      // And the first BN against the exact moments of Conv1's output, computed without any patch.
      const conv = tf.tidy(() => {
        const c = tf.conv2d(target as tf.Tensor4D, model.getLayer('Conv1').getWeights()[0] as tf.Tensor4D, 2, 'same');
        const { mean, variance } = tf.moments(tf.reshape(c, [-1, 8]), 0);
        return [Array.from(mean.dataSync()), Array.from(variance.dataSync())];
      });
      model.dispose();
      return { out, conv };
    };
    const off = await stats(false);
    const on = await stats(true);
    on.conv[0].forEach((m, c) => expect(on.out[0][0][c]).toBeCloseTo(m, 4));
    on.conv[1].forEach((v, c) => expect(Math.abs(on.out[0][1][c] - v)).toBeLessThan(1e-4 * Math.max(1, v)));
    on.out.forEach((layer, i) => layer.forEach((w, k) => w.forEach((v, c) => expect(Math.abs(v - off.out[i][k][c]), `BN ${i} weight ${k + 2} channel ${c}`).toBeLessThan(1e-4 * Math.max(1, Math.abs(off.out[i][k][c]))))));
    target.dispose();
  });
});
