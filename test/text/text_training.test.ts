/**
 * The HF fine-tuning recipe (fineTuneText), masked-LM pretraining and LoRA on a small BERT,
 * on a synthetic sentiment task whose answer is in the words (so a correct loop must learn it).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend, DomainAdapter, freeze, summary, type TextModel } from '../../src/index.js';
import { readSafetensors } from '../../src/entries/io.js';
import { applyLoRA, mergeLoRA } from '../../src/entries/peft.js';
import { buildTextModel, evaluateText, fineTuneText, loadTextModel, maskTokens, pretrainMaskedLM, saveTextModel, textParamGroups, TextTokenizer, MaskedLMHead } from '../../src/entries/text.js';
import { mulberry32 } from '../../src/utils/random.js';

const VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'the', 'film', 'book', 'story', 'is', 'was', 'very', 'quite', 'good', 'great', 'fine', 'bad', 'awful', 'poor', 'and', 'plot', 'acting'];
const POS = ['good', 'great', 'fine'];
const NEG = ['bad', 'awful', 'poor'];
const FILLER = ['the', 'film', 'book', 'story', 'is', 'was', 'very', 'quite', 'and', 'plot', 'acting'];

/** Texts of 4–9 filler words with one sentiment word somewhere; label 1 for positive. */
function synthetic(n: number, seed: number): { texts: string[]; labels: number[] } {
  const r = mulberry32(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)];
  const texts: string[] = [];
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const y = r() < 0.5 ? 0 : 1;
    const words = Array.from({ length: 4 + Math.floor(r() * 6) }, () => pick(FILLER));
    words.splice(Math.floor(r() * words.length), 0, pick(y ? POS : NEG));
    texts.push(words.join(' '));
    labels.push(y);
  }
  return { texts, labels };
}

function smallBert(task: 'sequence-classification' | 'base' = 'sequence-classification', seed?: number): TextModel {
  const tm = buildTextModel({ model_type: 'bert', vocab_size: VOCAB.length, hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 64, max_position_embeddings: 32 }, { task, numLabels: 2, ...(seed !== undefined ? { seed } : {}) });
  tm.tokenizer = TextTokenizer.fromVocab(VOCAB);
  return tm;
}

const weightsOf = (tm: TextModel): Map<string, Float32Array> => new Map(tm.model.weights.map((w) => [w.originalName, w.read().dataSync() as Float32Array]));

beforeAll(async () => {
  await useBackend('wasm');
});

