import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { evaluate, fineTune, freeze, loadPretrained, replaceHead, saveModel, summary, unfreeze, useBackend, type PretrainedModel } from '../../src/index.js';
import { defaultUnfreezeFrom, selectLayers } from '../../src/entries/train.js';
import { quadrantImages, tinyPretrained } from '../helpers/tiny_model.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'tk-ft-'));

const allWeights = (pm: PretrainedModel) => pm.model.getWeights().map((w) => Float32Array.from(w.dataSync()));

beforeAll(async () => {
  await useBackend('wasm');
});

describe('fineTune', () => {
  it('does not leak tensors: numTensors after epoch 1 equals after epoch 3, in both stages', async () => {
    const model = replaceHead(await tinyPretrained(), { numClasses: 3, seed: 3 });
    const data = quadrantImages(30);
    const { history } = await fineTune(model, data, { headEpochs: 3, epochs: 3, batchSize: 8, validation: quadrantImages(9, 16, 3, 8) });
    const head = history.filter((h) => h.stage === 'head');
    const ft = history.filter((h) => h.stage === 'fine-tune');
    expect(head).toHaveLength(3);
    expect(ft).toHaveLength(3);
    expect(head[2].numTensors).toBe(head[0].numTensors);
    expect(ft[2].numTensors).toBe(ft[0].numTensors);
  });

  it('learns a separable task (loss falls, accuracy rises)', async () => {
    const model = replaceHead(await tinyPretrained(), { numClasses: 3, seed: 4, dropout: 0 });
    const data = quadrantImages(60);
    const { history } = await fineTune(model, data, { headEpochs: 15, epochs: 5, batchSize: 12, headLearningRate: 3e-2, learningRate: 3e-3, augment: { flip: false } });
    expect(history[history.length - 1].loss).toBeLessThan(history[0].loss * 0.7);
    expect((await evaluate(model, quadrantImages(30, 16, 3, 11))).accuracy).toBeGreaterThan(0.6);
  });

  it('activation caching gives the same weights as running the whole network', async () => {
    const data = quadrantImages(24);
    const run = async (cache: boolean) => {
      const model = replaceHead(await tinyPretrained(5), { numClasses: 3, seed: 5, dropout: 0 });
      const { history } = await fineTune(model, data, { headEpochs: 2, epochs: 2, batchSize: 8, cacheActivations: cache, seed: 9, unfreeze: { from: 'Conv_1' } });
      return { w: allWeights(model), from: history.map((h) => h.cachedFrom) };
    };
    const cached = await run(true);
    const full = await run(false);
    expect(cached.from.every((f) => f > 0)).toBe(true);
    expect(full.from.every((f) => f === 0)).toBe(true);
    cached.w.forEach((w, i) => {
      let d = 0;
      let m = 0;
      for (let k = 0; k < w.length; k++) {
        d = Math.max(d, Math.abs(w[k] - full.w[i][k]));
        m = Math.max(m, Math.abs(full.w[i][k]));
      }
      expect(d / Math.max(m, 1e-6)).toBeLessThan(1e-4);
    });
  });

  it('with dropout, the cached run, the uncached run and micro-batches give the same weights (masks are per step, not per micro-batch)', async () => {
    const data = quadrantImages(24);
    const run = async (cache: boolean, microBatchSize?: number) => {
      const model = replaceHead(await tinyPretrained(5), { numClasses: 3, seed: 5, dropout: 0.4 });
      await fineTune(model, data, { recipe: 'head-only', headEpochs: 3, batchSize: 8, cacheActivations: cache, seed: 9, ...(microBatchSize ? { microBatchSize } : {}) });
      return allWeights(model);
    };
    const reference = await run(true);
    const dropoutOff = await (async () => {
      const model = replaceHead(await tinyPretrained(5), { numClasses: 3, seed: 5, dropout: 0 });
      await fineTune(model, data, { recipe: 'head-only', headEpochs: 3, batchSize: 8, seed: 9 });
      return allWeights(model);
    })();
    const maxDiff = (a: Float32Array[], b: Float32Array[]) => Math.max(...a.map((w, i) => Math.max(...Array.from(w, (v, k) => Math.abs(v - b[i][k])))));
    // The masks matter (so equal weights below are not a no-op dropout)...
    expect(maxDiff(reference, dropoutOff)).toBeGreaterThan(1e-3);
    // ...and do not depend on how a step is split: 8 rows as 3 + 3 + 2, or uncached as 5 + 3.
    expect(maxDiff(reference, await run(true, 3))).toBeLessThan(1e-5);
    expect(maxDiff(reference, await run(false, 5))).toBeLessThan(1e-5);
  });

  it('rejects bad options with the option named', async () => {
    const model = replaceHead(await tinyPretrained(), { numClasses: 3 });
    const data = quadrantImages(6);
    await expect(fineTune(model, data, { batchSize: 0 })).rejects.toMatchObject({ code: 'E_BAD_OPTION', message: expect.stringContaining('batchSize') });
    await expect(fineTune(model, data, { recipe: 'magic' as never })).rejects.toMatchObject({ code: 'E_BAD_OPTION' });
    const bad = { ...data, labels: Int32Array.from(data.labels, () => 7) };
    await expect(fineTune(model, bad)).rejects.toMatchObject({ code: 'E_DATA', message: expect.stringContaining('numClasses: 8') });
  });

  it('saves and reloads with class names and preprocessing', async () => {
    const model = replaceHead(await tinyPretrained(), { numClasses: 3, classNames: ['a', 'b', 'c'] });
    const dir = path.join(tmp(), 'saved');
    await saveModel(model, dir);
    const again = await loadPretrained(dir);
    expect(again.classNames).toEqual(['a', 'b', 'c']);
    expect(again.preprocessing).toEqual(model.preprocessing);
    const x = quadrantImages(4).xs;
    expect(Array.from((again.model.predict(x) as tf.Tensor).dataSync())).toEqual(Array.from((model.model.predict(x) as tf.Tensor).dataSync()));
  });
});

