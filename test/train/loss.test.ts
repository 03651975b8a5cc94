import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { crossEntropy, useBackend } from '../../src/index.js';

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
