/**
 * BERT / DistilBERT against an independent PyTorch reference (scripts/bert_fixtures.py: stock
 * nn.Embedding + nn.LayerNorm + nn.TransformerEncoderLayer loaded with the same HF-named tensors),
 * with and without padding; HF-folder loading (strictness, reports), export round trip, and a Hub
 * id served by a loopback HTTP server laid out like the Hub's resolve/main/ paths.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPretrained, useBackend, type TextModel } from '../../src/index.js';
import { readSafetensors, writeSafetensors, type SafeTensor } from '../../src/entries/io.js';
import { applyLoRA } from '../../src/entries/peft.js';
import { buildTextModel, fineTuneText, loadTextModel, saveTextModel } from '../../src/entries/text.js';
import { runPythonScript, torchAvailable } from '../helpers/torch.js';

const REFERENCE_FROM_HF = path.resolve(__dirname, '../../scripts/torch_reference_from_hf.py');

const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'tk-bert-'));
let fixtures = '';

beforeAll(async () => {
  await useBackend('wasm');
  if (!(await torchAvailable())) return;
  fixtures = tmp();
  const r = await runPythonScript([path.resolve(__dirname, '../../scripts/bert_fixtures.py'), fixtures]);
  if (r.status !== 0) throw new Error(`bert_fixtures.py failed: ${r.stderr}`);
});

function maxAbsDiff(a: tf.Tensor, b: SafeTensor): number {
  expect(a.shape).toEqual(b.shape);
  const x = a.dataSync();
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - b.data[i]));
  return m;
}

function inputsOf(tm: TextModel, ref: Map<string, SafeTensor>, mask: 'padded' | 'unpadded'): tf.Tensor[] {
  const t = (k: string): tf.Tensor => tf.tensor(ref.get(k)!.data, ref.get(k)!.shape, 'int32');
  const m = mask === 'padded' ? t('attention_mask') : tf.onesLike(t('attention_mask'));
  const types = (): tf.Tensor => (ref.has('token_type_ids') ? t('token_type_ids') : tf.zerosLike(t('input_ids')));
  return tm.inputNames.map((n) => (n === 'input_ids' ? t('input_ids') : n === 'attention_mask' ? m : types()));
}

describe('architecture (as HF from_config)', () => {
  it('bert-base-uncased config gives HF BertModel 109,482,240 parameters; distilbert-base 66,362,880; roberta-base 124,645,632', () => {
    const bert = buildTextModel({ model_type: 'bert' });
    expect(bert.model.countParams()).toBe(109_482_240);
    bert.model.dispose();
    const distil = buildTextModel({ model_type: 'distilbert' });
    expect(distil.model.countParams()).toBe(66_362_880);
    distil.model.dispose();
    // roberta-base's config.json: vocab 50265, 514 positions, one token type, eps 1e-5.
    const roberta = buildTextModel({ model_type: 'roberta', vocab_size: 50265, max_position_embeddings: 514, type_vocab_size: 1, layer_norm_eps: 1e-5 });
    expect(roberta.model.countParams()).toBe(124_645_632);
    roberta.model.dispose();
  });

  it('rejects bad configs naming the key', () => {
    expect(() => buildTextModel({ model_type: 'bert', hidden_size: 30, num_attention_heads: 4 })).toThrow(/hidden_size \(30\) is not a multiple of num_attention_heads \(4\)/);
    expect(() => buildTextModel({ model_type: 'gpt2' })).toThrow(/model_type "gpt2" is not supported/);
    expect(() => buildTextModel({ model_type: 'bert', num_hidden_layers: 0 })).toThrow(/"num_hidden_layers" must be a positive integer/);
    expect(() => buildTextModel({ model_type: 'bert', hidden_act: 'swish', hidden_size: 8, num_attention_heads: 2, num_hidden_layers: 1, intermediate_size: 8, vocab_size: 10 })).toThrow(/activation "swish" \("hidden_act"\) is not supported/);
  });

  it('names layers after HF module paths and refuses sequences longer than max_position_embeddings', () => {
    const tm = buildTextModel({ model_type: 'bert', vocab_size: 20, hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 16, max_position_embeddings: 4 }, { task: 'sequence-classification', numLabels: 3 });
    const names = tm.model.layers.map((l) => l.name);
    for (const n of ['embeddings', 'embeddings.LayerNorm', 'encoder.layer.0.attention.self.query', 'encoder.layer.0.output.LayerNorm', 'pooler.dense', 'classifier']) expect(names).toContain(n);
    expect(tm.headLayers).toEqual(['dropout', 'classifier']);
    const ids = tf.zeros([1, 5], 'int32');
    expect(() => tm.model.predict([ids, tf.onesLike(ids), tf.zerosLike(ids)])).toThrow(/sequence length 5 exceeds max_position_embeddings \(4\)/);
    tm.model.dispose();
  });
});

describe.each(['bert', 'bert_tanh', 'distilbert', 'roberta'])('parity with the torch.nn reference: %s', (family) => {
  it('last hidden state, pooled output and logits within 1e-4, padded and unpadded', async (ctx) => {
    if (!fixtures) return ctx.skip();
    const dir = path.join(fixtures, family);
    const ref = readSafetensors(path.join(dir, 'reference.safetensors'));
    const base = await loadTextModel(dir);
    expect(base.loadReport).toMatchObject({ newlyInitialized: [], unused: [], mismatched: [] });
    for (const [mask, tag] of [['padded', ''], ['unpadded', 'unpadded_']] as const) {
      if (!ref.has(`${tag}last_hidden_state`)) continue; // RoBERTa's reference is padded only
      const out = base.model.predict(inputsOf(base, ref, mask)) as tf.Tensor | tf.Tensor[];
      const [hidden, pooled] = Array.isArray(out) ? out : [out];
      expect(maxAbsDiff(hidden, ref.get(`${tag}last_hidden_state`)!)).toBeLessThan(1e-4);
      if (family !== 'distilbert') expect(maxAbsDiff(pooled, ref.get(`${tag}pooler_output`)!)).toBeLessThan(1e-4);
    }
    // The check has power: padding changes the padded rows' states far beyond the tolerance.
    if (ref.has('unpadded_last_hidden_state')) {
      const padded = ref.get('last_hidden_state')!.data;
      const unpadded = ref.get('unpadded_last_hidden_state')!.data;
      expect(Math.max(...padded.map((v, i) => Math.abs(v - unpadded[i])))).toBeGreaterThan(1e-2);
    }

    const clf = await loadTextModel(path.join(dir, 'classifier'));
    expect(clf.task).toBe('sequence-classification');
    expect(clf.classNames).toEqual(['label_0', 'label_1', 'label_2']);
    const logits = clf.model.predict(inputsOf(clf, ref, 'padded')) as tf.Tensor;
    expect(maxAbsDiff(logits, ref.get('logits')!)).toBeLessThan(1e-4);
    base.model.dispose();
    clf.model.dispose();
  });
});

describe('pytorch_model.bin (PyTorch pickle) instead of safetensors', () => {
  it('a folder with pytorch_model.bin, or sharded .bin files, loads the same weights and gives the reference logits', async (ctx) => {
    if (!fixtures) return ctx.skip();
    const src = path.join(fixtures, 'bert', 'classifier');
    const dir = tmp();
    for (const f of fs.readdirSync(src)) if (f !== 'model.safetensors') fs.copyFileSync(path.join(src, f), path.join(dir, f));
    const sharded = tmp();
    for (const f of fs.readdirSync(src)) if (f !== 'model.safetensors') fs.copyFileSync(path.join(src, f), path.join(sharded, f));
    // torch.save of the same state dict: whole, and split in two shards with an index, as HF writes them.
    const script = `
import json, os, sys, torch
sys.path.insert(0, ${JSON.stringify(path.resolve(__dirname, '../../scripts'))})
from _safetensors import read_safetensors
sd, _ = read_safetensors(sys.argv[1])
sd = {k: torch.tensor(v) if not torch.is_tensor(v) else v for k, v in sd.items()}
torch.save(sd, os.path.join(sys.argv[2], "pytorch_model.bin"))
keys = sorted(sd)
half = len(keys) // 2
shards = {"pytorch_model-00001-of-00002.bin": keys[:half], "pytorch_model-00002-of-00002.bin": keys[half:]}
for name, ks in shards.items(): torch.save({k: sd[k] for k in ks}, os.path.join(sys.argv[3], name))
json.dump({"metadata": {}, "weight_map": {k: n for n, ks in shards.items() for k in ks}}, open(os.path.join(sys.argv[3], "pytorch_model.bin.index.json"), "w"))
`;
    const r = await runPythonScript(['-c', script, path.join(src, 'model.safetensors'), dir, sharded]);
    expect(r.status, r.stderr).toBe(0);
    const ref = readSafetensors(path.join(fixtures, 'bert', 'reference.safetensors'));
    for (const folder of [dir, sharded]) {
      const clf = await loadTextModel(folder);
      expect(clf.loadReport).toMatchObject({ mismatched: [] });
      const logits = clf.model.predict(inputsOf(clf, ref, 'padded')) as tf.Tensor;
      expect(maxAbsDiff(logits, ref.get('logits')!)).toBeLessThan(1e-4);
      tf.dispose(logits);
      clf.model.dispose();
    }
    fs.rmSync(path.join(dir, 'pytorch_model.bin'));
    await expect(loadTextModel(dir)).rejects.toThrow(/has none of model\.safetensors, model\.safetensors\.index\.json, pytorch_model\.bin, pytorch_model\.bin\.index\.json/);
  });
});

describe('the erf and tanh GELU forms differ (so the bert_tanh parity is meaningful)', () => {
  it('same weights, different activation, different states', (ctx) => {
    if (!fixtures) return ctx.skip();
    const a = readSafetensors(path.join(fixtures, 'bert', 'reference.safetensors')).get('last_hidden_state')!.data;
    const b = readSafetensors(path.join(fixtures, 'bert_tanh', 'reference.safetensors')).get('last_hidden_state')!.data;
    expect(Math.max(...a.map((v, i) => Math.abs(v - b[i])))).toBeGreaterThan(1e-5);
  });
});

describe('loading Hugging Face folders', () => {
  it('a base checkpoint under a new classifier: head newly initialised, encoder loaded', async (ctx) => {
    if (!fixtures) return ctx.skip();
    const tm = await loadTextModel(path.join(fixtures, 'bert'), { task: 'sequence-classification', numLabels: 2 });
    expect(tm.loadReport?.newlyInitialized).toEqual(['classifier.weight', 'classifier.bias']);
    expect(tm.loadReport?.loaded).toBe(39);
    tm.model.dispose();
  });

  it('names missing, mis-shaped and unexpected tensors; ignoreMismatchedSizes re-initialises a head', async (ctx) => {
    if (!fixtures) return ctx.skip();
    const src = path.join(fixtures, 'bert', 'classifier');
    const tensors = readSafetensors(path.join(src, 'model.safetensors'));
    const broken = tmp();
    fs.copyFileSync(path.join(src, 'config.json'), path.join(broken, 'config.json'));
    const edited = new Map(tensors);
    edited.delete('bert.encoder.layer.1.output.dense.weight');
    edited.set('bert.extra.weight', { dtype: 'float32', shape: [1], data: Float32Array.from([1]) });
    writeSafetensors(path.join(broken, 'model.safetensors'), edited);
    await expect(loadTextModel(broken)).rejects.toThrow(/Missing \(1\): bert\.encoder\.layer\.1\.output\.dense\.weight\..*Unexpected \(1\): bert\.extra\.weight/);
    const ok = await loadTextModel(broken, { strict: false }).catch((e: Error) => e);
    expect(String(ok)).toMatch(/Missing \(1\)/); // strict: false forgives unexpected tensors only
    await expect(loadTextModel(src, { numLabels: 5 })).rejects.toThrow(/classifier\.weight: checkpoint \[3, 32\] vs model \[5, 32\]/);
    const re = await loadTextModel(src, { numLabels: 5, ignoreMismatchedSizes: true });
    expect(re.loadReport?.mismatched).toHaveLength(2);
    re.model.dispose();
    await expect(loadTextModel(path.join(os.tmpdir(), 'no-such-folder-tk'))).rejects.toThrow(/not a Hub id|No folder/);
  });

  it("loadPretrained on a Hugging Face text folder asks for { modality: 'text' }, and with it loads the same model as loadTextModel", async (ctx) => {
    if (!fixtures) return ctx.skip();
    await expect(loadPretrained(path.join(fixtures, 'bert'))).rejects.toThrow(/Hugging Face config\.json.*loadPretrained\('.*', \{ modality: 'text' \}\)/);
    const a = await loadPretrained(path.join(fixtures, 'bert'), { modality: 'text' });
    const b = await loadTextModel(path.join(fixtures, 'bert'));
    expect(a.family).toBe('bert');
    expect(a.model.weights.map((w) => w.originalName)).toEqual(b.model.weights.map((w) => w.originalName));
    a.model.weights.forEach((w, i) => expect(Array.from(w.read().dataSync())).toEqual(Array.from(b.model.weights[i].read().dataSync())));
    a.model.dispose();
    b.model.dispose();
  });

  it('weights: null builds the configuration without reading weights; the vocab.txt tokenizer comes along', async (ctx) => {
    if (!fixtures) return ctx.skip();
    const tm = await loadTextModel(path.join(fixtures, 'distilbert'), { weights: null });
    expect(tm.loadReport).toBeUndefined();
    expect(tm.tokenizer?.encode('the film is good').inputIds[0]).toBe(2);
    tm.model.dispose();
  });
});

describe('export to the HF layout', () => {
  it('round-trips: save -> load gives the same logits, HF names, format pt, tokenizer files', async (ctx) => {
    if (!fixtures) return ctx.skip();
    const tm = await loadTextModel(path.join(fixtures, 'distilbert', 'classifier'));
    tm.tokenizer = (await loadTextModel(path.join(fixtures, 'distilbert'), { weights: null })).tokenizer;
    const out = path.join(tmp(), 'export');
    await saveTextModel(tm, out);
    expect(fs.readdirSync(out).sort()).toEqual(['config.json', 'model.safetensors', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json', 'vocab.txt']);
    expect(fs.readdirSync(path.dirname(out))).toEqual(['export']); // no temp folder left
    const config = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'));
    expect(config.architectures).toEqual(['DistilBertForSequenceClassification']);
    expect(config.id2label).toEqual({ 0: 'label_0', 1: 'label_1', 2: 'label_2' });
    const original = readSafetensors(path.join(fixtures, 'distilbert', 'classifier', 'model.safetensors'));
    const written = readSafetensors(path.join(out, 'model.safetensors'));
    expect([...written.keys()].sort()).toEqual([...original.keys()].sort());
    for (const [k, v] of original) expect(Array.from(written.get(k)!.data)).toEqual(Array.from(v.data));
    expect(fs.readFileSync(path.join(out, 'vocab.txt'), 'utf8')).toBe(fs.readFileSync(path.join(fixtures, 'distilbert', 'vocab.txt'), 'utf8'));
    const back = await loadTextModel(out);
    const batch = back.tokenizer!.batch(['the film is good', 'a boring story'], { maxLength: 16 });
    const a = tm.model.predict([batch.inputIds, batch.attentionMask]) as tf.Tensor;
    const b = back.model.predict([batch.inputIds, batch.attentionMask]) as tf.Tensor;
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
    tm.model.dispose();
    back.model.dispose();
  });
});

describe.each(['bert', 'distilbert', 'roberta'])('export read back by PyTorch code keyed on HF names: %s', (family) => {
  it('after fine-tuning with LoRA, the exported folder gives the same logits in torch.nn (within 1e-4)', async (ctx) => {
    if (!fixtures) return ctx.skip();
    const tm = await loadTextModel(path.join(fixtures, family, 'classifier'));
    tm.tokenizer = (await loadTextModel(path.join(fixtures, family), { weights: null })).tokenizer;
    applyLoRA(tm, { targets: /query|value|q_lin|v_lin/, rank: 2, alpha: 4, seed: 1 });
    await fineTuneText(tm, { texts: ['the film is good', 'a boring story', 'great fun', 'the plot was bad'], labels: [2, 0, 2, 1] }, { epochs: 2, batchSize: 2, learningRate: 1e-2, seed: 3 });
    const out = path.join(tmp(), 'exported');
    await saveTextModel(tm, out);
    const batch = tm.tokenizer!.batch(['the film is good and fun', 'bad'], { maxLength: 16 });
    const logits = tm.model.predict(tm.inputNames.map((n) => (n === 'input_ids' ? batch.inputIds : n === 'attention_mask' ? batch.attentionMask : batch.tokenTypeIds))) as tf.Tensor;
    const input = { input_ids: batch.inputIds.arraySync(), attention_mask: batch.attentionMask.arraySync(), ...(family === 'bert' ? { token_type_ids: batch.tokenTypeIds.arraySync() } : {}) };
    const r = await runPythonScript([REFERENCE_FROM_HF, out], JSON.stringify(input));
    expect(r.status, r.stderr).toBe(0);
    const torchLogits = Float32Array.from((JSON.parse(r.stdout) as { logits: number[] }).logits);
    expect(maxAbsDiff(logits, { dtype: 'float32', shape: logits.shape, data: torchLogits })).toBeLessThan(1e-4);
    tm.model.dispose();
  });
});

describe('Hub ids (loopback server with the Hub layout)', () => {
  let server: http.Server;
  let endpoint = '';
  const requests: string[] = [];
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      requests.push(req.url ?? '');
      const m = /^\/tk-test\/tiny-bert\/resolve\/main\/(.+)$/.exec(req.url ?? '');
      const file = m && fixtures ? path.join(fixtures, 'bert', 'classifier', m[1]) : '';
      const vocab = m && fixtures ? path.join(fixtures, 'bert', m[1]) : '';
      const f = file && fs.existsSync(file) ? file : vocab && fs.existsSync(vocab) && m![1] !== 'model.safetensors' && m![1] !== 'config.json' ? vocab : '';
      if (!f) {
        res.writeHead(404).end('Entry not found');
        return;
      }
      const body = fs.readFileSync(f);
      res.writeHead(200, { 'content-length': body.length }).end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => server.close());

  it('downloads config, tokenizer files and weights into the cache, then loads offline', async (ctx) => {
    if (!fixtures) return ctx.skip();
    const cacheDir = tmp();
    const tm = await loadTextModel('tk-test/tiny-bert', { endpoint, download: { cacheDir, progress: 'silent' } });
    expect(tm.task).toBe('sequence-classification');
    expect(tm.tokenizer).toBeDefined();
    expect(requests).toContain('/tk-test/tiny-bert/resolve/main/model.safetensors');
    const local = await loadTextModel(path.join(fixtures, 'bert', 'classifier'));
    expect(Array.from(tm.model.getLayer('classifier').getWeights()[0].dataSync())).toEqual(Array.from(local.model.getLayer('classifier').getWeights()[0].dataSync()));
    const before = requests.length;
    const again = await loadTextModel('tk-test/tiny-bert', { endpoint, download: { cacheDir, offline: true } });
    expect(requests.length).toBe(before); // served from the cache
    await expect(loadTextModel('tk-test/absent', { endpoint, download: { cacheDir, progress: 'silent' } })).rejects.toThrow(/HTTP 404/);
    for (const m of [tm, local, again]) m.model.dispose();
  });
});