describe('freeze / unfreeze / replaceHead', () => {
  it('selects layers by name range, regex, list and predicate', async () => {
    const pm = await tinyPretrained();
    expect(selectLayers(pm, { upTo: 'bn_Conv1' }).map((l) => l.name)).toEqual(['input_1', 'Conv1', 'bn_Conv1']);
    expect(selectLayers(pm, { upTo: 'bn_Conv1', inclusive: false })).toHaveLength(2);
    expect(selectLayers(pm, /_BN$/).map((l) => l.name)).toEqual(['block_1_depthwise_BN', 'block_1_project_BN']);
    expect(selectLayers(pm, ['Conv_1']).map((l) => l.name)).toEqual(['Conv_1']);
    expect(selectLayers(pm, (l) => l.getClassName() === 'Add').map((l) => l.name)).toEqual(['block_1_add']);
    expect(selectLayers(pm, 'backbone').at(-1)?.name).toBe('global_average_pooling2d');
    expect(() => selectLayers(pm, { upTo: 'block_99' })).toThrow(/No layer named 'block_99'/);
  });

  it('freezing removes weights from the trainable set without a recompile', async () => {
    const pm = await tinyPretrained();
    const n = pm.model.trainableWeights.length;
    freeze(pm, 'backbone');
    expect(pm.model.trainableWeights.map((w) => w.originalName)).toEqual(['predictions/kernel', 'predictions/bias']);
    unfreeze(pm, { from: 'Conv_1' });
    // + Conv_1 kernel, Conv_1_bn gamma and beta
    expect(pm.model.trainableWeights.length).toBe(5);
    unfreeze(pm, 'all');
    expect(pm.model.trainableWeights.length).toBe(n);
  });

  it('replaceHead builds pooling, hidden layers and a softmax of numClasses', async () => {
    const pm = await tinyPretrained();
    const m = replaceHead({ ...pm, featureLayer: 'out_relu' }, { numClasses: 5, hidden: [7], pooling: 'max' });
    expect(m.model.outputs[0].shape).toEqual([null, 5]);
    expect(m.headLayers).toEqual(['head_pool', 'head_dropout_0', 'head_hidden_0', 'head_dropout', 'head_predictions']);
    expect(m.model.getLayer('head_hidden_0').outputShape).toEqual([null, 7]);
    expect(() => replaceHead(pm, { numClasses: 1 })).toThrow(/numClasses must be an integer >= 2/);
    expect(() => replaceHead(pm, { numClasses: 2, classNames: ['x'] })).toThrow(/classNames has 1 names/);
  });

  it("preset 'fastai' builds fastai's create_head: concat pooling of the map before the model's own pool, BN -> dropout -> bias-free dense", async () => {
    const pm = await tinyPretrained();
    const m = replaceHead(pm, { numClasses: 3, preset: 'fastai', seed: 1 });
    // The tiny backbone ends in its own global average pool; the head pools the map before it.
    expect(m.featureLayer).toBe('out_relu');
    const channels = m.model.getLayer('out_relu').outputShape.at(-1) as number;
    expect(m.model.getLayer('head_pool').outputShape).toEqual([null, 2 * channels]);
    const kinds = m.headLayers.map((n) => m.model.getLayer(n).getClassName());
    expect(kinds.filter((k) => k !== 'GlobalMaxPooling2D' && k !== 'GlobalAveragePooling2D')).toEqual(['Concatenate', 'BatchNormalization', 'Dropout', 'Dense', 'BatchNormalization', 'Dropout', 'Dense']);
    const cfg = (n: string) => m.model.getLayer(n).getConfig() as Record<string, unknown>;
    expect([cfg('head_dropout_0').rate, cfg('head_dropout').rate]).toEqual([0.25, 0.5]);
    expect([cfg('head_hidden_0').units, cfg('head_hidden_0').useBias, cfg('head_predictions').useBias]).toEqual([512, false, false]);
    expect([cfg('head_bn').momentum, cfg('head_bn').epsilon]).toEqual([0.9, 1e-5]);
    // Concat pooling is [max, mean] over H and W, in fastai's order.
    const x = quadrantImages(2).xs;
    const sub = (name: string) => tfl.model({ inputs: m.model.inputs, outputs: m.model.getLayer(name).output as tfl.SymbolicTensor });
    const [map, pooled] = [sub('out_relu').predict(x) as tf.Tensor4D, sub('head_pool').predict(x) as tf.Tensor2D];
    const want = tf.concat([tf.max(map, [1, 2]), tf.mean(map, [1, 2])], 1);
    expect(tf.max(tf.abs(tf.sub(pooled, want))).dataSync()[0]).toBeLessThan(1e-5);
    // Explicit options win over the preset.
    expect(replaceHead(pm, { numClasses: 3, preset: 'fastai', hidden: [16], dropout: [0, 0.1] }).model.getLayer('head_hidden_0').outputShape).toEqual([null, 16]);
    expect(() => replaceHead(pm, { numClasses: 3, hidden: [8], dropout: [0.5] })).toThrow(/dropout lists 1 rates but the head has 2 Dense layers/);
    expect(() => replaceHead(pm, { numClasses: 3, preset: 'keras' as 'fastai' })).toThrow(/unknown preset/);
  });

  it("pooling 'max' on a model that ends in its own average pool max-pools the map before it", async () => {
    const m = replaceHead(await tinyPretrained(), { numClasses: 3, pooling: 'max' });
    expect(m.featureLayer).toBe('out_relu');
    expect(m.model.getLayer('head_pool').getClassName()).toBe('GlobalMaxPooling2D');
  });

  it('the default fine-tune boundary is a block boundary', async () => {
    const pm = replaceHead(await tinyPretrained(), { numClasses: 3 });
    // Cuts exist after Conv1, bn_Conv1, Conv1_relu, block_1_add, Conv_1, ...; only those followed
    // by a conv start a block: Conv1_relu -> block_1_depthwise, block_1_add -> Conv_1 (nearer 75 %).
    expect(defaultUnfreezeFrom(pm)).toBe('Conv_1');
  });
});

