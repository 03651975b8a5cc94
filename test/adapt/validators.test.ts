/**
 * Unsupervised validators against their definitions on toy data.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/index.js';
import { devRisk, entropyScore, importanceWeights, sndScore } from '../../src/entries/adapt.js';

beforeAll(async () => {
  await useBackend('cpu');
});

/** SND as pytorch-adapt's test reference defines it, float64 loops. */
function sndReference(probs: number[][], T: number): number {
  const f = probs.map((r) => {
    const n = Math.sqrt(r.reduce((a, v) => a + v * v, 0));
    return r.map((v) => v / n);
  });
  const n = f.length;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const sims: number[] = [];
    for (let j = 0; j < n; j++) if (j !== i) sims.push(f[i].reduce((a, v, k) => a + v * f[j][k], 0) / T);
    const m = Math.max(...sims);
    const e = sims.map((s) => Math.exp(s - m));
    const z = e.reduce((a, v) => a + v, 0);
    total += -e.reduce((a, v) => a + (v / z) * Math.log(v / z), 0);
  }
  return total / n;
}

describe('SND (Saito et al. 2021)', () => {
  const probs = [[0.9, 0.05, 0.05], [0.8, 0.1, 0.1], [0.1, 0.85, 0.05], [0.2, 0.7, 0.1], [0.3, 0.3, 0.4], [0.05, 0.05, 0.9]];
  it('equals the definition (normalise, drop self-similarity, softmax(sim / T), mean row entropy)', async () => {
    for (const T of [0.05, 0.5, 1]) expect(await sndScore(tf.tensor2d(probs), T)).toBeCloseTo(sndReference(probs, T), 4);
  });
  it('is higher when each prediction has many close neighbours (two tight clusters) than when predictions are spread out', async () => {
    const clustered = Array.from({ length: 12 }, (_, i) => (i < 6 ? [0.95 - i * 0.002, 0.05 + i * 0.002] : [0.05 + i * 0.002, 0.95 - i * 0.002]));
    const spread = Array.from({ length: 12 }, (_, i) => [0.03 + (i * 0.94) / 11, 0.97 - (i * 0.94) / 11]);
    expect(await sndScore(tf.tensor2d(clustered))).toBeGreaterThan(await sndScore(tf.tensor2d(spread)));
  });
});

describe('entropy validator', () => {
  it('is the mean prediction entropy', async () => {
    const p = [[0.5, 0.5], [1, 0]];
    const want = (-(0.5 * Math.log(0.50001)) * 2 - Math.log(1.00001)) / 2;
    expect(await entropyScore(tf.tensor2d(p))).toBeCloseTo(want, 6);
  });
});

describe('DEV (You et al. 2019)', () => {
  it('devRisk: mean(w e) + eta mean(w) - eta with eta = -Cov(w e, w) / Var(w) (n - 1 both)', () => {
    const w = [0.5, 1.5, 1.0, 2.0, 0.25];
    const e = [0.2, 1.1, 0.4, 0.9, 0.05];
    const n = w.length;
    const L = w.map((x, i) => x * e[i]);
    const mL = L.reduce((a, v) => a + v, 0) / n;
    const mw = w.reduce((a, v) => a + v, 0) / n;
    const covLw = L.reduce((a, v, i) => a + (v - mL) * (w[i] - mw), 0) / (n - 1);
    const varW = w.reduce((a, v) => a + (v - mw) ** 2, 0) / (n - 1);
    const eta = -covLw / varW;
    expect(devRisk(w, e)).toBeCloseTo(mL + eta * mw - eta, 12);
    // Uniform weights of 1: the risk is the plain mean loss.
    expect(devRisk([1, 1, 1], [0.3, 0.6, 0.9])).toBeCloseTo(0.6, 12);
    expect(() => devRisk([1], [1])).toThrow(/at least 2/);
  });

  it('importanceWeights: target-like validation points weigh more; mean weight over source is about 1 for equal domains', async () => {
    const src = tf.randomNormal([200, 2], 0, 1, 'float32', 1) as tf.Tensor2D;
    const tgt = tf.add(tf.randomNormal([200, 2], 0, 1, 'float32', 2), tf.tensor1d([2, 0])) as tf.Tensor2D;
    const val = tf.tensor2d([[-2, 0], [0, 0], [2, 0], [4, 0]]);
    const tensors = tf.memory().numTensors;
    const w = await importanceWeights(src, tgt, val);
    expect(tf.memory().numTensors).toBe(tensors); // nothing left behind
    expect(w[0]).toBeLessThan(w[1]);
    expect(w[1]).toBeLessThan(w[2]);
    expect(w[2]).toBeLessThan(w[3]);
    const same = await importanceWeights(src, tf.randomNormal([200, 2], 0, 1, 'float32', 3) as tf.Tensor2D, src);
    const mean = Array.from(same).reduce((a, v) => a + v, 0) / same.length;
    expect(mean).toBeGreaterThan(0.8);
    expect(mean).toBeLessThan(1.25);
  });
});
