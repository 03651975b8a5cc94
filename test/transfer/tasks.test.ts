/**
 * Multilabel (sigmoid + binary cross-entropy) and regression (linear + MSE) heads: built by
 * replaceHead, trained by fineTune on targets, evaluated, saved and loaded back with their task.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { evaluate, fineTune, loadPretrained, replaceHead, saveModel, useBackend, type LabeledData } from '../../src/index.js';
import { evaluateOutputs } from '../../src/entries/train.js';
import { tinyPretrained } from '../helpers/tiny_model.js';
import { mulberry32 } from '../../src/utils/random.js';

beforeAll(async () => {
  await useBackend('wasm');
});

/** Images with a bright patch in each of the channels whose intensity is > 0 (intensity in [0, 1]). */
function patchImages(n: number, seed: number): { xs: tf.Tensor4D; intensity: number[][] } {
  const rand = mulberry32(seed);
  const size = 16;
  const intensity = Array.from({ length: n }, () => [0, 1, 2].map(() => (rand() < 0.5 ? 0 : 0.3 + 0.7 * rand())));
  const xs = tf.tidy(() => {
    const noise = tf.randomUniform([n, size, size, 3], -0.2, 0.2, 'float32', seed);
    const m = new Float32Array(n * size * size * 3);
    intensity.forEach((row, i) => {
      for (let r = 4; r < 12; r++) for (let k = 4; k < 12; k++) for (let c = 0; c < 3; c++) m[((i * size + r) * size + k) * 3 + c] = row[c];
    });
    return tf.add(noise, tf.tensor4d(m, [n, size, size, 3])) as tf.Tensor4D;
  });
  return { xs, intensity };
}

describe('head tasks', () => {
  it('replaceHead builds sigmoid / linear outputs, and saveModel + loadPretrained keep the task', async () => {
    const base = await tinyPretrained(4);
    const ml = replaceHead(base, { numClasses: 3, task: 'multilabel', classNames: ['r', 'g', 'b'], seed: 1 });
    const rg = replaceHead(base, { numClasses: 1, task: 'regression', seed: 1 });
    const out = tf.tidy(() => ml.model.predict(tf.randomNormal([4, 16, 16, 3], 0, 3, 'float32', 2)) as tf.Tensor);
    const rows = (await out.array()) as number[][];
    // Sigmoid outputs: independent probabilities, rows need not sum to 1.
    expect(rows.every((r) => r.every((p) => p > 0 && p < 1))).toBe(true);
    expect(rows.some((r) => Math.abs(r.reduce((a, b) => a + b, 0) - 1) > 1e-3)).toBe(true);
    out.dispose();
    expect(ml.task).toBe('multilabel');
    expect(rg.model.outputs[0].shape).toEqual([null, 1]);
    expect(() => replaceHead(base, { numClasses: 1 })).toThrow(/>= 2 for task 'multiclass'/);
    expect(() => replaceHead(base, { numClasses: 2, task: 'ranking' as never })).toThrow(/unknown task/);
    const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tk-task-')), 'm');
    await saveModel(ml, dir);
    const back = await loadPretrained(dir);
    expect(back.task).toBe('multilabel');
    expect(back.classNames).toEqual(['r', 'g', 'b']);
  });

  it('a multilabel head learns which channels carry a patch (binary accuracy > 0.9)', async () => {
    const { xs, intensity } = patchImages(60, 3);
    const targets = tf.tensor2d(intensity.map((r) => r.map((v) => (v > 0 ? 1 : 0))));
    const data: LabeledData = { xs, labels: new Int32Array(60), classNames: ['r', 'g', 'b'], targets };
    const pm = replaceHead(await tinyPretrained(5), { numClasses: 3, task: 'multilabel', seed: 2 });
    const before = await evaluateOutputs(pm, data);
    const { history } = await fineTune(pm, data, { recipe: 'full', epochs: 30, batchSize: 20, learningRate: 1e-2, augment: { flip: false }, seed: 3, validation: data });
    const after = await evaluateOutputs(pm, data);
    expect(after.binaryAccuracy as number).toBeGreaterThan(0.9);
    expect(after.loss).toBeLessThan(before.loss);
    // The loop's validation figure is the same metric (binary accuracy).
    expect(history[history.length - 1].valAccuracy as number).toBeCloseTo(after.binaryAccuracy as number, 5);
    expect(after.perOutput.map((o) => o.name)).toEqual(['0', '1', '2']);
    await expect(evaluate(pm, data)).rejects.toThrow(/evaluateOutputs/);
  });

  it('a regression head learns the patch intensities (MAE well below predicting the mean)', async () => {
    const { xs, intensity } = patchImages(60, 7);
    const targets = tf.tensor2d(intensity);
    const data: LabeledData = { xs, labels: new Int32Array(60), classNames: ['r', 'g', 'b'], targets };
    const mean = [0, 1, 2].map((c) => intensity.reduce((a, r) => a + r[c], 0) / 60);
    const baseline = intensity.reduce((a, r) => a + r.reduce((s, v, c) => s + Math.abs(v - mean[c]), 0), 0) / (60 * 3);
    const pm = replaceHead(await tinyPretrained(6), { numClasses: 3, task: 'regression', dropout: 0, seed: 2 });
    const { history } = await fineTune(pm, data, { stages: [{ epochs: 30, trainable: 'all', bn: 'train-affine', learningRate: 1e-2 }], batchSize: 20, augment: { flip: false }, seed: 4 });
    const ev = await evaluateOutputs(pm, data);
    expect(ev.mae as number).toBeLessThan(0.5 * baseline);
    expect(history[0].accuracy).toBeNaN(); // no accuracy for regression …
    expect(history[history.length - 1].mae as number).toBeLessThan(history[0].mae as number); // … its MAE instead
  });

  it('bad targets get clear errors naming the shape or the missing field', async () => {
    const { xs } = patchImages(8, 1);
    const pm = replaceHead(await tinyPretrained(6), { numClasses: 3, task: 'multilabel', seed: 2 });
    await expect(fineTune(pm, { xs, labels: new Int32Array(8), classNames: [] }, { headEpochs: 1, epochs: 0 })).rejects.toThrow(/no `targets`.*multilabel/);
    await expect(fineTune(pm, { xs, labels: new Int32Array(8), classNames: [], targets: tf.zeros([8, 2]) }, { headEpochs: 1, epochs: 0 })).rejects.toThrow(/\[8, 2\].*3 outputs/);
    await expect(fineTune(pm, { xs, labels: new Int32Array(8), classNames: [], targets: tf.zeros([8, 3]) }, { headEpochs: 1, epochs: 0, classWeights: [1, 1, 1] })).rejects.toThrow(/multiclass/);
  });
});