describe('gradient accumulation', () => {
  it('micro-batches give the same update as the full batch when no layer trains BatchNorm statistics', async () => {
    const data = quadrantImages(16);
    const run = async (micro?: number) => {
      const model = replaceHead(await tinyPretrained(6), { numClasses: 3, seed: 6, dropout: 0 });
      // BN frozen or train-affine everywhere: no batch statistics, so chunking is exact.
      await fineTune(model, data, { headEpochs: 1, epochs: 1, batchSize: 8, microBatchSize: micro, seed: 3, augment: { flip: false }, unfreeze: { from: 'Conv_1' } });
      return allWeights(model);
    };
    const whole = await run();
    const chunked = await run(3);
    whole.forEach((w, i) => {
      let d = 0;
      let m = 0;
      for (let k = 0; k < w.length; k++) {
        d = Math.max(d, Math.abs(w[k] - chunked[i][k]));
        m = Math.max(m, Math.abs(w[k]));
      }
      expect(d / Math.max(m, 1e-6)).toBeLessThan(1e-4);
    });
  });
});

describe('optimizer integration', () => {
  it('a one-cycle schedule drives both the learning rate and the momentum (Adam beta1)', async () => {
    const { Adam } = await import('../../src/entries/optimizers.js');
    const { OneCycle } = await import('../../src/entries/schedules.js');
    const model = replaceHead(await tinyPretrained(7), { numClasses: 3, seed: 7 });
    const data = quadrantImages(16);
    let captured: InstanceType<typeof Adam> | null = null;
    let sched: InstanceType<typeof OneCycle> | null = null;
    const seen: number[] = [];
    await fineTune(model, data, {
      recipe: 'head-only', headEpochs: 2, batchSize: 8,
      optimizer: (groups, lr) => (captured = new Adam(groups, { learningRate: lr })),
      schedule: (_stage, peak, total) => (sched = new OneCycle({ maxLearningRate: peak, totalSteps: total })),
      onEpochEnd: () => void seen.push((captured as unknown as InstanceType<typeof Adam>).momentum),
    });
    // 2 epochs x 2 steps: the last step is 3 of 4 (pos 0.75).
    const s = sched as unknown as InstanceType<typeof OneCycle>;
    expect(seen[1]).toBeCloseTo(s.momentumAt(3), 12);
    expect(seen[0]).toBeCloseTo(s.momentumAt(1), 12);
    expect((captured as unknown as InstanceType<typeof Adam>).learningRate).toBeCloseTo(s.at(3), 12);
  });

  it('clipNorm bounds the update to the clipping norm (SGD, lr 1)', async () => {
    const { SGD } = await import('../../src/entries/optimizers.js');
    const { trainStep } = await import('../../src/entries/train.js');
    const pm = replaceHead(await tinyPretrained(8), { numClasses: 3, seed: 8, dropout: 0 });
    freeze(pm, 'backbone');
    const vars = pm.model.trainableWeights.map((w) => w.read() as tf.Variable);
    const before = vars.map((v) => Float32Array.from(v.dataSync()));
    const data = quadrantImages(8);
    const y = tf.oneHot(tf.tensor1d(data.labels, 'int32'), 3);
    const r = trainStep({ model: pm.model, from: 0, x: data.xs, y, vars, optimizer: new SGD(vars, { learningRate: 1 }), clipNorm: 1e-3 });
    expect(r.gradNorm).toBeGreaterThan(1e-3);
    let sq = 0;
    vars.forEach((v, i) => v.dataSync().forEach((val, k) => (sq += (val - before[i][k]) ** 2)));
    expect(Math.sqrt(sq)).toBeCloseTo(1e-3, 6);
  });
});

