/**
 * User-defined stages: each stage trains exactly the layers it names (everything else frozen),
 * with its own rate/schedule, and logs under its own name.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { fineTune, useBackend, type PretrainedModel } from '../../src/index.js';
import { OneCycle } from '../../src/schedules/one_cycle.js';
import { quadrantImages, tinyHeaded } from '../helpers/tiny_model.js';

beforeAll(async () => {
  await useBackend('wasm');
});

function snapshot(pm: PretrainedModel): Map<string, Float32Array> {
  return new Map(pm.model.weights.map((w) => [w.name, w.read().dataSync().slice() as Float32Array]));
}

function moved(a: Map<string, Float32Array>, b: Map<string, Float32Array>): string[] {
  return [...a.keys()].filter((k) => a.get(k)?.some((v, i) => v !== b.get(k)?.[i]));
}

describe('fineTune stages', () => {
  it('stage 1 trains the head only; stage 2 also the layers from Conv_1; nothing else moves', async () => {
    const pm = await tinyHeaded(7);
    const data = quadrantImages(24, 16, 3, 5);
    const s0 = snapshot(pm);
    const seenStages: string[] = [];
    const { history } = await fineTune(pm, data, {
      batchSize: 8,
      seed: 2,
      stages: [
        { name: 'warm-head', epochs: 2, learningRate: 1e-2 },
        { name: 'top', epochs: 2, trainable: { from: 'Conv_1' }, bn: 'train-affine', learningRate: 1e-3, schedule: (peak, total) => new OneCycle({ maxLearningRate: peak, totalSteps: total }) },
      ],
      onEpochEnd: (l) => void seenStages.push(l.stage),
    });
    expect(seenStages).toEqual(['warm-head', 'warm-head', 'top', 'top']);
    expect(history).toHaveLength(4);
    const s2 = snapshot(pm);
    const changed = moved(s0, s2);
    expect(changed.some((n) => n.startsWith('head_predictions'))).toBe(true);
    expect(changed.some((n) => n.startsWith('Conv_1/'))).toBe(true);
    expect(changed.some((n) => n.startsWith('Conv_1_bn/gamma'))).toBe(true);
    // train-affine: Conv_1_bn's statistics stay; every layer below Conv_1 stays bit-identical.
    expect(changed.filter((n) => /moving_(mean|variance)/.test(n))).toEqual([]);
    expect(changed.filter((n) => /^(Conv1|bn_Conv1|block_1)/.test(n))).toEqual([]);
    // The constant stage logs its rate; the one-cycle stage (2 epochs x 3 steps) logs fastai's rate at
    // its last step, pos = 5/6: cosine from max to max/1e5 over the 75 % after pct_start.
    expect(history[1].learningRate).toBeCloseTo(1e-2, 10);
    const p = (5 / 6 - 0.25) / 0.75;
    const expected = 1e-8 + (1e-3 - 1e-8) * (1 + Math.cos(Math.PI * p)) / 2;
    expect(history[3].learningRate).toBeCloseTo(expected, 10);
  });

  it('rejects empty, duplicate-named or mixed (recipe + stages) configurations, naming them', async () => {
    const pm = await tinyHeaded(7);
    const data = quadrantImages(6, 16, 3, 5);
    await expect(fineTune(pm, data, { stages: [] })).rejects.toThrow(/`stages` is empty/);
    await expect(fineTune(pm, data, { stages: [{ name: 'a', epochs: 1 }, { name: 'a', epochs: 1 }] })).rejects.toThrow(/two stages are named 'a'/);
    await expect(fineTune(pm, data, { recipe: 'two-stage', stages: [{ epochs: 1 }] })).rejects.toThrow(/either `stages` or a recipe/);
    await expect(fineTune(pm, data, { stages: [{ epochs: 1.5 }] })).rejects.toThrow(/stages\[0\]\.epochs/);
    expect(tf.memory().numTensors).toBeGreaterThan(0);
  });
});

describe('validationSplit', () => {
  it('holds out a seeded, stratified fraction and validates on it; the split tensors are freed', async () => {
    const data = quadrantImages(30, 16, 3, 5);
    const before = tf.memory().numTensors;
    const pm = await tinyHeaded(7);
    const afterModel = tf.memory().numTensors;
    const { history } = await fineTune(pm, data, { headEpochs: 1, epochs: 0, batchSize: 8, validationSplit: 0.2, seed: 3 });
    expect(history[0].valAccuracy).toBeDefined();
    // 24 training rows → 3 steps of 8; the validation part (6 rows) gave a valAccuracy in sixths.
    expect(Math.round((history[0].valAccuracy as number) * 6) / 6).toBeCloseTo(history[0].valAccuracy as number, 10);
    expect(tf.memory().numTensors - afterModel).toBeLessThanOrEqual(0);
    expect(afterModel).toBeGreaterThan(before);
    await expect(fineTune(pm, data, { validationSplit: 0.2, validation: data })).rejects.toThrow(/either `validation` or `validationSplit`/);
  });
});
