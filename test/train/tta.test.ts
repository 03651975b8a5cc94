/**
 * Test-time augmentation against fastai `Learner.tta`'s definition: `n` passes on randomly
 * augmented inputs, averaged (or maxed), blended with the plain prediction as
 * `(1 - beta) * aug + beta * plain` (`max(plain, aug)` with `useMax`). The expected values are
 * built here from separately computed plain and mirrored predictions, not from predictTta.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { evaluate, predict, useBackend, type LabeledData, type PretrainedModel } from '../../src/index.js';
import { predictTta } from '../../src/entries/train.js';
import { tinyHeaded } from '../helpers/tiny_model.js';

let pm: PretrainedModel;
let xs: tf.Tensor4D;
let plain: number[][];
let mirrored: number[][];
const N = 24;

beforeAll(async () => {
  await useBackend('wasm');
  // A flattening head: its output changes when the image is mirrored (global pooling nearly would not).
  pm = await tinyHeaded(3, { pooling: 'flatten' });
  xs = tf.randomNormal([N, 16, 16, 3], 0, 1.5, 'float32', 11) as tf.Tensor4D;
  const p = predict(pm, xs, 8);
  const mx = tf.reverse(xs, 2);
  const pf = predict(pm, mx, 8);
  plain = (await p.array()) as number[][];
  mirrored = (await pf.array()) as number[][];
  tf.dispose([p, mx, pf]);
});

const close = (a: number[], b: number[], tol = 2e-5) => a.every((v, j) => Math.abs(v - b[j]) <= tol);

describe('predictTta (fastai Learner.tta)', () => {
  it('mirroring really changes these predictions (so the checks below can tell passes apart)', () => {
    const gap = Math.min(...plain.map((r, i) => Math.max(...r.map((v, j) => Math.abs(v - mirrored[i][j])))));
    expect(gap).toBeGreaterThan(1e-3);
  });

  it('mean mode: every row is 0.75 * (k/4 mirrored + (4-k)/4 plain) + 0.25 * plain for a whole k, and k varies', async () => {
    const before = tf.memory().numTensors;
    const out = predictTta(pm, xs, { n: 4, beta: 0.25, seed: 5 }, 8);
    const rows = (await out.array()) as number[][];
    out.dispose();
    expect(tf.memory().numTensors).toBe(before);
    const ks = rows.map((row, i) => {
      const candidates = [0, 1, 2, 3, 4].filter((k) =>
        close(row, plain[i].map((p, j) => 0.75 * ((k / 4) * mirrored[i][j] + ((4 - k) / 4) * p) + 0.25 * p)),
      );
      expect(candidates.length, `row ${i} matches exactly one flip count`).toBe(1);
      return candidates[0];
    });
    // Random flips with p = 0.5: over 24 images and 4 passes, not all-or-nothing.
    expect(new Set(ks).size).toBeGreaterThan(2);
    expect(ks.reduce((a, b) => a + b, 0) / (4 * N)).toBeGreaterThan(0.3);
    expect(ks.reduce((a, b) => a + b, 0) / (4 * N)).toBeLessThan(0.7);
  });

  it('beta = 1 is the plain prediction; beta = 0 with n = 1 is one augmented pass', async () => {
    const one = predictTta(pm, xs, { beta: 1 }, 8);
    expect(((await one.array()) as number[][]).every((r, i) => close(r, plain[i], 1e-6))).toBe(true);
    const aug = predictTta(pm, xs, { beta: 0, n: 1, seed: 2 }, 8);
    const rows = (await aug.array()) as number[][];
    expect(rows.every((r, i) => close(r, plain[i]) || close(r, mirrored[i]))).toBe(true);
    // No augmentation at all: the passes would repeat the plain prediction, so it is returned as is.
    const none = predictTta(pm, xs, { augment: { flip: false } }, 8);
    expect(((await none.array()) as number[][]).every((r, i) => close(r, plain[i], 1e-6))).toBe(true);
    tf.dispose([one, aug, none]);
  });

  it('useMax: the element-wise maximum of the plain and the passes', async () => {
    const out = predictTta(pm, xs, { useMax: true, n: 4, seed: 5 }, 8);
    const rows = (await out.array()) as number[][];
    out.dispose();
    const both = plain.map((r, i) => r.map((v, j) => Math.max(v, mirrored[i][j])));
    // Each row is either the plain one (no pass mirrored it) or the maximum of the two.
    expect(rows.every((r, i) => close(r, plain[i]) || close(r, both[i]))).toBe(true);
    expect(rows.some((r, i) => !close(r, plain[i]))).toBe(true);
  });

  it('is reproducible for a seed and differs across seeds', async () => {
    const a = predictTta(pm, xs, { seed: 9 }, 8);
    const b = predictTta(pm, xs, { seed: 9 }, 8);
    const c = predictTta(pm, xs, { seed: 10 }, 8);
    const [ra, rb, rc] = [await a.data(), await b.data(), await c.data()];
    expect(Array.from(ra)).toEqual(Array.from(rb));
    expect(Array.from(ra)).not.toEqual(Array.from(rc));
    tf.dispose([a, b, c]);
  });

  it('evaluate({ tta }) scores the blended probabilities; beta = 1 equals plain evaluate', async () => {
    const labels = Int32Array.from(plain.map((r) => r.indexOf(Math.max(...r))));
    const data: LabeledData = { xs, labels, classNames: ['a', 'b', 'c'] };
    const base = await evaluate(pm, data, { batchSize: 8 });
    const same = await evaluate(pm, data, { batchSize: 8, tta: { beta: 1 } });
    expect(same.accuracy).toBe(base.accuracy);
    expect(Math.abs(same.loss - base.loss)).toBeLessThan(1e-5);
    const withTta = await evaluate(pm, data, { batchSize: 8, tta: { seed: 5 } });
    const probs = predictTta(pm, xs, { seed: 5 }, 8);
    const rows = (await probs.array()) as number[][];
    probs.dispose();
    const acc = rows.filter((r, i) => r.indexOf(Math.max(...r)) === labels[i]).length / N;
    expect(withTta.accuracy).toBeCloseTo(acc, 10);
    expect(withTta.probabilities.every((r, i) => close(r, rows[i], 1e-6))).toBe(true);
  });

  it('rejects bad options and non-image inputs with a clear error', () => {
    expect(() => predictTta(pm, xs, { n: 0 })).toThrow(/tta.n must be a whole number >= 1/);
    expect(() => predictTta(pm, xs, { beta: 1.5 })).toThrow(/tta.beta must be in \[0, 1\]/);
    const flat = tf.zeros([2, 768]);
    expect(() => predictTta(pm, flat)).toThrow(/augments images \[N, H, W, C\]; got inputs of shape \[2, 768\]/);
    flat.dispose();
  });
});