describe('layer specs, BatchNorm policy and summary', () => {
  it('named blocks, index ranges and depth fractions', async () => {
    const pm = await tinyPretrained();
    expect(selectLayers(pm, 'block_1').map((l) => l.name)).toEqual(['block_1_depthwise', 'block_1_depthwise_BN', 'block_1_depthwise_relu', 'block_1_project', 'block_1_project_BN', 'block_1_add']);
    expect(selectLayers(pm, { range: [1, 3] }).map((l) => l.name)).toEqual(['Conv1', 'bn_Conv1']);
    // backbone = layers 0..13 (14 layers, up to global_average_pooling2d): 50 % = the bottom 7
    expect(selectLayers(pm, { fraction: 0.5 }).map((l) => l.name)).toEqual(['input_1', 'Conv1', 'bn_Conv1', 'Conv1_relu', 'block_1_depthwise', 'block_1_depthwise_BN', 'block_1_depthwise_relu']);
    expect(() => selectLayers(pm, 'block_7')).toThrow(/No layer is named 'block_7'.*block_1/);
    expect(() => selectLayers(pm, { range: [3, 99] })).toThrow(/range must be/);
    expect(() => selectLayers(pm, { fraction: 1.5 })).toThrow(/fraction must be in \[0, 1\]/);
  });

  it("summary counts parameters and shows frozen / partial ('train-affine' BN) / trainable", async () => {
    const pm = replaceHead(await tinyPretrained(), { numClasses: 3 });
    freeze(pm, 'backbone', { bn: 'train-affine' });
    const s = summary(pm);
    expect(s.totalParams).toBe(pm.model.countParams());
    const bn = s.layers.find((r) => r.name === 'bn_Conv1');
    expect(bn).toMatchObject({ status: 'partial', bn: 'train-affine', params: 32, trainableParams: 16 });
    expect(s.layers.find((r) => r.name === 'Conv1')?.status).toBe('frozen');
    expect(s.layers.find((r) => r.name === 'head_predictions')?.status).toBe('trainable');
    // trainable: 4 BN layers' gamma+beta (8+8+8+16)*2 = 80, head 16*3+3 = 51
    expect(s.trainableParams).toBe(80 + 51);
    expect(s.text).toContain('trainable: 131');
  });

  it("freeze(..., { bn: 'train' }) keeps BN fully training inside a frozen body: statistics move, convs do not", async () => {
    const pm = replaceHead(await tinyPretrained(9), { numClasses: 3, seed: 9 });
    freeze(pm, 'backbone', { bn: 'train' });
    const conv0 = Array.from(pm.model.getLayer('Conv1').getWeights()[0].dataSync());
    const mean0 = Array.from(pm.model.getLayer('bn_Conv1').getWeights()[2].dataSync());
    const { SGD } = await import('../../src/entries/optimizers.js');
    const { trainStep } = await import('../../src/entries/train.js');
    const vars = pm.model.trainableWeights.map((w) => w.read() as tf.Variable);
    const data = quadrantImages(8);
    trainStep({ model: pm.model, from: 0, x: data.xs, y: tf.oneHot(tf.tensor1d(data.labels, 'int32'), 3), vars, optimizer: new SGD(vars, { learningRate: 0.1 }) });
    expect(Array.from(pm.model.getLayer('Conv1').getWeights()[0].dataSync())).toEqual(conv0);
    expect(Array.from(pm.model.getLayer('bn_Conv1').getWeights()[2].dataSync())).not.toEqual(mean0);
  });

  it("fineTune's frozenBn: 'train-affine' trains gamma/beta of the frozen body, statistics fixed (fastai train_bn)", async () => {
    const pm = replaceHead(await tinyPretrained(10), { numClasses: 3, seed: 10 });
    const bn = pm.model.getLayer('bn_Conv1');
    const [g0, , m0] = bn.getWeights().map((w) => Array.from(w.dataSync()));
    const conv0 = Array.from(pm.model.getLayer('Conv1').getWeights()[0].dataSync());
    const { history } = await fineTune(pm, quadrantImages(16), { recipe: 'head-only', headEpochs: 1, batchSize: 8, frozenBn: 'train-affine' });
    const [g1, , m1] = bn.getWeights().map((w) => Array.from(w.dataSync()));
    expect(g1).not.toEqual(g0);
    expect(m1).toEqual(m0);
    expect(Array.from(pm.model.getLayer('Conv1').getWeights()[0].dataSync())).toEqual(conv0);
    // gamma of the first BN trains, so nothing above the input can be cached
    expect(history[0].cachedFrom).toBeLessThanOrEqual(1);
  });
});

