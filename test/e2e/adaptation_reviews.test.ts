/**
 * DomainAdapter on real shifted text: Amazon books reviews (labelled) → dvd reviews (unlabelled),
 * bag-of-words features. A short run: it proves the pieces work together on the real files
 * (accuracy well above chance, every method trains, no tensor left behind); the benchmark in
 * bench/adaptation/reviews.ts measures the methods properly.
 */
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { DomainAdapter, useBackend, type LabeledData } from '../../src/index.js';
import { BagOfWords, loadReviewFolder } from '../../src/entries/datasets.js';
import { asset } from '../helpers/assets.js';

const root = asset('data/amazon_reviews');

beforeAll(async () => {
  await useBackend('wasm');
});

function shallow(d: number): tfl.LayersModel {
  const input = tfl.input({ shape: [d] });
  const h = tfl.layers.dense({ units: 50, activation: 'sigmoid', kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }), name: 'hidden' }).apply(input) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ units: 2, activation: 'softmax', kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }), name: 'classifier' }).apply(h) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: out });
}

describe.skipIf(root === null)('DomainAdapter on Amazon reviews (books → dvd)', () => {
  it('source-only beats chance on dvd; every adaptation method then trains on the real data without leaking tensors', async () => {
    const dir = root as string;
    const src = await loadReviewFolder(path.join(dir, 'books/train'));
    const tgt = await loadReviewFolder(path.join(dir, 'dvd/train'));
    const test = await loadReviewFolder(path.join(dir, 'dvd/test'));
    const bow = new BagOfWords({ maxFeatures: 2000, weighting: 'binary' }).fit([...src.texts, ...tgt.texts]);
    const source: LabeledData = { xs: bow.transform(src.texts), labels: src.labels, classNames: src.classNames };
    const targetVal: LabeledData = { xs: bow.transform(test.texts), labels: test.labels, classNames: test.classNames };
    const target = { xs: bow.transform(tgt.texts) };
    const model = shallow(bow.vocabulary.length);
    const common = { batchSize: 32, optimizer: 'adam' as const, learningRate: 1e-3, weightDecay: 0, seed: 0 };
    const so = await new DomainAdapter({ ...common, method: 'source-only', epochs: 4 }).fit(model, { source, target, targetVal });
    expect(so.history[3].targetValAcc).toBeGreaterThan(0.65);
    const before = tf.memory().numTensors;
    for (const method of ['dann', 'coral', 'mmd', 'self-training'] as const) {
      const r = await new DomainAdapter({ ...common, method, epochs: 1, stepsPerEpoch: 10, discriminator: { hiddenLayers: 0 } }).fit(model, { source, target, targetVal });
      expect(Number.isFinite(r.history[0].loss)).toBe(true);
      expect(r.history[0].targetValAcc).toBeGreaterThan(0.6);
    }
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([source.xs, targetVal.xs, target.xs]);
  });
});
