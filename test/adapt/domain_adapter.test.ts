/**
 * DomainAdapter end to end on a synthetic covariate shift (two Gaussian classes; the target is
 * the source moved by (3, 3)), small enough to run every method in seconds.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { DomainAdapter, freeze, useBackend, type AdaptationEpochLog, type Callback, type LabeledData, type ProgressEvent } from '../../src/index.js';
import { scoreModel, warmStartCoefficient } from '../../src/entries/adapt.js';
import { quadrantImages, tinyHeaded } from '../helpers/tiny_model.js';
import { applyKerasBatchNormSemantics } from '../../src/layers/batch_norm.js';
import { blobs } from '../helpers/synthetic.js';

beforeAll(async () => {
  await useBackend('cpu');
});

function net(seed: number): tfl.LayersModel {
  const init = (k: number) => tfl.initializers.glorotUniform({ seed: seed * 10 + k });
  const input = tfl.input({ shape: [2] });
  let h = tfl.layers.batchNormalization({ name: 'bn_in' }).apply(input) as tfl.SymbolicTensor;
  h = tfl.layers.dense({ units: 16, activation: 'relu', kernelInitializer: init(1), name: 'features' }).apply(h) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ units: 2, activation: 'softmax', kernelInitializer: init(2), name: 'classifier' }).apply(h) as tfl.SymbolicTensor;
  const m = tfl.model({ inputs: input, outputs: out, name: 'blob_net' });
  applyKerasBatchNormSemantics(m);
  return m;
}

let source: LabeledData;
let target: LabeledData;
let data: { source: LabeledData; target: { xs: tf.Tensor }; sourceVal: LabeledData; targetVal: LabeledData };
beforeAll(() => {
  source = blobs(128, 0, 1);
  target = blobs(128, 3, 3);
  data = { source, target: { xs: target.xs }, sourceVal: blobs(64, 0, 2), targetVal: blobs(128, 3, 4) };
});
const base = { batchSize: 16, learningRate: 0.05, seed: 7 } as const;

describe('DomainAdapter', () => {
  it("'source-only' then 'adabn': re-estimating BatchNorm on the target fixes a pure covariate shift", async () => {
    const m = net(1);
    const src = await new DomainAdapter({ ...base, method: 'source-only', epochs: 4 }).fit(m, data);
    const last = src.history[src.history.length - 1];
    expect(last.valAccuracy).toBeGreaterThan(0.9);
    expect(last.targetValAcc).toBeLessThan(0.8);
    const ada = await new DomainAdapter({ method: 'adabn' }).fit(m, data);
    expect(ada.history).toHaveLength(1);
    expect(ada.history[0].stage).toBe('adabn');
    expect(ada.history[0].targetValAcc).toBeGreaterThan(0.9);
  });

  it("'dann': logs discriminator accuracy and the GRL coefficient; leaves no tensor behind", async () => {
    const m = net(2);
    const counts: number[] = [];
    const before = tf.memory().numTensors;
    const logs: AdaptationEpochLog[] = [];
    const res = await new DomainAdapter({ ...base, method: 'dann', epochs: 3, discriminator: { hiddenSize: 32 }, onEpochEnd: (l) => (logs.push(l), counts.push(tf.memory().numTensors)) }).fit(m, data);
    expect(res.history).toHaveLength(3);
    for (const l of res.history) {
      expect(l.domainAcc).toBeGreaterThanOrEqual(0);
      expect(l.domainAcc).toBeLessThanOrEqual(1);
      expect(Number.isFinite(l.transferLoss) && l.transferLoss > 0).toBe(true);
    }
    // 8 steps per epoch (128 / 16); the coefficient logged is the one of the epoch's last step.
    expect(res.history[2].grlCoeff).toBeCloseTo(warmStartCoefficient(23, { alpha: 10, maxIters: 24 }), 10);
    expect(res.history[2].learningRate).toBeCloseTo(0.05 / (1 + (10 * 23) / 24) ** 0.75, 10);
    // Stable across epochs, and everything (discriminator, optimizer slots) freed at the end.
    expect(counts[2]).toBe(counts[1]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it.each(['coral', 'mmd', 'self-training'] as const)("'%s' trains with a finite adaptation loss", async (method) => {
    const m = net(3);
    const before = tf.memory().numTensors;
    const res = await new DomainAdapter({ ...base, method, epochs: 2, selfTraining: { threshold: 0.5, entropyWeight: 0.1 } }).fit(m, data);
    const l = res.history[1];
    expect(l.stage).toBe(method);
    expect(Number.isFinite(l.transferLoss)).toBe(true);
    expect(l.transferLoss).toBeGreaterThan(0);
    if (method === 'self-training') expect(l.pseudoLabelRate).toBeGreaterThan(0);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('methods compose in order: AdaBN first, then self-training', async () => {
    const m = net(4);
    await new DomainAdapter({ ...base, method: 'source-only', epochs: 2 }).fit(m, data);
    const res = await new DomainAdapter({ ...base, method: ['adabn', 'self-training'], epochs: 2, learningRate: 0.01 }).fit(m, data);
    expect(res.history.map((h) => h.stage)).toEqual(['adabn', 'self-training', 'self-training']);
  });

  it("training-free steps ('adabn', 'label-shift') reach the callbacks and the progress output as one-epoch stages", async () => {
    const m = net(6);
    const seen: string[] = [];
    const recorder: Callback = {
      onTrainBegin: (ctx) => void seen.push(`trainBegin:${ctx.stage}`),
      onEpochBegin: (e, ctx) => void seen.push(`epochBegin:${ctx.stage}:${e}`),
      onEpochEnd: (l, ctx) => void seen.push(`epochEnd:${ctx.stage}:${l.stage}`),
      onTrainEnd: (h, ctx) => void seen.push(`trainEnd:${ctx.stage}:${h.length}`),
    };
    const events: ProgressEvent[] = [];
    const res = await new DomainAdapter({ ...base, method: ['source-only', 'adabn', 'label-shift'], epochs: 1, labelShift: { calibration: 'none' }, callbacks: [recorder], progress: (e) => events.push(e) }).fit(m, data);
    expect(res.history.map((h) => h.stage)).toEqual(['source-only', 'adabn', 'label-shift']);
    for (const stage of ['adabn', 'label-shift']) {
      const at = seen.indexOf(`trainBegin:${stage}`);
      expect(seen.slice(at, at + 4)).toEqual([`trainBegin:${stage}`, `epochBegin:${stage}:1`, `epochEnd:${stage}:${stage}`, `trainEnd:${stage}:1`]);
    }
    expect(seen.filter((e) => e.startsWith('epochEnd:'))).toHaveLength(3);
    expect(events.filter((e) => e.type === 'epoch').map((e) => (e as { log: { stage: string } }).log.stage)).toEqual(['source-only', 'adabn', 'label-shift']);
  });

  it('a validator selects the epoch returned (the best SND), and the returned weights score exactly that', async () => {
    const m = net(5);
    const res = await new DomainAdapter({ ...base, method: 'dann', epochs: 4, discriminator: { hiddenSize: 16 }, validator: ['snd', 'dev', 'entropy', 'source-accuracy'] }).fit(m, data);
    const snd = res.history.map((h) => h.scores.snd as number);
    const bestEpoch = snd.indexOf(Math.max(...snd));
    expect(res.selectedEpoch).toBe(bestEpoch + 1); // 1-based position in history
    expect(await scoreModel('snd', m, 1, data, { seed: 7 })).toBeCloseTo(snd[bestEpoch], 5);
    for (const h of res.history) {
      expect(Number.isFinite(h.scores.dev as number)).toBe(true);
      expect(h.scores['source-accuracy']).toBe(h.valAccuracy);
    }
  });

  it('bad input gets a clear error', async () => {
    expect(() => new DomainAdapter({ method: 'tent' as never })).toThrow(/unknown method.*tent/);
    expect(() => new DomainAdapter({ method: 'dann', batchSize: 0 })).toThrow(/batchSize/);
    const m = net(6);
    await expect(new DomainAdapter({ method: 'mlm' }).fit(m, { source, target: target })).rejects.toThrow(/'mlm'.*adapts a text model/);
    await expect(new DomainAdapter({ method: 'coral' }).fit(m, { source, target: { xs: tf.zeros([8, 3]) } })).rejects.toThrow(/target\.xs has example shape \[3\].*\[2\]/);
    await expect(new DomainAdapter({ method: 'coral', validator: 'dev', epochs: 1 }).fit(m, { source, target: { xs: target.xs } })).rejects.toThrow(/sourceVal/);
    const badLabels = { ...source, labels: new Int32Array(source.labels.length).fill(5) };
    await expect(new DomainAdapter({ method: 'coral' }).fit(m, { source: badLabels, target: { xs: target.xs } })).rejects.toThrow(/label 5 at index 0/);
  });

  it('clipNorm clips the global gradient norm of every step (model and discriminator together), as torch.nn.utils.clip_grad_norm_', async () => {
    expect(() => new DomainAdapter({ method: 'dann', clipNorm: 0 })).toThrow(/clipNorm must be > 0/);
    const step = async (clipNorm?: number) => {
      const m = net(9);
      const before = m.trainableWeights.map((w) => Array.from(w.read().dataSync()));
      await new DomainAdapter({ method: 'mmd', optimizer: 'sgd', weightDecay: 0, learningRate: 0.5, schedule: 'constant', epochs: 1, stepsPerEpoch: 1, batchSize: 16, seed: 3, progress: false, ...(clipNorm !== undefined ? { clipNorm } : {}) }).fit(m, data);
      const after = m.trainableWeights.map((w) => Array.from(w.read().dataSync()));
      return Math.sqrt(before.reduce((a, b, i) => a + b.reduce((s, v, j) => s + (after[i][j] - v) ** 2, 0), 0));
    };
    const free = await step();
    // One plain SGD step moves the weights by lr * |g|: clipped, by exactly lr * clipNorm.
    expect(free / 0.5).toBeGreaterThan(0.02);
    expect(await step(0.01)).toBeCloseTo(0.5 * 0.01, 5);
    // A bound above the norm changes nothing.
    expect(await step(1e6)).toBeCloseTo(free, 6);
    // DANN: the discriminator's gradients count toward the global norm, so the model alone moves less than lr * clipNorm.
    const m = net(9);
    const before = m.trainableWeights.map((w) => Array.from(w.read().dataSync()));
    await new DomainAdapter({ method: 'dann', optimizer: 'sgd', weightDecay: 0, learningRate: 0.5, schedule: 'constant', epochs: 1, stepsPerEpoch: 1, batchSize: 16, seed: 3, progress: false, grl: { alpha: 10, lo: 1, hi: 1, maxIters: 1 }, clipNorm: 0.01 }).fit(m, data);
    const after = m.trainableWeights.map((w) => Array.from(w.read().dataSync()));
    const moved = Math.sqrt(before.reduce((a, b, i) => a + b.reduce((s, v, j) => s + (after[i][j] - v) ** 2, 0), 0));
    expect(moved).toBeGreaterThan(0);
    expect(moved).toBeLessThan(0.5 * 0.01 * 0.999);
  });

  it('featureLayer names where the discriminator attaches: the layers up to it are the backbone (backboneLrScale), the rest the label predictor', async () => {
    // A two-hidden-layer net: default feature layer 'hidden2' (the layer before the last); the paper's
    // digits setup attaches at the lower 'features' layer instead.
    const deep = (seed: number) => {
      const init = (k: number) => tfl.initializers.glorotUniform({ seed: seed * 10 + k });
      const input = tfl.input({ shape: [2] });
      let h = tfl.layers.dense({ units: 8, activation: 'relu', kernelInitializer: init(1), name: 'features' }).apply(input) as tfl.SymbolicTensor;
      h = tfl.layers.dense({ units: 8, activation: 'relu', kernelInitializer: init(2), name: 'hidden2' }).apply(h) as tfl.SymbolicTensor;
      const out = tfl.layers.dense({ units: 2, activation: 'softmax', kernelInitializer: init(3), name: 'classifier' }).apply(h) as tfl.SymbolicTensor;
      return tfl.model({ inputs: input, outputs: out, name: 'deep_blob_net' });
    };
    const moved = async (featureLayer?: string) => {
      const m = deep(4);
      const before = m.layers.map((l) => l.getWeights().map((w) => Array.from(w.dataSync())));
      // Backbone frozen by a zero rate: only the layers above the feature layer (and the discriminator) learn.
      await new DomainAdapter({ ...base, method: 'dann', epochs: 1, stepsPerEpoch: 4, backboneLrScale: 0, ...(featureLayer ? { featureLayer } : {}) }).fit(m, data);
      const after = m.layers.map((l) => l.getWeights().map((w) => Array.from(w.dataSync())));
      const names = m.layers.filter((_, i) => JSON.stringify(before[i]) !== JSON.stringify(after[i])).map((l) => l.name);
      m.dispose();
      return names;
    };
    expect(await moved()).toEqual(['classifier']);
    expect(await moved('features')).toEqual(['hidden2', 'classifier']);
    await expect(new DomainAdapter({ method: 'dann', featureLayer: 'flatten_9' }).fit(deep(5), data)).rejects.toThrow(/feature layer 'flatten_9' is not in model 'deep_blob_net' \(its last layers: .*hidden2, classifier\)\. Pass options\.featureLayer/);
  });

  it('a zoo model with a frozen backbone: only the head adapts, from cached activations, with the same updates as without the cache', async () => {
    const images = quadrantImages(24, 16, 3, 1);
    const shifted = { xs: tf.add(quadrantImages(24, 16, 3, 2).xs, 0.5) };
    const run = async (cache: boolean) => {
      const pm = await tinyHeaded(3);
      freeze(pm, 'backbone');
      const backbone = pm.model.layers.slice(0, pm.model.layers.findIndex((l) => l.name === pm.featureLayer) + 1).flatMap((l) => l.getWeights().map((w) => Array.from(w.dataSync())));
      const res = await new DomainAdapter({ method: 'coral', epochs: 2, batchSize: 8, seed: 3, cacheActivations: cache }).fit(pm, { source: images, target: shifted });
      const after = pm.model.layers.slice(0, pm.model.layers.findIndex((l) => l.name === pm.featureLayer) + 1).flatMap((l) => l.getWeights().map((w) => Array.from(w.dataSync())));
      expect(after).toEqual(backbone);
      return { res, head: pm.model.getLayer(pm.headLayers[pm.headLayers.length - 1]).getWeights().map((w) => Array.from(w.dataSync())) };
    };
    const cached = await run(true);
    const plain = await run(false);
    expect(cached.res.history[0].cachedFrom).toBeGreaterThan(0);
    expect(plain.res.history[0].cachedFrom).toBe(0);
    // Same math; only the backbone's batching differs (float rounding, amplified a little by training).
    cached.head.forEach((w, i) => w.forEach((v, k) => expect(Math.abs(v - plain.head[i][k])).toBeLessThan(1e-3)));
    expect(cached.res.history[1].loss).toBeCloseTo(plain.res.history[1].loss, 4);
  });

  it('is reproducible: the same seed gives the same weights (dropout in the discriminator included)', async () => {
    const run = async () => {
      const m = net(8);
      await new DomainAdapter({ ...base, method: 'dann', epochs: 1, discriminator: { hiddenSize: 8, hiddenLayers: 1, batchNorm: false } }).fit(m, data);
      return m.getWeights().map((w) => Array.from(w.dataSync()));
    };
    expect(await run()).toEqual(await run());
  });

  it('patience stops when the first validator stops improving, and restores its best epoch', async () => {
    const m = net(9);
    const res = await new DomainAdapter({ ...base, method: 'source-only', epochs: 30, validator: 'source-accuracy', patience: 2 }).fit(m, data);
    expect(res.history.length).toBeLessThan(30);
    const accs = res.history.map((h) => h.scores['source-accuracy'] as number);
    // It ran exactly 2 epochs past the first epoch with the best score (ties do not count as improvement).
    expect(res.history.length).toBe(accs.indexOf(Math.max(...accs)) + 3);
    expect(res.selectedEpoch).toBe(accs.indexOf(Math.max(...accs)) + 1);
  });
});
