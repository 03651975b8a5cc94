import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { EarlyStopping, fineTune, useBackend, type EpochLog, type TrainingContext } from '../../src/index.js';
import { quadrantImages, tinyHeaded } from '../helpers/tiny_model.js';

const log = (valLoss: number, epoch: number): EpochLog => ({ stage: 'head', epoch, loss: 1, accuracy: 0.5, valLoss, valAccuracy: 0.5, learningRate: 1e-3, seconds: 0, numTensors: 0, cachedFrom: 0, cache: 'none' });

beforeAll(async () => {
  await useBackend('wasm');
});

describe('EarlyStopping (Keras rule)', () => {
  it('stops when wait reaches patience and restores the best epoch\'s weights', async () => {
    const pm = await tinyHeaded();
    const ctx: TrainingContext = { model: pm, stage: 'head', stopTraining: false };
    const es = new EarlyStopping({ patience: 2, restoreBestWeights: true });
    es.onTrainBegin();
    const marker = (v: number) => pm.model.setWeights(pm.model.getWeights().map((w) => tf.fill(w.shape, v)));
    const seq = [1.0, 0.8, 0.85, 0.9, 0.95];
    let stoppedAfter = 0;
    for (let e = 0; e < seq.length && !ctx.stopTraining; e++) {
      marker(e); // the weights "after epoch e" are all e
      es.onEpochEnd(log(seq[e], e + 1), ctx);
      stoppedAfter = e + 1;
    }
    // epoch 0: best 1.0; epoch 1: best 0.8; epochs 2, 3: wait 1, 2 -> stop after the 4th epoch
    expect(stoppedAfter).toBe(4);
    expect(es.stoppedEpoch).toBe(4);
    expect(es.bestEpoch).toBe(2);
    es.onTrainEnd([], ctx);
    expect(pm.model.getWeights()[0].dataSync()[0]).toBe(1); // weights of epoch index 1
  });

  it('min_delta and max mode for accuracies; never stops after the first epoch', () => {
    const es = new EarlyStopping({ monitor: 'valAccuracy', patience: 0, minDelta: 0.05 });
    expect(es.mode).toBe('max');
    const ctx = { stopTraining: false } as TrainingContext;
    es.onTrainBegin();
    es.onEpochEnd({ ...log(1, 1), valAccuracy: 0.5 }, ctx);
    expect(ctx.stopTraining).toBe(false); // epoch 0 never stops
    es.onEpochEnd({ ...log(1, 2), valAccuracy: 0.54 }, ctx); // +0.04 < min_delta: no improvement
    expect(ctx.stopTraining).toBe(true);
  });

  it('a missing figure is a clear error', () => {
    const es = new EarlyStopping({ monitor: 'valLoss' });
    es.onTrainBegin();
    expect(() => es.onEpochEnd({ ...log(1, 1), valLoss: undefined }, { stopTraining: false } as TrainingContext)).toThrow(/Pass validation data/);
  });
});

describe('callbacks in fineTune', () => {
  it('hooks run in Keras order per stage and stopTraining ends the stage', async () => {
    const pm = await tinyHeaded();
    const events: string[] = [];
    await fineTune(pm, quadrantImages(16), {
      headEpochs: 3, epochs: 1, batchSize: 8,
      callbacks: [{
        onTrainBegin: (c) => void events.push(`begin:${c.stage}`),
        onEpochBegin: (e) => void events.push(`epoch:${e}`),
        onBatchEnd: (b) => void events.push(`batch:${b.step}`),
        onEpochEnd: (l, c) => {
          events.push(`end:${l.epoch}`);
          if (c.stage === 'head' && l.epoch === 2) c.stopTraining = true;
        },
        onTrainEnd: (h, c) => void events.push(`done:${c.stage}:${h.length}`),
      }],
    });
    expect(events).toEqual([
      'begin:head', 'epoch:1', 'batch:0', 'batch:1', 'end:1', 'epoch:2', 'batch:2', 'batch:3', 'end:2', 'done:head:2',
      'begin:fine-tune', 'epoch:1', 'batch:0', 'batch:1', 'end:1', 'done:fine-tune:1',
    ]);
  });

  it('a NaN loss stops with an error naming the step', async () => {
    const pm = await tinyHeaded();
    // A diverged head: NaN weights give NaN probabilities. (NaN *inputs* are not a reliable probe:
    // wasm's ReLU6 clamps NaN to 0 or 6, unlike TensorFlow, so they never reach the loss.)
    const head = pm.model.getLayer('head_predictions');
    head.setWeights(head.getWeights().map((w) => tf.fill(w.shape, NaN)));
    await expect(fineTune(pm, quadrantImages(8), { recipe: 'head-only', headEpochs: 1, batchSize: 8 })).rejects.toMatchObject({ code: 'E_TRAINING_DIVERGED', message: expect.stringContaining('at step 0') });
  });

  it('validates label smoothing and class weights', async () => {
    const pm = await tinyHeaded();
    const data = quadrantImages(8);
    await expect(fineTune(pm, data, { labelSmoothing: 1.2 })).rejects.toMatchObject({ code: 'E_BAD_OPTION', message: expect.stringContaining('labelSmoothing') });
    await expect(fineTune(pm, data, { classWeights: [1, 2] })).rejects.toMatchObject({ code: 'E_BAD_OPTION', message: expect.stringContaining('one weight >= 0 per class (3)') });
    const { history } = await fineTune(pm, data, { recipe: 'head-only', headEpochs: 1, batchSize: 8, classWeights: 'balanced', labelSmoothing: 0.1 });
    expect(Number.isFinite(history[0].loss)).toBe(true);
  });
});