describe("fastai 'fine-tune' recipe", () => {
  it('stage 1: frozen body with training BN, slice(base_lr), one-cycle pct_start 0.99; stage 2: base_lr/2, slice(lo, hi), div 5', async () => {
    const { AdamW } = await import('../../src/entries/optimizers.js');
    const pm = replaceHead(await tinyPretrained(11), { numClasses: 3, seed: 11 });
    const groupsSeen: string[][] = [];
    const lrs: Record<string, number[]> = { head: [], 'fine-tune': [] };
    const mean0 = Array.from(pm.model.getLayer('bn_Conv1').getWeights()[2].dataSync());
    const conv0 = Array.from(pm.model.getLayer('Conv1').getWeights()[0].dataSync());
    let meanAfterStage1: number[] = [];
    let convAfterStage1: number[] = [];
    await fineTune(pm, quadrantImages(16), {
      recipe: 'fine-tune', epochs: 1, batchSize: 8, baseLr: 2e-3,
      optimizer: (groups, lr) => {
        groupsSeen.push(groups.map((g) => `${g.name}:${Number(g.lrScale?.toPrecision(4))}`));
        return new AdamW(groups, { learningRate: lr, betas: [0.9, 0.99], epsilon: 1e-5 });
      },
      callbacks: [{
        onBatchEnd: (b, c) => void lrs[c.stage].push(b.learningRate),
        onTrainEnd: (_h, c) => {
          if (c.stage !== 'head') return;
          meanAfterStage1 = Array.from(pm.model.getLayer('bn_Conv1').getWeights()[2].dataSync());
          convAfterStage1 = Array.from(pm.model.getLayer('Conv1').getWeights()[0].dataSync());
        },
      }],
    });
    // stage 1 (freeze_epochs 1 by default): BN statistics train (train_bn), convolutions stay frozen
    expect(meanAfterStage1).not.toEqual(mean0);
    expect(convAfterStage1).toEqual(conv0);
    // slice(2e-3) over 3 groups -> [2e-4, 2e-4, 2e-3] -> scales 0.1, 0.1, 1 (body groups hold only BN parameters)
    expect(groupsSeen[0]).toEqual(['body_0_no_decay:0.1', 'body_1_no_decay:0.1', 'head:1', 'head_no_decay:1']);
    // one-cycle over 2 steps, pct_start 0.99: step 0 = max / 25
    expect(lrs.head[0]).toBeCloseTo(2e-3 / 25, 12);
    // stage 2: base_lr / 2 = 1e-3, slice(1e-5, 1e-3) -> scales 0.01, 0.1, 1; one-cycle div 5 -> step 0 = 1e-3 / 5
    expect(groupsSeen[1]).toEqual(['body_0:0.01', 'body_0_no_decay:0.01', 'body_1:0.1', 'body_1_no_decay:0.1', 'head:1', 'head_no_decay:1']);
    expect(lrs['fine-tune'][0]).toBeCloseTo(1e-3 / 5, 12);
    expect(Array.from(pm.model.getLayer('Conv1').getWeights()[0].dataSync())).not.toEqual(conv0);
  });

  it("'feature-extraction' trains only the head", async () => {
    const pm = replaceHead(await tinyPretrained(12), { numClasses: 3, seed: 12 });
    const { history } = await fineTune(pm, quadrantImages(8), { recipe: 'feature-extraction', headEpochs: 2, epochs: 3, batchSize: 8 });
    expect(history.map((h) => h.stage)).toEqual(['head', 'head']);
  });
});

