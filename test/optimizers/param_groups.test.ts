import { beforeAll, describe, expect, it } from 'vitest';
import { fineTune, unfreeze, useBackend } from '../../src/index.js';
import { Adam, discriminativeLrs, evenMults, layerDecayScales, layerGroups, paramGroups } from '../../src/entries/optimizers.js';
import { quadrantImages, tinyHeaded } from '../helpers/tiny_model.js';

beforeAll(async () => {
  await useBackend('wasm');
});

describe('fastai discriminative learning rates', () => {
  it('even_mults spaces geometrically', () => {
    const v = evenMults(1e-5, 1e-3, 3);
    expect(v[0]).toBeCloseTo(1e-5, 15);
    expect(v[1]).toBeCloseTo(1e-4, 15); // 1e-5 * (100)^(1/2)
    expect(v[2]).toBeCloseTo(1e-3, 15);
    expect(evenMults(1, 2, 1)).toEqual([2]);
  });
  it('lr_range: slice(hi) -> [hi/10, ..., hi]; slice(lo, hi) -> even_mults; number -> same', () => {
    expect(discriminativeLrs({ hi: 1e-3 }, 3).map((x) => x.toExponential(3))).toEqual(['1.000e-4', '1.000e-4', '1.000e-3']);
    expect(discriminativeLrs({ lo: 1e-6, hi: 1e-2 }, 5).map((x) => x.toExponential(3))).toEqual(['1.000e-6', '1.000e-5', '1.000e-4', '1.000e-3', '1.000e-2']);
    expect(discriminativeLrs(3e-4, 2)).toEqual([3e-4, 3e-4]);
  });
});

describe('timm layer-wise LR decay', () => {
  it('scale = max(min_scale, decay^(layer_max - i))', () => {
    expect(layerDecayScales(4, 0.5)).toEqual([0.125, 0.25, 0.5, 1]);
    expect(layerDecayScales(4, 0.5, 0.2)).toEqual([0.2, 0.25, 0.5, 1]);
  });
});

describe('layer groups and parameter groups', () => {
  it('cuts the backbone at block starts and keeps the head last', async () => {
    const pm = await tinyHeaded();
    const groups = layerGroups(pm, 3).map((g) => g.map((l) => l.name));
    expect(groups[0]).toEqual(['input_1', 'Conv1', 'bn_Conv1', 'Conv1_relu']);
    expect(groups[1][0]).toBe('block_1_depthwise');
    expect(groups[1].at(-1)).toBe('global_average_pooling2d');
    expect(groups[2]).toEqual(['head_dropout', 'head_predictions']);
    expect(() => layerGroups(pm, 9)).toThrow(/fewer than the 8 backbone groups/);
  });

  it('one decayed and one no-decay group per layer group, scaled lo..hi', async () => {
    const pm = await tinyHeaded();
    unfreeze(pm, 'all');
    const g = paramGroups(pm, { groups: 3, lr: { lo: 1e-5, hi: 1e-3 }, weightDecay: 0.05 });
    expect(g.map((x) => x.name)).toEqual(['body_0', 'body_0_no_decay', 'body_1', 'body_1_no_decay', 'head', 'head_no_decay']);
    expect(g.map((x) => Number(x.lrScale?.toPrecision(6)))).toEqual([0.01, 0.01, 0.1, 0.1, 1, 1]);
    expect(g.filter((x) => x.name?.endsWith('no_decay')).every((x) => x.weightDecay === 0 && x.params.every((p) => p.rank <= 1))).toBe(true);
    expect(g.find((x) => x.name === 'head')?.weightDecay).toBe(0.05);
    const total = g.reduce((a, x) => a + x.params.length, 0);
    expect(total).toBe(pm.model.trainableWeights.length);
  });

  it('fineTune builds the groups over the trainable variables of each stage', async () => {
    const pm = await tinyHeaded();
    const seen: string[][] = [];
    await fineTune(pm, quadrantImages(16), {
      headEpochs: 1, epochs: 1, batchSize: 8, unfreeze: { from: 'Conv_1' },
      paramGroups: { groups: 3, layerDecay: 0.5 },
      optimizer: (groups, lr) => {
        seen.push(groups.map((x) => `${x.name}:${x.lrScale}`));
        return new Adam(groups, { learningRate: lr });
      },
    });
    expect(seen[0]).toEqual(['head:1', 'head_no_decay:1']); // stage 1: only the head trains
    expect(seen[1]).toEqual(['body_1:0.5', 'body_1_no_decay:0.5', 'head:1', 'head_no_decay:1']); // Conv_1 and Conv_1_bn live in body_1
  });
});
