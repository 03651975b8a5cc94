/**
 * Keras' frozen-BatchNorm rule on TF.js (which 4.22 violates by itself; see NOTES-runtime).
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { fineTune, freeze, replaceHead, useBackend, type PretrainedModel } from '../../src/index.js';
import { quadrantImages, tinyPretrained } from '../helpers/tiny_model.js';

const snapshot = (pm: PretrainedModel, names: string[]) =>
  Object.fromEntries(names.flatMap((n) => pm.model.getLayer(n).getWeights().map((w, i) => [`${n}/${i}`, Array.from(w.dataSync())])));

beforeAll(async () => {
  await useBackend('wasm');
});

describe('BatchNorm freezing', () => {
  it('frozen backbone: BN statistics and all backbone weights stay bit-identical across training', async () => {
    const base = await tinyPretrained();
    const model = replaceHead(base, { numClasses: 3, seed: 1 });
    const backbone = model.model.layers.slice(1, model.model.layers.findIndex((l) => l.name === model.featureLayer) + 1).map((l) => l.name);
    const before = snapshot(model, backbone);
    const data = quadrantImages(24);
    const headBefore = snapshot(model, ['head_predictions']);
    await fineTune(model, data, { recipe: 'head-only', headEpochs: 2, batchSize: 8, cacheActivations: false });
    expect(snapshot(model, backbone)).toEqual(before);
    // The head did train (so the test could fail).
    expect(snapshot(model, ['head_predictions'])).not.toEqual(headBefore);
  });

  it("'train' mode does update moving statistics (the control)", async () => {
    const base = await tinyPretrained();
    const bn = base.model.getLayer('bn_Conv1');
    const mean0 = Array.from(bn.getWeights()[2].dataSync());
    const x = quadrantImages(8).xs;
    tf.tidy(() => {
      base.model.apply(x, { training: true });
    });
    expect(Array.from(bn.getWeights()[2].dataSync())).not.toEqual(mean0);
    // Once frozen, the same call leaves them alone.
    freeze(base, 'all');
    const mean1 = Array.from(bn.getWeights()[2].dataSync());
    tf.tidy(() => {
      base.model.apply(x, { training: true });
    });
    expect(Array.from(bn.getWeights()[2].dataSync())).toEqual(mean1);
  });

  it("fine-tune stage keeps unfrozen BN statistics fixed ('train-affine', Keras' recipe) while gamma/beta train", async () => {
    const base = await tinyPretrained();
    const model = replaceHead(base, { numClasses: 3, seed: 2 });
    const data = quadrantImages(24);
    const bn = model.model.getLayer('Conv_1_bn');
    const [gamma0, , mean0, var0] = bn.getWeights().map((w) => Array.from(w.dataSync()));
    await fineTune(model, data, { headEpochs: 1, epochs: 2, batchSize: 8, unfreeze: { from: 'Conv_1' } });
    const [gamma1, , mean1, var1] = bn.getWeights().map((w) => Array.from(w.dataSync()));
    expect(mean1).toEqual(mean0);
    expect(var1).toEqual(var0);
    expect(gamma1).not.toEqual(gamma0);
  });

  it("a new head's BatchNorm (fastai head) trains fully in both stages while the backbone's statistics stay fixed", async () => {
    const model = replaceHead(await tinyPretrained(), { numClasses: 3, preset: 'fastai', seed: 3 });
    const data = quadrantImages(24);
    const headBn = model.model.getLayer('head_bn');
    const backboneBn = model.model.getLayer('Conv_1_bn');
    const mean = (l: typeof headBn) => Array.from(l.getWeights()[2].dataSync());
    const head0 = mean(headBn);
    const backbone0 = mean(backboneBn);
    const after: Record<string, number[]> = {};
    await fineTune(model, data, {
      headEpochs: 1, epochs: 1, batchSize: 8, frozenBn: 'frozen', bn: 'train-affine', unfreeze: { from: 'Conv_1' },
      onEpochEnd: (l) => void (after[l.stage] = mean(headBn)),
    });
    expect(after.head).not.toEqual(head0); // head stage: its statistics update
    expect(after['fine-tune']).not.toEqual(after.head); // and still in the fine-tune stage, despite bn: 'train-affine'
    expect(mean(backboneBn)).toEqual(backbone0); // the pretrained ones never move
  });
});
