/**
 * The six primitives on a BERT-style text model, end to end and with no text-specific call:
 * loadPretrained on a Hugging Face folder → replaceHead → freeze → fineTune → evaluate → predict
 * → saveModel (HF layout) → loadPretrained again, and DomainAdapter on the same model. The folder
 * is written by saveTextModel from a small seeded BERT (the torch-made fixtures of
 * bert_parity.test.ts cover checkpoint parity; this covers the API surface without torch).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { DomainAdapter, evaluate, fineTune, freeze, isTextModel, loadPretrained, predict, replaceHead, saveModel, summary, unfreeze, useBackend, type EncoderData, type LabeledData, type TextClassificationData, type PretrainedModel, type TextModel, type TransferModel } from '../../src/index.js';
import { fileSystem } from '../../src/entries/io.js';
import { quadrantImages, tinyConvNet } from '../helpers/tiny_model.js';
import { buildTextModel, TextTokenizer } from '../../src/entries/text.js';
import { SENTIMENT_VOCAB as VOCAB, sentimentTexts as texts } from '../helpers/synthetic.js';

const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'tk-text-primitives-'));
let baseDir = '';

beforeAll(async () => {
  await useBackend('wasm');
  // A "pretrained" base checkpoint in the Hugging Face layout (BertModel: encoder + pooler).
  const base = buildTextModel({ model_type: 'bert', vocab_size: VOCAB.length, hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 64, max_position_embeddings: 32 }, { task: 'base', seed: 3 });
  base.tokenizer = TextTokenizer.fromVocab(VOCAB);
  baseDir = path.join(tmp(), 'bert-tiny');
  await saveModel(base, baseDir);
  base.model.dispose();
});

describe('the primitives on a BERT model', () => {
  it("loadPretrained({ modality: 'text' }) → replaceHead → freeze → fineTune → evaluate → predict → saveModel → loadPretrained", async () => {
    expect(fs.readdirSync(baseDir)).toEqual(expect.arrayContaining(['config.json', 'model.safetensors', 'vocab.txt']));
    const base = await loadPretrained(baseDir, { modality: 'text' });
    expect(isTextModel(base)).toBe(true);
    expect(base.task).toBe('base');

    // replaceHead: the encoder weights come from the checkpoint, the classifier is new (seeded).
    const model = replaceHead(base, { numClasses: 2, classNames: ['neg', 'pos'], seed: 1 });
    expect(model.task).toBe('sequence-classification');
    const enc = (m: TextModel): number[] => Array.from(m.model.weights.find((w) => w.originalName === 'encoder.layer.1.output.dense/kernel')!.read().dataSync());
    expect(enc(model)).toEqual(enc(base));
    expect(model.tokenizer).toBe(base.tokenizer);

    // freeze: the backbone stops, the pooler and classifier train; summary counts them.
    freeze(model, 'backbone');
    expect(summary(model).trainableParams).toBe(32 * 32 + 32 + 32 * 2 + 2);
    unfreeze(model, 'all');

    // The configuration text_training.test.ts established for this synthetic task (256 texts, 4 epochs).
    const train = texts(256, 1);
    const dev = texts(96, 2);
    const headOf = (m: TextModel): number[] => Array.from(m.model.weights.find((w) => w.originalName === 'classifier/kernel')!.read().dataSync());
    const head0 = headOf(model);
    const before = await evaluate(model, dev);
    expect(before.accuracy).toBeLessThan(0.8);
    const r = await fineTune(model, train, { epochs: 4, batchSize: 16, learningRate: 3e-3, validation: dev, seed: 7, progress: false });
    expect(r.model).toBe(model);
    expect(r.history.map((h) => `${h.stage}#${h.epoch}`)).toEqual(['fine-tune#1', 'fine-tune#2', 'fine-tune#3', 'fine-tune#4']);
    const after = await evaluate(model, dev);
    expect(after.accuracy).toBeGreaterThan(0.9);

    // predict: one probability row per text, the arg-max being evaluate's prediction.
    const probs = predict(model, dev.texts);
    expect(probs.shape).toEqual([96, 2]);
    const rows = (await probs.array()) as number[][];
    probs.dispose();
    rows.forEach((p, i) => {
      expect(p[0] + p[1]).toBeCloseTo(1, 5);
      expect(p[1] > p[0] ? 1 : 0).toBe(after.predictions[i]);
    });

    // saveModel writes the HF layout; loading it back gives the same outputs.
    const out = path.join(tmp(), 'fine-tuned');
    await saveModel(model, out);
    const config = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8')) as { architectures: string[]; id2label: Record<string, string> };
    expect(config.architectures).toEqual(['BertForSequenceClassification']);
    expect(config.id2label).toEqual({ 0: 'neg', 1: 'pos' });
    const again = await loadPretrained(out, { modality: 'text' });
    const p2 = predict(again, dev.texts);
    expect(Math.max(...((await p2.array()) as number[][]).flatMap((p, i) => p.map((v, k) => Math.abs(v - rows[i][k]))))).toBeLessThan(1e-5);
    p2.dispose();
    // Re-heading the fine-tuned classifier: its trained encoder, a head drawn fresh from the seed
    // (not the trained one), any label count.
    const reheaded = replaceHead(model, { numClasses: 2, seed: 1 });
    expect(headOf(reheaded)).toEqual(head0);
    expect(enc(reheaded)).toEqual(enc(model));
    const three = replaceHead(model, { numClasses: 3, classNames: ['neg', 'neutral', 'pos'], seed: 1 });
    expect(three.model.outputs[0].shape).toEqual([null, 3]);
    expect(three.problemType).toBe('multiclass');
    expect(enc(three)).toEqual(enc(model));
    for (const m of [base, model, again, reheaded, three]) m.model.dispose();
  });

  it('DomainAdapter adapts the same text model (masked-LM on the target texts, then the source recipe)', async () => {
    // The API path: a model from loadPretrained + replaceHead goes straight into DomainAdapter.
    // (How well 'mlm' adapts is measured in text_training.test.ts and the reviews benchmark.)
    const model = replaceHead(await loadPretrained(baseDir, { modality: 'text' }), { numClasses: 2, seed: 2 });
    const tensors = tf.memory().numTensors;
    const embeddings = (): number[] => Array.from(model.model.weights.find((w) => w.originalName === 'embeddings/word_embeddings')!.read().dataSync());
    const before = embeddings();
    const targetVal = texts(48, 4);
    const res = await new DomainAdapter({ method: 'mlm', epochs: 2, batchSize: 16, learningRate: 3e-3, seed: 1, progress: false }).fit(model, { source: texts(64, 3), target: { texts: texts(64, 5).texts }, targetVal });
    expect(res.model).toBe(model);
    expect(res.mlm?.steps).toBe(Math.ceil(64 / 32));
    expect(res.history.map((h) => `${h.stage}#${h.epoch}`)).toEqual(['fine-tune#1', 'fine-tune#2']);
    expect(res.targetValAccuracy).toBeGreaterThanOrEqual(0);
    expect(embeddings()).not.toEqual(before);
    expect(tf.memory().numTensors).toBe(tensors);
    model.model.dispose();
  });

  it("{ modality: 'auto' } tells the folders apart, and one TransferModel goes through every primitive unnarrowed", async () => {
    const imageDir = path.join(tmp(), 'tiny-cnn');
    const net = tinyConvNet({ seed: 1 });
    await net.save(fileSystem(imageDir));
    net.dispose();
    const images: LabeledData = quadrantImages(24, 16, 2);
    const sentences = texts(32, 6);

    // What an application that takes any model path writes: no isTextModel() before the primitives.
    const transfer = async (source: string, data: LabeledData | EncoderData | TextClassificationData): Promise<{ model: TransferModel; loss: number; saved: string[] }> => {
      const model = replaceHead(await loadPretrained(source, { modality: 'auto' }), { numClasses: 2, seed: 1 });
      freeze(model, 'backbone');
      await fineTune(model, data, { epochs: 1, batchSize: 8, seed: 3, progress: false });
      const { loss } = await evaluate(model, data);
      const out = path.join(tmp(), 'saved');
      await saveModel(model, out);
      return { model, loss, saved: fs.readdirSync(out).sort() };
    };
    const text = await transfer(baseDir, sentences);
    expect(isTextModel(text.model)).toBe(true);
    expect(text.saved).toEqual(expect.arrayContaining(['config.json', 'model.safetensors', 'vocab.txt']));
    const image = await transfer(imageDir, images);
    expect(isTextModel(image.model)).toBe(false);
    expect(image.saved).toEqual(expect.arrayContaining(['model.json']));
    for (const r of [text, image]) expect(Number.isFinite(r.loss)).toBe(true);

    // Compile time (tsc checks this file): a model of a known kind keeps its own overload, so data
    // of the other kind is a type error; only an unnarrowed TransferModel is checked at run time.
    const typeChecks = (pm: PretrainedModel, tm: TextModel): void => {
      // @ts-expect-error texts for an image model
      void fineTune(pm, sentences);
      // @ts-expect-error tensors for a text model
      void fineTune(tm, images);
      // @ts-expect-error tensors for a text model
      void evaluate(tm, images);
      // @ts-expect-error a tensor for a text model
      predict(tm, images.xs);
      // @ts-expect-error an image-head option on a text model
      replaceHead(tm, { numClasses: 2, pooling: 'max' });
    };
    void typeChecks;

    // Data of the other modality is refused by name before any work.
    await expect(fineTune(text.model, images)).rejects.toMatchObject({ code: 'E_DATA', message: expect.stringMatching(/text model \(bert\).*\{ texts, labels \}.*\{ xs, labels, classNames \}/) });
    await expect(evaluate(image.model, sentences)).rejects.toMatchObject({ code: 'E_DATA', message: expect.stringMatching(/image model.*texts go with a text model/) });
    expect(() => predict(text.model, images.xs)).toThrow(/pass an array of texts/);
    await expect(new DomainAdapter({ method: 'dann', progress: false }).fit(image.model, { source: sentences, target: { texts: sentences.texts } } as never)).rejects.toMatchObject({ code: 'E_DATA' });

    // The rules: an 'org/name' or a bare name that is neither a folder nor close to a zoo id goes to
    // the Hub (downloads off here: the Hub loader says which file it wanted); a missing path, a
    // .json path and a near-miss of a zoo id go to the image loader, which names them.
    const offline = { download: { offline: true, cacheDir: tmp() } };
    for (const hubId of ['no-such-org/no-such-model', 'bert-base-uncased']) {
      await expect(loadPretrained(hubId, { modality: 'auto', ...offline })).rejects.toMatchObject({ code: 'E_IO_NOT_FOUND', message: expect.stringMatching(new RegExp(`config\\.json is not in the cache .*huggingface\\.co/${hubId}/resolve/main/config\\.json`)) });
    }
    await expect(loadPretrained('./no/such/folder', { modality: 'auto', ...offline })).rejects.toMatchObject({ code: 'E_IO_NOT_FOUND', message: expect.stringContaining('No model at ./no/such/folder') });
    await expect(loadPretrained('out/model.json', { modality: 'auto', ...offline })).rejects.toMatchObject({ code: 'E_IO_NOT_FOUND', message: expect.stringContaining('No model at out/model.json') });
    await expect(loadPretrained('resnet5', { modality: 'auto', ...offline })).rejects.toMatchObject({ message: expect.stringMatching(/not a zoo id either \(close: .*resnet50/) });
    await expect(loadPretrained('onnx:some/encoder', { modality: 'auto' })).rejects.toMatchObject({ code: 'E_BAD_OPTION', message: expect.stringContaining('frozen encoder') });
    await expect(loadPretrained(baseDir, { modality: 'auto', task: 'base' } as never)).rejects.toMatchObject({ code: 'E_BAD_OPTION', message: expect.stringMatching(/'task' is an option of one modality.*modality: 'text'/) });
    const empty = tmp();
    await expect(loadPretrained(empty, { modality: 'auto' })).rejects.toMatchObject({ code: 'E_IO_NOT_FOUND', message: expect.stringContaining('neither model.json') });
    images.xs.dispose();
    for (const r of [text, image]) r.model.model.dispose();
  });

  it('says what to pass when a Hugging Face folder is loaded without the modality, or an image primitive gets texts', async () => {
    await expect(loadPretrained(baseDir)).rejects.toMatchObject({ code: 'E_BAD_OPTION', message: expect.stringContaining("{ modality: 'text' }") });
    const model = replaceHead(await loadPretrained(baseDir, { modality: 'text' }), { numClasses: 2, seed: 2 });
    expect(() => replaceHead(model, { numClasses: 2, pooling: 'max' } as never)).toThrow(/pooling/);
    model.model.dispose();
  });
});
