/**
 * End to end on real weights and real photos: the ImageNet MobileNetV2-0.35 backbone, a new
 * 2-class head, the two-stage recipe on wasm, on the ants-vs-bees training images (seeded
 * 80/20 split). Shorter than the demo (2 fine-tune epochs) to keep CI fast.
 */
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { evaluate, fineTune, loadImageFolder, loadPretrained, replaceHead, trainValSplit, useBackend } from '../../src/index.js';
import { asset, HYMENOPTERA, MOBILENET } from '../helpers/assets.js';

beforeAll(async () => {
  await useBackend('wasm');
});

describe('ants vs bees (real MobileNetV2, real photos)', () => {
  it('reaches >= 85 % validation accuracy with a stable tensor count', async (ctx) => {
    const modelDir = asset(MOBILENET);
    const dataDir = asset(HYMENOPTERA);
    if (modelDir === null || dataDir === null) return ctx.skip();
    const base = await loadPretrained(modelDir);
    const warnings: string[] = [];
    const all = await loadImageFolder(dataDir, { size: [224, 224], preprocessing: base.preprocessing, onWarning: (w) => warnings.push(w) });
    expect(all.skipped.map((s) => path.basename(s.file))).toEqual(['imageNotFound.gif']);
    expect(warnings[0]).toContain('imageNotFound.gif');
    const [train, val] = trainValSplit(all, 0.2, 42);
    all.xs.dispose();
    const model = replaceHead(base, { numClasses: 2, classNames: all.classNames, seed: 42 });
    const { history } = await fineTune(model, train, { validation: val, headEpochs: 5, epochs: 2, seed: 42 });
    const last = history[history.length - 1];
    console.log(`[e2e] ${history.map((h) => `${h.stage}#${h.epoch} val ${(100 * (h.valAccuracy ?? 0)).toFixed(1)}%`).join(', ')}`);
    expect(last.valAccuracy).toBeGreaterThanOrEqual(0.85);
    // The fine-tune stage really trained from a cached block boundary, not from the input.
    expect(history.find((h) => h.stage === 'fine-tune')?.cachedFrom).toBeGreaterThan(100);
    const head = history.filter((h) => h.stage === 'head');
    expect(head[head.length - 1].numTensors).toBe(head[0].numTensors);
    // evaluate() (full forward pass, no cache) agrees with the cached validation figure.
    expect((await evaluate(model, val)).accuracy).toBeCloseTo(last.valAccuracy as number, 5);
    tf.dispose([train.xs, val.xs]);
  });
});