describe('replaceHead cut point and pooling', () => {
  it("cuts at a named layer or index; pooling 'none' keeps the spatial map", async () => {
    const pm = await tinyPretrained();
    const byName = replaceHead(pm, { numClasses: 4, at: 'block_1_add' });
    expect(byName.featureLayer).toBe('block_1_add');
    expect(byName.model.layers.map((l) => l.name)).not.toContain('Conv_1');
    expect(byName.model.outputs[0].shape).toEqual([null, 4]);
    const byIndex = replaceHead(pm, { numClasses: 4, at: 3 });
    expect(byIndex.featureLayer).toBe('Conv1_relu');
    const dense = replaceHead(pm, { numClasses: 2, at: 'out_relu', pooling: 'none', dropout: 0 });
    expect(dense.model.outputs[0].shape).toEqual([null, 8, 8, 2]);
    expect(() => replaceHead(pm, { numClasses: 2, at: 'block_9_add' })).toThrow(/no layer named 'block_9_add'/);
    expect(() => replaceHead(pm, { numClasses: 2, at: 99 })).toThrow(/index out of range/);
  });
});

describe("Lightning 'gradual-unfreeze' recipe", () => {
  it('backbone joins the same optimizer at 0.1x the head rate, doubling per epoch, capped at the head rate', async () => {
    const pm = replaceHead(await tinyPretrained(13), { numClasses: 3, seed: 13 });
    const scales: number[] = [];
    let optimizers = 0;
    let captured: { group: (n: string) => { lrScale: number } | undefined } | null = null;
    const { SGD } = await import('../../src/entries/optimizers.js');
    const { history } = await fineTune(pm, quadrantImages(16), {
      recipe: 'gradual-unfreeze', epochs: 7, unfreezeAtEpoch: 2, batchSize: 8, learningRate: 1e-2,
      optimizer: (groups, lr) => {
        optimizers++;
        const o = new SGD(groups, { learningRate: lr, momentum: 0.9 });
        captured = o;
        return o;
      },
      callbacks: [{ onEpochEnd: (_l, c) => { if (c.stage === 'fine-tune') scales.push(captured?.group('backbone')?.lrScale ?? NaN); } }],
    });
    expect(optimizers).toBe(1); // one optimizer for the whole run (Lightning adds a param group)
    expect(history.map((h) => h.stage)).toEqual(['head', 'head', 'fine-tune', 'fine-tune', 'fine-tune', 'fine-tune', 'fine-tune']);
    // 0.1, 0.2, 0.4, 0.8, then aligned to the head's rate (1.6 > 1)
    expect(scales.map((x) => Number(x.toFixed(10)))).toEqual([0.1, 0.2, 0.4, 0.8, 1]);
    expect(history.every((h) => h.learningRate === 1e-2)).toBe(true);
  });

  it('resumes exactly in the middle of the unfrozen phase', async () => {
    const dir = path.join(tmp(), 'ckpt');
    const opts = { recipe: 'gradual-unfreeze' as const, epochs: 5, unfreezeAtEpoch: 2, batchSize: 8, seed: 4, learningRate: 5e-3 };
    const mk = async () => replaceHead(await tinyPretrained(14), { numClasses: 3, seed: 14, dropout: 0 });
    const whole = await mk();
    await fineTune(whole, quadrantImages(16), opts);
    const crashed = await mk();
    await expect(fineTune(crashed, quadrantImages(16), { ...opts, checkpoint: { dir }, callbacks: [{ onEpochEnd: (l) => { if (l.stage === 'fine-tune' && l.epoch === 2) throw new Error('crash'); } }] })).rejects.toThrow('crash');
    const resumed = await mk();
    await fineTune(resumed, quadrantImages(16), { ...opts, resumeFrom: dir });
    const a = allWeights(whole);
    const b = allWeights(resumed);
    a.forEach((w, i) => {
      const scale = Math.max(1e-6, ...Array.from(w, Math.abs));
      w.forEach((v, k) => expect(Math.abs(v - b[i][k]) / scale).toBeLessThan(1e-6));
    });
  });
});

