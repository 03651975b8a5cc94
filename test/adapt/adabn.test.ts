/**
 * AdaBN (Li et al. 2017): only BatchNorm moving statistics change, and each equals the exact
 * target statistics of its input given the already-adapted layers before it.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { adaBN, useBackend } from '../../src/index.js';
import { runLayers } from '../../src/train/graph_executor.js';
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
});