describe('fineTuneText (HF recipe)', () => {
  it('learns a task a correct loop must learn, without leaking tensors, reproducibly', async () => {
    const train = synthetic(256, 1);
    const dev = synthetic(128, 2);
    const run = async (): Promise<{ acc: number; losses: number[]; tensors: number[] }> => {
      const tm = smallBert('sequence-classification', 0);
      const before = (await evaluateText(tm, dev)).accuracy as number;
      expect(before).toBeLessThan(0.75);
      const r = await fineTuneText(tm, train, { epochs: 4, batchSize: 16, learningRate: 3e-3, validation: dev, seed: 7 });
      const acc = (await evaluateText(tm, dev)).accuracy as number;
      tm.model.dispose();
      return { acc, losses: r.history.map((h) => h.loss), tensors: r.history.map((h) => h.numTensors) };
    };
    const a = await run();
    expect(a.acc).toBeGreaterThan(0.95);
    expect(a.losses[3]).toBeLessThan(a.losses[0]);
    expect(new Set(a.tensors.slice(1)).size).toBe(1); // same tensor count after every epoch
    const b = await run();
    expect(b.losses).toEqual(a.losses); // seeded shuffles and dropout masks
  });

  it('follows get_linear_schedule_with_warmup and keeps the best epoch', async () => {
    const tm = smallBert();
    const train = synthetic(64, 3);
    const lrs: number[] = [];
    const r = await fineTuneText(tm, train, { epochs: 2, batchSize: 16, learningRate: 1e-3, warmupRatio: 0.25, validation: synthetic(32, 4), onStep: () => undefined, onEpochEnd: (l) => void lrs.push(l.learningRate) });
    // 4 steps/epoch, 8 total, warmup ceil(0.25 * 8) = 2; the rate used at the last step of epoch e is at(4e - 1).
    expect(r.steps).toBe(8);
    expect(lrs[0]).toBeCloseTo(1e-3 * (8 - 3) / 6, 12);
    expect(lrs[1]).toBeCloseTo(1e-3 * (8 - 7) / 6, 12);
    expect(r.bestEpoch).toBeGreaterThanOrEqual(1);
    tm.model.dispose();
  });

  it("freeze(tm, 'backbone') leaves the pooler and classifier trainable; summary counts them", async () => {
    const tm = smallBert('sequence-classification', 5);
    freeze(tm, 'backbone');
    const trainable = tm.model.trainableWeights.map((w) => w.originalName).sort();
    expect(trainable).toEqual(['classifier/bias', 'classifier/kernel', 'pooler.dense/bias', 'pooler.dense/kernel']);
    expect(summary(tm).trainableParams).toBe(32 * 32 + 32 + 32 * 2 + 2);
    const before = weightsOf(tm);
    await fineTuneText(tm, synthetic(32, 13), { epochs: 1, batchSize: 16, learningRate: 1e-3 });
    const after = weightsOf(tm);
    expect(after.get('encoder.layer.0.attention.self.query/kernel')).toEqual(before.get('encoder.layer.0.attention.self.query/kernel'));
    expect(after.get('classifier/kernel')).not.toEqual(before.get('classifier/kernel'));
    tm.model.dispose();
  });

  it('groups: no weight decay on biases and LayerNorm; layer-wise decay scales by depth', () => {
    const tm = smallBert();
    const plain = textParamGroups(tm, 0.01);
    const noDecay = plain.find((g) => g.name === 'all_no_decay')!;
    expect(noDecay.weightDecay).toBe(0);
    expect(noDecay.params.every((v) => v.rank === 1)).toBe(true);
    expect(plain.find((g) => g.name === 'all')!.params.some((v) => v.name.startsWith('embeddings/word_embeddings'))).toBe(true);
    const ld = textParamGroups(tm, 0.01, 0.5);
    const scale = (n: string): number | undefined => ld.find((g) => g.name === n)?.lrScale;
    expect([scale('depth_0'), scale('depth_1'), scale('depth_2'), scale('depth_3')]).toEqual([0.125, 0.25, 0.5, 1]);
    tm.model.dispose();
  });

  it('rejects bad data with the text and label at fault', async () => {
    const tm = smallBert();
    await expect(fineTuneText(tm, { texts: ['good', 'bad'], labels: [0] })).rejects.toThrow(/2 texts but 1 labels/);
    await expect(fineTuneText(tm, { texts: ['good', 'bad'], labels: [0, 2] })).rejects.toThrow(/label 2 \(text #1\) is not a class index in \[0, 1\]/);
    const base = smallBert('base');
    await expect(fineTuneText(base, { texts: ['good'], labels: [0] })).rejects.toThrow(/task is 'base'/);
    tm.model.dispose();
    base.model.dispose();
  });
});

describe('masked-LM (HF DataCollatorForLanguageModeling)', () => {
  it('selects ~15 % of non-special tokens; 80 % [MASK], 10 % random, 10 % kept; never specials', () => {
    const tok = TextTokenizer.fromVocab(VOCAB);
    const items = tok.encodeAll(synthetic(2000, 5).texts);
    const m = maskTokens(items, tok, VOCAB.length, 0.15, mulberry32(1));
    const regular = items.reduce((n, e) => n + e.inputIds.filter((i) => !tok.specialIds.has(i)).length, 0);
    expect(m.positions.length / regular).toBeGreaterThan(0.14);
    expect(m.positions.length / regular).toBeLessThan(0.16);
    let masked = 0;
    let kept = 0;
    m.positions.forEach((p, k) => {
      const row = Math.floor(p / m.width);
      const col = p % m.width;
      const now = m.masked[row].inputIds[col];
      expect(tok.specialIds.has(items[row].inputIds[col])).toBe(false);
      if (now === tok.maskId) masked++;
      else if (now === m.targets[k]) kept++;
    });
    expect(masked / m.positions.length).toBeGreaterThan(0.77);
    expect(masked / m.positions.length).toBeLessThan(0.83);
    // "kept" includes random draws that hit the same token (1 / vocab of the 10 %).
    expect(kept / m.positions.length).toBeGreaterThan(0.08);
    expect(kept / m.positions.length).toBeLessThan(0.13);
  });

  it('leaves no tensors behind (head and optimizer state disposed)', async () => {
    const tm = smallBert();
    const texts = synthetic(64, 9).texts;
    const before = tf.memory().numTensors;
    await pretrainMaskedLM(tm, texts, { epochs: 1, batchSize: 16 });
    expect(tf.memory().numTensors).toBe(before);
    tm.model.dispose();
  });

  it('lowers the masked-token loss, trains the tied embeddings, leaves the classifier alone, and exports the head', async () => {
    const tm = smallBert();
    const before = weightsOf(tm);
    // A corpus with structure to learn: eight fixed sentences, repeated.
    const sentences = ['the film is very good', 'the book was quite bad', 'the story is fine and the acting is great', 'the plot was awful', 'the acting is poor and the plot is bad', 'the film was great', 'the story is very fine', 'the book is good'];
    const corpus = Array.from({ length: 512 }, (_, i) => sentences[i % 8]);
    const r = await pretrainMaskedLM(tm, corpus, { epochs: 3, batchSize: 32, learningRate: 3e-3, keepHead: true });
    expect(r.lastLoss).toBeLessThan(r.firstLoss * 0.8);
    const after = weightsOf(tm);
    expect(after.get('embeddings/word_embeddings')).not.toEqual(before.get('embeddings/word_embeddings'));
    expect(after.get('classifier/kernel')).toEqual(before.get('classifier/kernel'));
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tk-mlm-')), 'mlm');
    await saveTextModel(tm, out, { maskedLMHead: r.head as MaskedLMHead });
    const keys = [...readSafetensors(path.join(out, 'model.safetensors')).keys()];
    expect(keys).toEqual(expect.arrayContaining(['cls.predictions.transform.dense.weight', 'cls.predictions.transform.LayerNorm.weight', 'cls.predictions.bias', 'cls.predictions.decoder.weight', 'bert.embeddings.word_embeddings.weight']));
    expect(JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8')).architectures).toEqual(['BertForMaskedLM']);
    const back = await loadTextModel(out, { task: 'base' });
    expect(back.loadReport?.unused).toEqual(expect.arrayContaining(['cls.predictions.bias']));
    expect(back.loadReport?.newlyInitialized).toEqual(['pooler.dense.weight', 'pooler.dense.bias']); // as HF: BertModel from a *ForMaskedLM checkpoint
    r.head?.dispose();
    tm.model.dispose();
    back.model.dispose();
  });
});

describe('LoRA (as PEFT)', () => {
  it('starts equal to the base model, trains only adapters and the head, and merges exactly', async () => {
    const tm = smallBert();
    const batch = tm.tokenizer!.batch(['the film is good', 'the story was awful and poor'], { maxLength: 16 });
    const feed = [batch.inputIds, batch.attentionMask, batch.tokenTypeIds];
    const y0 = (tm.model.predict(feed) as tf.Tensor).dataSync().slice();
    const report = applyLoRA(tm, { targets: /attention\.self\.(query|value)$/, rank: 4, alpha: 8 });
    expect(report.adapted).toEqual(['encoder.layer.0.attention.self.query', 'encoder.layer.0.attention.self.value', 'encoder.layer.1.attention.self.query', 'encoder.layer.1.attention.self.value']);
    // 4 layers x (32x4 + 4x32) adapters + classifier 32x2 + 2.
    expect(report.trainableParams).toBe(4 * 256 + 66);
    expect(report.trainablePercent).toBeCloseTo((100 * report.trainableParams) / report.totalParams, 10);
    expect(Array.from((tm.model.predict(feed) as tf.Tensor).dataSync())).toEqual(Array.from(y0)); // B = 0
    const before = weightsOf(tm);
    await fineTuneText(tm, synthetic(128, 8), { epochs: 2, batchSize: 16, learningRate: 5e-3 });
    const after = weightsOf(tm);
    for (const [name, v] of before) {
      const changed = after.get(name)!.some((x, i) => x !== v[i]);
      const shouldChange = /lora_|^classifier\//.test(name);
      expect({ name, changed }).toEqual({ name, changed: shouldChange });
    }
    const adapted = (tm.model.predict(feed) as tf.Tensor).dataSync().slice();
    expect(Math.max(...adapted.map((v, i) => Math.abs(v - y0[i])))).toBeGreaterThan(1e-4);
    // Export writes merged kernels without touching the model...
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tk-lora-')), 'm');
    await saveTextModel(tm, out);
    expect([...readSafetensors(path.join(out, 'model.safetensors')).keys()].some((k) => k.includes('lora'))).toBe(false);
    // ...and merging gives the same function.
    expect(mergeLoRA(tm)).toHaveLength(4);
    const merged = (tm.model.predict(feed) as tf.Tensor).dataSync();
    expect(Math.max(...merged.map((v, i) => Math.abs(v - adapted[i])))).toBeLessThan(1e-5);
    expect(tm.model.weights.some((w) => w.originalName.includes('lora'))).toBe(false);
    const exported = await loadTextModel(out);
    const e = (exported.model.predict(feed) as tf.Tensor).dataSync();
    expect(Math.max(...e.map((v, i) => Math.abs(v - adapted[i])))).toBeLessThan(1e-5);
    tm.model.dispose();
    exported.model.dispose();
  });

  it('adapts any model\'s Dense layers (a vision-style head on a plain LayersModel), activation kept', () => {
    const input = tfl.input({ shape: [6] });
    const hidden = tfl.layers.dense({ units: 5, activation: 'relu', name: 'fc1' }).apply(input) as tfl.SymbolicTensor;
    const out = tfl.layers.dense({ units: 3, activation: 'softmax', name: 'head' }).apply(hidden) as tfl.SymbolicTensor;
    const m = tfl.model({ inputs: input, outputs: out });
    const x = tf.randomNormal([4, 6], 0, 1, 'float32', 2);
    const y0 = (m.predict(x) as tf.Tensor).dataSync().slice();
    const r = applyLoRA(m, { targets: ['fc1'], rank: 2, trainable: ['head'] });
    expect(r.trainableParams).toBe(6 * 2 + 2 * 5 + 5 * 3 + 3);
    expect(m.trainableWeights.map((w) => w.originalName).sort()).toEqual(['fc1/lora_A', 'fc1/lora_B', 'head/bias', 'head/kernel']);
    // Non-zero B: outputs move, still a softmax (activation applied after the adapter).
    const b = m.getLayer('fc1').weights.find((w) => w.originalName === 'fc1/lora_B')!;
    b.write(tf.fill(b.shape as number[], 0.5));
    const y1 = m.predict(x) as tf.Tensor;
    expect(Math.max(...y1.dataSync().map((v, i) => Math.abs(v - y0[i])))).toBeGreaterThan(1e-3);
    expect(Array.from(tf.sum(y1, 1).dataSync()).every((s) => Math.abs(s - 1) < 1e-5)).toBe(true);
    const before = y1.dataSync().slice();
    mergeLoRA(m);
    expect(Math.max(...(m.predict(x) as tf.Tensor).dataSync().map((v, i) => Math.abs(v - before[i])))).toBeLessThan(1e-5);
  });

  it('says which layers exist when no target matches, and refuses a second application', () => {
    const tm = smallBert();
    expect(() => applyLoRA(tm, { targets: /q_lin/ })).toThrow(/no Dense layer matches targets \/q_lin\/\. Dense layers: encoder\.layer\.0\.attention\.self\.query/);
    applyLoRA(tm);
    expect(() => applyLoRA(tm)).toThrow(/already has LoRA adapters/);
    tm.model.dispose();
  });
});

describe("DomainAdapter 'mlm' on a text model (domain-adaptive pretraining)", () => {
  it('pretrains on target texts, then fine-tunes on the source; refuses feature-alignment methods on text', async () => {
    const tm = smallBert('sequence-classification', 3);
    const source = synthetic(256, 11);
    const target = synthetic(96, 12);
    const before = weightsOf(tm).get('embeddings/word_embeddings') as Float32Array;
    const r = await new DomainAdapter({ method: 'mlm', epochs: 4, batchSize: 16, learningRate: 3e-3, seed: 1 }).fit(tm, { source, target: { texts: target.texts }, targetVal: target });
    expect(r.method).toBe('mlm');
    expect(r.mlm?.steps).toBe(Math.ceil(96 / 32));
    expect(r.history).toHaveLength(4);
    expect(r.targetValAccuracy).toBeGreaterThan(0.8);
    expect(weightsOf(tm).get('embeddings/word_embeddings')).not.toEqual(before);
    await expect(new DomainAdapter({ method: 'dann' }).fit(tm, { source, target: { texts: target.texts } })).rejects.toThrow(/supports method 'mlm' or 'source-only' alone/);
    tm.model.dispose();
  });
});
