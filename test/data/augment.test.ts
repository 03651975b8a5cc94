/**
 * On-the-fly augmentations: torchvision's RandomResizedCrop parameters (bounds, area, aspect,
 * fallback), exact identities of each transform at its neutral setting, per-example colour
 * factors, and fineTune with augmentation: seeded (bit-identical reruns), prefix per batch, no leaks.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { fineTune, useBackend } from '../../src/index.js';
import { augmentBatch, resizedCropParams } from '../../src/entries/train.js';
import { mulberry32 } from '../../src/utils/random.js';
import { quadrantImages, tinyHeaded } from '../helpers/tiny_model.js';

beforeAll(async () => {
  await useBackend('wasm');
});

describe('RandomResizedCrop parameters (torchvision get_params)', () => {
  it('crops lie inside the image with area in scale and aspect in ratio (up to rounding)', () => {
    const rand = mulberry32(3);
    for (let i = 0; i < 200; i++) {
      const [top, left, h, w] = resizedCropParams(120, 160, [0.08, 1], [3 / 4, 4 / 3], rand);
      expect(top >= 0 && left >= 0 && top + h <= 120 && left + w <= 160).toBe(true);
      expect((h * w) / (120 * 160)).toBeGreaterThan(0.07);
      expect(w / h).toBeGreaterThan(0.7);
      expect(w / h).toBeLessThan(1.4);
    }
  });

  it('falls back to a centre crop at the clamped ratio when 10 tries fail (a 10x100 image, ratio [1, 1])', () => {
    // scale [0.9, 1] of 1000 px with aspect 1 needs a ~30 px square: never fits in height 10.
    const [top, left, h, w] = resizedCropParams(10, 100, [0.9, 1], [1, 1], mulberry32(1));
    // in_ratio 10 > max ratio 1: h = 10, w = round(10 * 1) = 10, centred.
    expect([top, left, h, w]).toEqual([0, 45, 10, 10]);
  });
});

describe('augmentBatch', () => {
  const x = () => tf.randomUniform([3, 8, 10, 3], -1, 1, 'float32', 2) as tf.Tensor4D;

  it('is the identity at neutral settings: full-size crop, 0-degree rotation', () => {
    const input = x();
    const full = augmentBatch(input, { randomResizedCrop: { scale: [1, 1], ratio: [10 / 8, 10 / 8] } }, mulberry32(1));
    expect(tf.max(tf.abs(tf.sub(full, input))).dataSync()[0]).toBeLessThan(1e-5);
    const still = augmentBatch(input, { rotation: 1e-9 }, mulberry32(1));
    expect(tf.max(tf.abs(tf.sub(still, input))).dataSync()[0]).toBeLessThan(1e-5);
  });

  it('brightness multiplies each example by its own factor in [1 - b, 1 + b]', () => {
    const input = tf.add(x(), 2) as tf.Tensor4D; // positive, so ratios are well defined
    const out = augmentBatch(input, { colorJitter: { brightness: 0.4 } }, mulberry32(5));
    const ratio = tf.div(out, input);
    const perExample = tf.split(ratio, 3, 0).map((r) => [tf.min(r).dataSync()[0], tf.max(r).dataSync()[0]]);
    for (const [lo, hi] of perExample) {
      expect(hi - lo).toBeLessThan(1e-5);
      expect(lo).toBeGreaterThanOrEqual(0.6 - 1e-6);
      expect(hi).toBeLessThanOrEqual(1.4 + 1e-6);
    }
    expect(new Set(perExample.map(([v]) => v.toFixed(4))).size).toBe(3);
  });

  it('saturation 0 (factor 1 ± 0) leaves images unchanged; contrast keeps the grey mean', () => {
    const input = x();
    const same = augmentBatch(input, { colorJitter: { saturation: 1e-12 } }, mulberry32(2));
    expect(tf.max(tf.abs(tf.sub(same, input))).dataSync()[0]).toBeLessThan(1e-5);
    const grey = (t: tf.Tensor) => tf.mean(tf.sum(tf.mul(t, tf.tensor1d([0.299, 0.587, 0.114])), -1), [1, 2]);
    const c = augmentBatch(input, { colorJitter: { contrast: 0.5 } }, mulberry32(2));
    expect(tf.max(tf.abs(tf.sub(grey(c), grey(input)))).dataSync()[0]).toBeLessThan(1e-5);
  });
});

describe('fineTune with augmentation', () => {
  it('is seeded (identical reruns), runs the prefix per batch, and leaks nothing', async () => {
    const run = async () => {
      const pm = await tinyHeaded(2, { dropout: 0 });
      const { history } = await fineTune(pm, quadrantImages(16, 16, 3, 3), { headEpochs: 3, epochs: 0, batchSize: 8, seed: 7, augment: { randomResizedCrop: { scale: [0.5, 1] }, rotation: 15, colorJitter: { brightness: 0.2 } } });
      return { history, w: pm.model.getWeights().map((t) => Array.from(t.dataSync())) };
    };
    const a = await run();
    const b = await run();
    expect(b.w).toEqual(a.w);
    expect(a.history.map((h) => h.cache)).toEqual(['none', 'none', 'none']);
    expect(a.history[0].cachedFrom).toBeGreaterThan(0); // the frozen prefix still has no backward pass
    expect(a.history[2].numTensors).toBe(a.history[1].numTensors);
    const plain = await tinyHeaded(2, { dropout: 0 });
    await fineTune(plain, quadrantImages(16, 16, 3, 3), { headEpochs: 3, epochs: 0, batchSize: 8, seed: 7 });
    expect(plain.model.getWeights().map((t) => Array.from(t.dataSync()))).not.toEqual(a.w);
  });
});
