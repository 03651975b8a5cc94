import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/index.js';
import { binaryCrossEntropy, crossEntropy, meanSquaredError, taskLoss } from '../../src/entries/train.js';

beforeAll(async () => {
  await useBackend('cpu');
});

describe('classification loss', () => {
  const probs = () => tf.tensor2d([[0.7, 0.2, 0.1], [0.1, 0.6, 0.3]]);
  const y = () => tf.tensor2d([[1, 0, 0], [0, 0, 1]]);

  it('plain categorical cross-entropy', () => {
    expect(crossEntropy(probs(), y()).dataSync()[0]).toBeCloseTo(-(Math.log(0.7) + Math.log(0.3)) / 2, 6);
  });

  it('label smoothing: targets y (1 - eps) + eps / k (Keras label_smoothing)', () => {
    const t = (hot: boolean) => (hot ? 0.9 + 0.1 / 3 : 0.1 / 3);
    const l0 = -(t(true) * Math.log(0.7) + t(false) * Math.log(0.2) + t(false) * Math.log(0.1));
    const l1 = -(t(false) * Math.log(0.1) + t(false) * Math.log(0.6) + t(true) * Math.log(0.3));
    expect(crossEntropy(probs(), y(), { labelSmoothing: 0.1 }).dataSync()[0]).toBeCloseTo((l0 + l1) / 2, 6);
  });

  it('class weights: sum(w_i l_i) / N (Keras class_weight)', () => {
    const expected = (2 * -Math.log(0.7) + 0.5 * -Math.log(0.3)) / 2;
    expect(crossEntropy(probs(), y(), { classWeights: [2, 1, 0.5] }).dataSync()[0]).toBeCloseTo(expected, 6);
  });

  for (const backend of ['cpu', 'wasm']) {
    it(`NaN probabilities give a NaN loss, not a clipped finite one (${backend})`, async () => {
      await useBackend(backend as 'cpu');
      expect(crossEntropy(tf.tensor2d([[NaN, 0.5, 0.5]]), tf.tensor2d([[1, 0, 0]])).dataSync()[0]).toBeNaN();
    });
  }
});

describe('multilabel and regression losses (Keras formulas, values written from the formula)', () => {
  it('binary cross-entropy: mean over labels, then batch', () => {
    const p = [[0.9, 0.2], [0.3, 0.6]];
    const y = [[1, 0], [1, 1]];
    const bce = (pi: number, yi: number) => -(yi * Math.log(pi) + (1 - yi) * Math.log(1 - pi));
    const expected = ((bce(0.9, 1) + bce(0.2, 0)) / 2 + (bce(0.3, 1) + bce(0.6, 1)) / 2) / 2;
    expect(binaryCrossEntropy(tf.tensor2d(p), tf.tensor2d(y)).dataSync()[0]).toBeCloseTo(expected, 6);
    expect(taskLoss('multilabel', tf.tensor2d(p), tf.tensor2d(y)).dataSync()[0]).toBeCloseTo(expected, 6);
  });

  it('binary cross-entropy with label smoothing: y (1 - eps) + eps / 2', () => {
    const ys = (yi: number) => yi * 0.8 + 0.1;
    const bce = (pi: number, yi: number) => -(ys(yi) * Math.log(pi) + (1 - ys(yi)) * Math.log(1 - pi));
    const expected = (bce(0.9, 1) + bce(0.2, 0)) / 2;
    expect(binaryCrossEntropy(tf.tensor2d([[0.9, 0.2]]), tf.tensor2d([[1, 0]]), { labelSmoothing: 0.2 }).dataSync()[0]).toBeCloseTo(expected, 6);
  });

  it('binary cross-entropy clips probabilities to [1e-7, 1 - 1e-7] (finite at p = 0 and 1)', () => {
    // In float32, 1 - 1e-7 rounds to 0.99999988, so log(1 - p) at the upper clip is log(1.19e-7).
    const hi = Math.fround(1 - 1e-7);
    const expected = (-Math.log(Math.fround(1e-7)) + -Math.log(1 - hi)) / 2;
    expect(binaryCrossEntropy(tf.tensor2d([[0, 1]]), tf.tensor2d([[1, 0]])).dataSync()[0]).toBeCloseTo(expected, 3);
  });

  it('mean squared error: mean over outputs, then batch', () => {
    const expected = (((1.5 - 1) ** 2 + (2 - 4) ** 2) / 2 + ((0 - 1) ** 2 + (3 - 3) ** 2) / 2) / 2;
    expect(meanSquaredError(tf.tensor2d([[1.5, 2], [0, 3]]), tf.tensor2d([[1, 4], [1, 3]])).dataSync()[0]).toBeCloseTo(expected, 6);
    expect(taskLoss('regression', tf.tensor2d([[1.5, 2], [0, 3]]), tf.tensor2d([[1, 4], [1, 3]])).dataSync()[0]).toBeCloseTo(expected, 6);
  });

  it('class weights are refused for non-multiclass heads, naming the task', () => {
    expect(() => taskLoss('multilabel', tf.tensor2d([[0.5]]), tf.tensor2d([[1]]), { classWeights: [1] })).toThrow(/multilabel/);
  });
});
