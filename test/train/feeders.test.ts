/**
 * Streamed data (async generators, tf.data datasets): same updates as in-memory data for the same
 * batches, one pass per epoch, no tensor leaks, and clear errors for malformed streams.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfd from '@tensorflow/tfjs-data';
import { beforeAll, describe, expect, it } from 'vitest';
import { fineTune, fromTfDataset, useBackend, type Batch, type StreamingData } from '../../src/index.js';
import { relErr } from '../helpers/compare.js';
import { quadrantImages, tinyHeaded } from '../helpers/tiny_model.js';

beforeAll(async () => {
  await useBackend('wasm');
});

const weightsOf = (m: { model: { getWeights(): tf.Tensor[] } }) => m.model.getWeights().map((w) => w.dataSync().slice() as Float32Array);

/** Batches of `data` in order, as fresh tensors (the loop disposes them). */
function streamOf(data: { xs: tf.Tensor; labels: Int32Array }, batch: number, counter?: { calls: number }): StreamingData['batches'] {
  return async function* (): AsyncGenerator<Batch> {
    if (counter) counter.calls++;
    const n = data.labels.length;
    for (let i = 0; i < n; i += batch) {
      const b = Math.min(batch, n - i);
      yield { xs: tf.slice(data.xs, i, b), labels: data.labels.slice(i, i + b) };
    }
  };
}

describe('streamed training data', () => {
  it('one batch per epoch: streamed and in-memory runs end with the same weights (two stages, cached vs per-batch prefix)', async () => {
    const data = quadrantImages(16, 16, 3, 4);
    const opts = { headEpochs: 2, epochs: 2, batchSize: 16, augment: { flip: false }, seed: 5, unfreeze: { from: 'block_1_project' } } as const;
    const a = await tinyHeaded(9, { dropout: 0 });
    const { history: ha } = await fineTune(a, data, opts);
    const b = await tinyHeaded(9, { dropout: 0 });
    const { history: hb } = await fineTune(b, { batches: streamOf(data, 16), classNames: data.classNames }, opts);
    expect(hb.map((h) => h.cachedFrom)).toEqual(ha.map((h) => h.cachedFrom));
    expect(ha[3].cachedFrom).toBeGreaterThan(0); // the frozen prefix was skipped on both paths
    const wa = weightsOf(a);
    const wb = weightsOf(b);
    wa.forEach((w, i) => expect(relErr(w, wb[i])).toBeLessThan(1e-5));
    hb.forEach((h, i) => expect(h.loss).toBeCloseTo(ha[i].loss, 5));
  });

  it('an async generator streams several batches per epoch: one pass per epoch (+1 to count), stable tensor counts, flips applied', async () => {
    const data = quadrantImages(20, 16, 3, 6);
    const counter = { calls: 0 };
    const pm = await tinyHeaded(3);
    const { history } = await fineTune(pm, { batches: streamOf(data, 6, counter), classNames: data.classNames }, { headEpochs: 3, epochs: 0, batchSize: 6, seed: 1, validation: { batches: streamOf(data, 6) } });
    expect(counter.calls).toBe(1 + 3);
    expect(history.map((h) => h.numTensors)).toEqual([history[0].numTensors, history[0].numTensors, history[0].numTensors]);
    expect(history.every((h) => Number.isFinite(h.valAccuracy as number))).toBe(true);
    const counted = { calls: 0 };
    await fineTune(await tinyHeaded(3), { batches: streamOf(data, 6, counted), stepsPerEpoch: 4 }, { headEpochs: 2, epochs: 0, batchSize: 6 });
    expect(counted.calls).toBe(2); // stepsPerEpoch given: no counting pass
  });

  it('a tf.data.Dataset of { xs, ys } batches trains through fromTfDataset', async () => {
    const data = quadrantImages(12, 16, 3, 8);
    const ys = tf.oneHot(tf.tensor1d(data.labels, 'int32'), 3);
    const ds = tfd.zip({ xs: tfd.array(tf.unstack(data.xs)), ys: tfd.array(tf.unstack(ys)) }).batch(4);
    const pm = await tinyHeaded(2);
    const { history } = await fineTune(pm, fromTfDataset(ds as never, { classNames: data.classNames }), { headEpochs: 2, epochs: 0, batchSize: 4 });
    expect(history).toHaveLength(2);
    expect(Number.isFinite(history[1].loss)).toBe(true);
  });

  it('malformed streams get errors naming the batch and the fix', async () => {
    const data = quadrantImages(4, 16, 3, 8);
    const pm = await tinyHeaded(2);
    const noLabels: StreamingData = { batches: async function* () { yield { xs: tf.clone(data.xs) }; } };
    await expect(fineTune(pm, noLabels, { headEpochs: 1, epochs: 0 })).rejects.toThrow(/Batch 0 of the train stream has neither `labels` nor `targets`/);
    const empty: StreamingData = { batches: () => [] };
    await expect(fineTune(pm, empty, { headEpochs: 1, epochs: 0 })).rejects.toThrow(/yields no batches/);
    await expect(fineTune(pm, { batches: streamOf(data, 2) }, { headEpochs: 1, epochs: 0, classWeights: 'balanced' })).rejects.toThrow(/explicit weights/);
  });
});

describe('on-disk activation cache', () => {
  it("'disk' trains exactly as 'memory', from files that are gone afterwards; the memory budget switches automatically", async () => {
    const fs = await import('node:fs');
    const os = await import('node:os');
    const path = await import('node:path');
    const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-disk-'));
    const data = quadrantImages(20, 16, 3, 3);
    const opts = { headEpochs: 2, epochs: 2, batchSize: 8, seed: 6, unfreeze: { from: 'Conv_1' }, cacheDir: parent } as const;
    const a = await tinyHeaded(5, { dropout: 0 });
    const ha = (await fineTune(a, data, { ...opts, cacheActivations: 'memory' })).history;
    const b = await tinyHeaded(5, { dropout: 0 });
    const seen: string[] = [];
    const hb = (await fineTune(b, data, { ...opts, cacheActivations: 'disk', onEpochEnd: () => void seen.push(...fs.readdirSync(parent)) })).history;
    expect(ha.map((h) => h.cache)).toEqual(['memory', 'memory', 'memory', 'memory']);
    expect(hb.map((h) => h.cache)).toEqual(['disk', 'disk', 'disk', 'disk']);
    expect(seen.length).toBeGreaterThan(0); // the cache folder existed during training …
    expect(fs.readdirSync(parent)).toEqual([]); // … and is deleted after each stage
    const wa = weightsOf(a);
    weightsOf(b).forEach((w, i) => expect(relErr(wa[i], w)).toBeLessThan(1e-6));
    // A budget smaller than the cache (20 rows x 16 x 2 flips x 4 B = 2.5 KB at the pooled features) picks disk.
    const c = await tinyHeaded(5, { dropout: 0 });
    const hc = (await fineTune(c, data, { ...opts, cacheMemoryLimitMB: 1 / 1024, epochs: 0 })).history;
    expect(hc[0].cache).toBe('disk');
    expect(hb[0].numTensors).toBe(hb[1].numTensors);
  });
});
