import { beforeAll, describe, expect, it } from 'vitest';
import { findLearningRate, useBackend } from '../../src/index.js';
import { minimum, steep, valley } from '../../src/entries/train.js';
import { quadrantImages, tinyHeaded } from '../helpers/tiny_model.js';

beforeAll(async () => {
  await useBackend('wasm');
});

describe("fastai's suggestion functions", () => {
  it('valley: a third into the longest descent, fastai index arithmetic', () => {
    // descent over indices 0..8 (lds 9 at index 8): max_start = 8 - 9 = -1, sections = 3,
    // idx = -1 + 3 + int(1.5) = 3
    const lrs = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    expect(valley(lrs, [9, 8, 7, 6, 5, 4, 3, 2, 1, 1.5]).learningRate).toBe(4);
    // a short descent: max_start -1, max_end 1 -> sections 2/3 -> idx -1 -> Python's lrs[-1]
    expect(valley([1, 2, 3], [2, 1, 3]).learningRate).toBe(3);
  });
  it('steep: the steepest drop per log-lr', () => {
    // log-spaced lrs, drops -1, -2, -0.1 -> the second interval starts at lr 2
    expect(steep([1, 2, 4, 8], [5, 4, 2, 1.9]).learningRate).toBe(2);
  });
  it('minimum: a tenth of the rate at the lowest loss', () => {
    expect(minimum([1, 2, 4, 8], [5, 4, 2, 3]).learningRate).toBeCloseTo(0.4, 12);
  });
});

describe('findLearningRate', () => {
  it('sweeps exponentially, smooths like AvgSmoothLoss, and restores every weight', async () => {
    const pm = await tinyHeaded();
    const before = pm.model.getWeights().map((w) => Array.from(w.dataSync()));
    const r = await findLearningRate(pm, quadrantImages(24), { startLr: 1e-5, endLr: 1, numIt: 20, batchSize: 8, stopDiv: false });
    expect(r.learningRates).toHaveLength(20);
    r.learningRates.forEach((lr, i) => expect(lr).toBeCloseTo(1e-5 * (1 / 1e-5) ** (i / 20), 15));
    // the first smoothed loss equals the first raw loss (debiasing), later ones are averages
    expect(r.losses[0]).toBeCloseTo(r.rawLosses[0], 10);
    let v = 0;
    r.rawLosses.forEach((l, i) => {
      v = 0.98 * v + 0.02 * l;
      expect(r.losses[i]).toBeCloseTo(v / (1 - 0.98 ** (i + 1)), 10);
    });
    expect(pm.model.getWeights().map((w) => Array.from(w.dataSync()))).toEqual(before);
    expect(r.suggestions.valley).not.toBeNull();
    for (const s of Object.values(r.suggestions)) {
      expect(s?.learningRate).toBeGreaterThan(1e-7);
      expect(s?.learningRate).toBeLessThan(1);
    }
  });

  it('stops when the smoothed loss passes 4x its best', async () => {
    const pm = await tinyHeaded();
    const r = await findLearningRate(pm, quadrantImages(24), { startLr: 1e-4, endLr: 1e6, numIt: 100, batchSize: 8, optimizer: 'sgd' });
    expect(r.stoppedEarly).toBe(true);
    expect(r.learningRates.length).toBeLessThan(100);
    const best = Math.min(...r.losses);
    expect(r.losses[r.losses.length - 1]).toBeGreaterThan(4 * best);
  });
});