describe("fineTune's seed and the new head", () => {
  const kernelOf = (pm: PretrainedModel) => Array.from(pm.model.getLayer('head_predictions').getWeights()[0].dataSync());
  const opts = { headEpochs: 2, epochs: 1, batchSize: 8, seed: 9, unfreeze: { from: 'Conv_1' }, progress: false } as const;

  it('replaceHead without a seed, then fineTune({ seed }): two runs give identical weights and history, equal to replaceHead({ seed })', async () => {
    const run = async (head: { seed?: number }, seed = 9) => {
      const model = replaceHead(await tinyPretrained(2), { numClasses: 3, dropout: 0.3, hidden: [5], ...head });
      const { history } = await fineTune(model, quadrantImages(24), { ...opts, seed });
      return { w: allWeights(model), losses: history.map((h) => [h.loss, h.accuracy]) };
    };
    const a = await run({});
    const b = await run({});
    expect(b.losses).toEqual(a.losses);
    expect(b.w).toEqual(a.w);
    // The fineTune seed is the head's seed: same as passing it to replaceHead.
    const c = await run({ seed: 9 });
    expect(c.w).toEqual(a.w);
    // ...and it matters: another run seed draws another head.
    const d = await run({}, 10);
    expect(d.w).not.toEqual(a.w);
  });

  it("an explicit replaceHead seed wins; a head set since replaceHead or already trained is not redrawn", async () => {
    const base = await tinyPretrained(2);
    const noTraining = { ...opts, headEpochs: 0, epochs: 0 };
    // Explicit seed 3: fineTune's seed 9 does not touch the head.
    const explicit = replaceHead(base, { numClasses: 3, seed: 3 });
    await fineTune(explicit, quadrantImages(8), noTraining);
    expect(kernelOf(explicit)).toEqual(kernelOf(replaceHead(base, { numClasses: 3, seed: 3 })));
    // No seed: the head becomes replaceHead({ seed: 9 })'s.
    const unseeded = replaceHead(base, { numClasses: 3 });
    await fineTune(unseeded, quadrantImages(8), noTraining);
    expect(kernelOf(unseeded)).toEqual(kernelOf(replaceHead(base, { numClasses: 3, seed: 9 })));
    // Weights set by the caller are kept.
    const set = replaceHead(base, { numClasses: 3 });
    const head = set.model.getLayer('head_predictions');
    const mine = tf.tidy(() => head.getWeights().map((w) => tf.onesLike(w)));
    head.setWeights(mine);
    tf.dispose(mine);
    await fineTune(set, quadrantImages(8), noTraining);
    expect(kernelOf(set).every((v) => v === 1)).toBe(true);
    // A second fineTune continues from the trained head instead of redrawing it.
    const twice = replaceHead(base, { numClasses: 3 });
    await fineTune(twice, quadrantImages(8), { ...opts, recipe: 'head-only', headEpochs: 1 });
    const trained = kernelOf(twice);
    await fineTune(twice, quadrantImages(8), noTraining);
    expect(kernelOf(twice)).toEqual(trained);
  });
});
