/**
 * Recipes are objects (src/transfer/recipes/, one file each). Each built-in one gives exactly the
 * run its older string form gives (same weights, bit for bit); a recipe written in user code from
 * the public pieces runs on the same loop with checkpoints and exact resume; settings given in
 * two places are refused.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildTextModel, TextTokenizer } from '../../src/entries/text.js';
import { CosineDecay } from '../../src/entries/schedules.js';
import { fineTune, freeze, recipes, unfreeze, useBackend, type FineTuneOptions, type FineTuneRecipe, type PretrainedModel } from '../../src/index.js';
import { mulberry32 } from '../../src/utils/random.js';
import { quadrantImages, tinyHeaded } from '../helpers/tiny_model.js';

const weights = (pm: { model: { getWeights(): { dataSync(): ArrayLike<number> }[] } }): number[][] => pm.model.getWeights().map((w) => Array.from(w.dataSync()));

beforeAll(async () => {
  await useBackend('wasm');
});

describe('recipes as objects', () => {
  const data = () => quadrantImages(24);
  const run: FineTuneOptions = { batchSize: 8, seed: 5, progress: false };
  const pairs: [string, FineTuneOptions, FineTuneOptions][] = [
    ['two-stage', { recipe: 'two-stage', headEpochs: 2, epochs: 2, unfreeze: { from: 'block_1_depthwise' }, bn: 'train' }, { recipe: recipes.twoStage({ headEpochs: 2, epochs: 2, unfreeze: { from: 'block_1_depthwise' }, bn: 'train' }) }],
    ['fastai', { recipe: 'fine-tune', headEpochs: 1, epochs: 2, baseLr: 3e-3, lrMult: 10 }, { recipe: recipes.fastai({ freezeEpochs: 1, epochs: 2, baseLr: 3e-3, lrMult: 10 }) }],
    ['gradual-unfreeze', { recipe: 'gradual-unfreeze', epochs: 4, unfreezeAtEpoch: 2 }, { recipe: recipes.gradualUnfreeze({ epochs: 4, unfreezeAtEpoch: 2 }) }],
    ['feature-extraction', { recipe: 'feature-extraction', headEpochs: 2, headLearningRate: 3e-3 }, { recipe: recipes.featureExtraction({ epochs: 2, learningRate: 3e-3 }) }],
    ['full', { recipe: 'full', epochs: 2 }, { recipe: recipes.full({ epochs: 2 }) }],
    ['custom', { stages: [{ epochs: 1 }, { name: 'top', epochs: 1, trainable: { from: 'Conv_1' }, learningRate: 1e-4 }] }, { recipe: recipes.custom([{ epochs: 1 }, { name: 'top', epochs: 1, trainable: { from: 'Conv_1' }, learningRate: 1e-4 }]) }],
  ];
  for (const [name, flat, object] of pairs) {
    it(`${name}: the recipe object gives the same run as the string form, bit for bit`, async () => {
      const a = await tinyHeaded(3, { dropout: 0.2 });
      const b = await tinyHeaded(3, { dropout: 0.2 });
      const ra = await fineTune(a, data(), { ...run, ...flat });
      const rb = await fineTune(b, data(), { ...run, ...object });
      expect(rb.history.map((h) => [h.stage, h.epoch, h.loss])).toEqual(ra.history.map((h) => [h.stage, h.epoch, h.loss]));
      expect(weights(b)).toEqual(weights(a));
    });
  }

  it('a recipe written in user code from the public pieces runs on the loop: its stages, its schedule, checkpoints and exact resume', async () => {
    // "Warm the head, then train the top block with cosine decay": freeze/unfreeze + a schedule.
    const warmThenTop = (headEpochs: number, topEpochs: number): FineTuneRecipe => ({
      name: 'warm-then-top',
      stages: (pm: PretrainedModel) => [
        { name: 'warm', epochs: headEpochs, learningRate: 1e-2, setup: () => { freeze(pm, 'backbone'); unfreeze(pm, { from: pm.headLayers[0] }); } },
        { name: 'top', epochs: topEpochs, learningRate: 1e-3, setup: () => void unfreeze(pm, { from: 'Conv_1' }, { bn: 'train-affine' }), overrides: { schedule: (_s, peak, total) => new CosineDecay(peak, total) } },
      ],
    });
    const whole = await tinyHeaded(4, { dropout: 0.3 });
    const lrs: number[] = [];
    const full = await fineTune(whole, data(), { ...run, recipe: warmThenTop(1, 2), callbacks: [{ onBatchEnd: (b, ctx) => void (ctx.stage === 'top' && lrs.push(b.learningRate)) }] });
    expect(full.history.map((h) => `${h.stage}#${h.epoch}`)).toEqual(['warm#1', 'top#1', 'top#2']);
    expect(lrs[0]).toBeCloseTo(1e-3, 12);
    expect(lrs.at(-1)).toBeCloseTo(1e-3 * 0.5 * (1 + Math.cos((Math.PI * 5) / 6)), 12); // CosineDecay over 6 steps, at step 5

    const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tk-recipe-')), 'ckpt');
    const controller = new AbortController();
    const first = await tinyHeaded(4, { dropout: 0.3 });
    const cut = await fineTune(first, data(), { ...run, recipe: warmThenTop(1, 2), checkpoint: { dir }, signal: controller.signal, callbacks: [{ onBatchEnd: (b, ctx) => void (ctx.stage === 'top' && b.step === 3 && controller.abort()) }] });
    expect(cut.interrupted).toBe(true);
    const resumed = await tinyHeaded(4, { dropout: 0.3 });
    await fineTune(resumed, data(), { ...run, recipe: warmThenTop(1, 2), resumeFrom: dir });
    const a = weights(whole);
    const b = weights(resumed);
    expect(Math.max(...a.flatMap((w, i) => w.map((v, k) => Math.abs(v - b[i][k]))))).toBeLessThan(1e-6);
    // The checkpoint belongs to this recipe: another one is refused by name.
    await expect(fineTune(await tinyHeaded(4, { dropout: 0.3 }), data(), { ...run, recipe: recipes.twoStage(), resumeFrom: dir })).rejects.toThrow(/recipe 'warm-then-top'/);
  });

  it('refuses settings given both to a recipe object and to fineTune, and bad recipe settings, naming them', async () => {
    const pm = await tinyHeaded(3);
    await expect(fineTune(pm, data(), { recipe: recipes.fastai(), baseLr: 1e-3 })).rejects.toMatchObject({ code: 'E_BAD_OPTION', message: expect.stringContaining('`baseLr` to the recipe') });
    expect(() => recipes.twoStage({ headEpochs: 1.5 })).toThrow(/recipes\.twoStage: `headEpochs` must be an integer >= 0/);
    expect(() => recipes.gradualUnfreeze({ epochs: 4, unfreezeAtEpoch: 6 })).toThrow(/unfreezeAtEpoch must be an integer in \[0, epochs=4\]/);
    expect(() => recipes.custom([])).toThrow(/recipes\.custom: no stages/);
  });
});

describe('recipes.hf on a text model', () => {
  const VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'the', 'film', 'is', 'good', 'bad'];
  const texts = (n: number, seed: number) => {
    const r = mulberry32(seed);
    const out = { texts: [] as string[], labels: [] as number[] };
    for (let i = 0; i < n; i++) {
      const y = r() < 0.5 ? 0 : 1;
      out.texts.push(`the film is ${y ? 'good' : 'bad'}`);
      out.labels.push(y);
    }
    return out;
  };
  const bert = () => {
    const tm = buildTextModel({ model_type: 'bert', vocab_size: VOCAB.length, hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 32, max_position_embeddings: 16 }, { task: 'sequence-classification', numLabels: 2, seed: 2 });
    tm.tokenizer = TextTokenizer.fromVocab(VOCAB);
    return tm;
  };

  it('fineTune(textModel, texts, { recipe: recipes.hf({...}) }) is the text recipe with those settings', async () => {
    const a = bert();
    const b = bert();
    const ra = await fineTune(a, texts(32, 1), { epochs: 2, batchSize: 8, learningRate: 1e-3, warmupRatio: 0.25, layerDecay: 0.8, seed: 3, progress: false });
    const rb = await fineTune(b, texts(32, 1), { recipe: recipes.hf({ epochs: 2, learningRate: 1e-3, warmupRatio: 0.25, layerDecay: 0.8 }), batchSize: 8, seed: 3, progress: false });
    expect(rb.history.map((h) => h.loss)).toEqual(ra.history.map((h) => h.loss));
    expect(weights(b)).toEqual(weights(a));
    await expect(fineTune(bert(), texts(8, 1), { recipe: recipes.hf({ epochs: 1 }), epochs: 2 })).rejects.toThrow(/epochs given both to recipes\.hf\(\) and to the call/);
    await expect(fineTune(bert(), texts(8, 1), { recipe: recipes.twoStage() as never })).rejects.toThrow(/takes recipe recipes\.hf/);
  });
});
