/**
 * ONNX encoders through @huggingface/transformers (ONNX Runtime) against transferkit's TF.js BERT:
 * the same random BERT in two forms (scripts/bert_fixtures.py writes the HF folder; scripts/
 * onnx_export_bert.py exports an ONNX graph of it from an explicit torch implementation and writes
 * its own tokenizer.json), so agreement checks two independent paths end to end (tokenizer files,
 * graph, pooling). Also: the embedding cache (hits, invalidation), the layout errors, Hub ids over a
 * loopback server, and a head trained by fineTune on the frozen encoder's embeddings.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { backendInfo, evaluate, extractFeatures, fineTune, loadPretrained, replaceHead, useBackend, type FrozenEncoder } from '../../src/index.js';
import { loadOnnxEncoder, textEncoder } from '../../src/entries/encoders.js';
import { CosineDecay } from '../../src/entries/schedules.js';
import { loadTextModel } from '../../src/entries/text.js';
import { importTransformers } from '../../src/encoders/onnx_encoder.js';
import { runPythonScript, torchAvailable } from '../helpers/torch.js';

const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'tk-onnx-'));
const SCRIPTS = path.resolve(__dirname, '../../scripts');
let fixtures = '';
let onnxDir = '';
let transformersInstalled = true;

beforeAll(async () => {
  await useBackend('wasm');
  try {
    await importTransformers();
  } catch {
    transformersInstalled = false;
    console.warn('[skip] @huggingface/transformers is not installed; ONNX encoder tests are skipped');
    return;
  }
  if (!(await torchAvailable())) return;
  fixtures = tmp();
  for (const args of [['bert_fixtures.py', fixtures], ['onnx_export_bert.py', path.join(fixtures, 'bert'), path.join(fixtures, 'bert_onnx')]]) {
    const r = await runPythonScript([path.join(SCRIPTS, args[0]), ...args.slice(1)]);
    if (r.status !== 0) throw new Error(`${args[0]} failed: ${r.stderr}`);
  }
  onnxDir = path.join(fixtures, 'bert_onnx');
}, 120_000);

const TEXTS = [
  'the film is good',
  'a bad movie, not fun and boring boring',
  'i love this book!',
  'unable',
  // Longer than maxLength 16 below: both paths must truncate the same way.
  'the story was great and the film was fun and it is a good book of the movie, not boring at all, love it',
];

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** The same encoder, counting how many inputs it embeds. */
function counting(e: FrozenEncoder): FrozenEncoder & { calls: number } {
  const c = { ...e, calls: 0 } as FrozenEncoder & { calls: number };
  c.encode = async (inputs) => {
    c.calls += inputs.length;
    return e.encode(inputs);
  };
  return c;
}

const ready = (ctx: { skip: () => void }): boolean => {
  if (!transformersInstalled || !fixtures) {
    ctx.skip();
    return false;
  }
  return true;
};

describe('ONNX (transformers.js) vs TF.js BERT', () => {
  it('pooled embeddings agree within 1e-4 (mean, cls, normalized; padded batches; truncation)', async (ctx) => {
    if (!ready(ctx)) return;
    const tm = await loadTextModel(path.join(fixtures, 'bert'));
    for (const settings of [{ pooling: 'mean' as const }, { pooling: 'cls' as const }, { pooling: 'mean' as const, normalize: true }]) {
      const onnx = await loadOnnxEncoder(onnxDir, { ...settings, maxLength: 16 });
      const tjs = await textEncoder(tm, { ...settings, maxLength: 16 });
      expect(onnx.dim).toBe(32);
      expect(onnx.runtime.runtime).toBe('onnxruntime-node');
      const a = await onnx.encode(TEXTS);
      const b = await tjs.encode(TEXTS);
      const diff = maxAbsDiff(a, b);
      console.log(`[onnx-parity] ${JSON.stringify(settings)} max |onnx - tfjs| = ${diff.toExponential(2)}`);
      expect(diff).toBeLessThan(1e-4);
      // Not trivially equal: the texts embed differently.
      expect(maxAbsDiff(a.slice(0, 32), a.slice(32, 64))).toBeGreaterThan(1e-2);
      if (settings.normalize) for (let i = 0; i < TEXTS.length; i++) expect(Math.hypot(...a.slice(i * 32, (i + 1) * 32))).toBeCloseTo(1, 5);
      await onnx.dispose();
      await tjs.dispose();
    }
    tm.model.dispose();
  });

  it("loadPretrained('onnx:...') gives the same encoder, and backendInfo() reports where it runs", async (ctx) => {
    if (!ready(ctx)) return;
    const e = await loadPretrained(`onnx:${onnxDir}`, { pooling: 'cls' });
    expect(e.kind).toBe('frozen-encoder');
    const direct = await loadOnnxEncoder(onnxDir, { pooling: 'cls' });
    expect(e.fingerprint).toBe(direct.fingerprint);
    const entry = backendInfo().encoders.find((x) => x.id === e.id);
    expect(entry).toMatchObject({ runtime: 'onnxruntime-node', device: 'cpu', modality: 'text', dim: 32 });
    await e.dispose();
    await direct.dispose();
    expect(backendInfo().encoders.find((x) => x.id === e.id)).toBeUndefined();
  });
});

describe('embedding cache', () => {
  it('a second run reads the rows (encoder not called); inputs, preprocessing or file content changes recompute', async (ctx) => {
    if (!ready(ctx)) return;
    const cache = tmp();
    const enc = counting(await loadOnnxEncoder(onnxDir));
    const first = await extractFeatures(enc, TEXTS, { cache, batchSize: 2 });
    expect(first.fromCache).toBe(false);
    expect(enc.calls).toBe(TEXTS.length);
    const second = await extractFeatures(enc, TEXTS, { cache, batchSize: 2 });
    expect(second.fromCache).toBe(true);
    expect(enc.calls).toBe(TEXTS.length); // no new encoder calls
    expect(Array.from(second.features.dataSync())).toEqual(Array.from(first.features.dataSync()));
    // Other inputs: a miss.
    const other = await extractFeatures(enc, [...TEXTS.slice(0, 4), 'the film is bad'], { cache });
    expect(other.fromCache).toBe(false);
    // Other preprocessing (pooling): another fingerprint, a miss.
    const cls = counting(await loadOnnxEncoder(onnxDir, { pooling: 'cls' }));
    expect(cls.fingerprint).not.toBe(enc.fingerprint);
    expect((await extractFeatures(cls, TEXTS, { cache })).fromCache).toBe(false);
    // Changed file content (same names): a copy of the folder whose tokenizer_config.json differs.
    const copy = path.join(tmp(), 'copy');
    fs.cpSync(onnxDir, copy, { recursive: true });
    const tc = path.join(copy, 'tokenizer_config.json');
    fs.writeFileSync(tc, JSON.stringify({ ...JSON.parse(fs.readFileSync(tc, 'utf8')), model_max_length: 24 }));
    const changed = await loadOnnxEncoder(copy);
    expect(changed.fingerprint).not.toBe(enc.fingerprint);
    expect((await extractFeatures(changed, TEXTS, { cache })).fromCache).toBe(false);
    // An unchanged copy hashes the same: the key is content, not path.
    const same = path.join(tmp(), 'same');
    fs.cpSync(onnxDir, same, { recursive: true });
    expect((await loadOnnxEncoder(same)).fingerprint).toBe(enc.fingerprint);
    // A truncated cache file is not trusted: recomputed and rewritten.
    fs.truncateSync(first.cacheFile as string, 8);
    const healed = await extractFeatures(enc, TEXTS, { cache });
    expect(healed.fromCache).toBe(false);
    expect(maxAbsDiff(healed.features.dataSync() as Float32Array, first.features.dataSync() as Float32Array)).toBe(0);
    expect((await extractFeatures(enc, TEXTS, { cache })).fromCache).toBe(true);
    // cache: false never writes.
    const none = tmp();
    await extractFeatures(enc, TEXTS, { cache: false });
    expect(fs.readdirSync(none)).toEqual([]);
    tf.dispose([first.features, second.features, other.features, healed.features]);
    for (const e of [enc, cls, changed]) await e.dispose();
  });
});

describe('errors', () => {
  it('names the missing package and what to install', async () => {
    await expect(importTransformers('@huggingface/transformers-not-installed')).rejects.toThrow(/npm install @huggingface\/transformers.*onnxruntime-node-install=skip/s);
    await expect(importTransformers('@huggingface/transformers-not-installed')).rejects.toMatchObject({ code: 'E_BACKEND_UNAVAILABLE' });
  });

  it('a tokenizer-only folder: names the missing onnx/model.onnx; a missing variant lists the ones present', async (ctx) => {
    if (!ready(ctx)) return;
    const dir = path.join(tmp(), 'tokenizer-only');
    fs.mkdirSync(dir);
    for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json']) fs.copyFileSync(path.join(onnxDir, f), path.join(dir, f));
    await expect(loadOnnxEncoder(dir)).rejects.toThrow(`${path.join(dir, 'onnx', 'model.onnx')} is missing`);
    await expect(loadOnnxEncoder(onnxDir, { dtype: 'q8' })).rejects.toThrow(/model_quantized\.onnx is missing.*onnx\/ holds model\.onnx.*'fp32'/s);
    fs.mkdirSync(path.join(dir, 'onnx'));
    fs.copyFileSync(path.join(onnxDir, 'onnx', 'model.onnx'), path.join(dir, 'onnx', 'model.onnx'));
    fs.rmSync(path.join(dir, 'tokenizer.json'));
    await expect(loadOnnxEncoder(dir)).rejects.toThrow(`${path.join(dir, 'tokenizer.json')} is missing`);
    fs.rmSync(path.join(dir, 'config.json'));
    await expect(loadOnnxEncoder(dir)).rejects.toThrow(`${path.join(dir, 'config.json')} is missing`);
    await expect(loadOnnxEncoder(path.join(dir, 'nope'))).rejects.toThrow(/No ONNX encoder folder at/);
    await expect(loadOnnxEncoder(onnxDir, { pooling: 'max' as 'cls' })).rejects.toThrow(/unknown pooling/);
  });

  it('a Hub id is not fetched unless allowed; with allowDownloads it comes over HTTP once, then loads offline', async (ctx) => {
    if (!ready(ctx)) return;
    const requests: string[] = [];
    const server = http.createServer((req, res) => {
      requests.push(req.url ?? '');
      const m = /^\/tk-test\/tiny-bert-onnx\/resolve\/main\/(.+)$/.exec(req.url ?? '');
      const f = m ? path.join(onnxDir, decodeURIComponent(m[1])) : '';
      if (!f || !fs.existsSync(f) || fs.statSync(f).isDirectory()) {
        res.writeHead(404).end('Entry not found');
        return;
      }
      const body = fs.readFileSync(f);
      res.writeHead(200, { 'content-length': body.length }).end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const remoteHost = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    try {
      const cacheDir = tmp();
      await expect(loadOnnxEncoder('tk-test/tiny-bert-onnx', { cacheDir, remoteHost })).rejects.toThrow(/downloads are off: pass allowDownloads: true/);
      expect(requests).toEqual([]);
      const e = await loadOnnxEncoder('tk-test/tiny-bert-onnx', { cacheDir, remoteHost, allowDownloads: true });
      expect(requests).toContain('/tk-test/tiny-bert-onnx/resolve/main/onnx/model.onnx');
      const local = await loadOnnxEncoder(onnxDir);
      expect(e.fingerprint).toBe(local.fingerprint); // the same bytes, hashed from the cache folder
      expect(maxAbsDiff(await e.encode(TEXTS), await local.encode(TEXTS))).toBe(0);
      const before = requests.length;
      const offline = await loadOnnxEncoder('tk-test/tiny-bert-onnx', { cacheDir, remoteHost });
      expect(requests.length).toBe(before);
      expect(offline.fingerprint).toBe(e.fingerprint);
      for (const x of [e, local, offline]) await x.dispose();
    } finally {
      server.close();
    }
  });
});

/** Texts built from the fixture vocabulary: positive words vs negative words among filler. */
function sentimentTexts(n: number, seed: number): { inputs: string[]; labels: Int32Array } {
  const pos = ['good', 'great', 'fun', 'love'];
  const neg = ['bad', 'boring', 'hate', 'not'];
  const filler = ['the', 'a', 'film', 'movie', 'book', 'story', 'is', 'was', 'and', 'it', 'this', 'of'];
  let s = seed;
  const r = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  const pick = (a: string[]) => a[Math.floor(r() * a.length)];
  const inputs: string[] = [];
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = i % 2;
    const words = [pick(filler), pick(filler), pick(filler), pick(labels[i] === 1 ? pos : neg), pick(labels[i] === 1 ? pos : neg)];
    words.sort(() => r() - 0.5);
    inputs.push(words.join(' '));
  }
  return { inputs, labels };
}

describe("fineTune(..., { recipe: 'feature-extraction' }) on a frozen ONNX encoder", () => {
  it('trains a head on cached embeddings with the toolkit (schedule, class weights); no tensor leak; a second head reuses the cache', async (ctx) => {
    if (!ready(ctx)) return;
    const cache = tmp();
    const enc = counting(await loadOnnxEncoder(onnxDir, { pooling: 'mean' }));
    const classNames = ['negative', 'positive'];
    const train = { ...sentimentTexts(96, 1), classNames };
    const val = { ...sentimentTexts(48, 2), classNames };
    const counts: number[] = [];
    const model = replaceHead(enc, { numClasses: 2, classNames, seed: 3, dropout: 0 });
    expect(model.inputShape).toEqual([32]);
    const lrs: number[] = [];
    const { history } = await fineTune(model, train, {
      validation: val, epochs: 30, headLearningRate: 3e-2, batchSize: 16, featureCache: cache, progress: 'silent', seed: 5,
      schedule: (_stage, peak, total) => new CosineDecay(peak, total),
      classWeights: 'balanced',
      onEpochEnd: (log) => {
        counts.push(tf.memory().numTensors);
        lrs.push(log.learningRate);
      },
    });
    expect(history.length).toBe(30);
    expect(lrs[29]).toBeLessThan(lrs[0] / 10); // the cosine schedule ran
    expect(history.every((h) => h.stage === 'head')).toBe(true);
    expect(new Set(counts.slice(1)).size).toBe(1); // stable tensor count across epochs
    const result = await evaluate(model, val, { featureCache: cache });
    console.log(`[onnx-head] val accuracy ${result.accuracy.toFixed(3)} after ${history.length} epochs (chance 0.5)`);
    expect(result.accuracy).toBeGreaterThan(0.8);
    const calls = enc.calls;
    expect(calls).toBe(train.inputs.length + val.inputs.length); // evaluate read the cache
    // A second head on the same data: no encoder calls at all.
    const second = replaceHead(enc, { numClasses: 2, classNames, hidden: [16], seed: 4 });
    await fineTune(second, train, { validation: val, epochs: 2, featureCache: cache, progress: 'silent' });
    expect(enc.calls).toBe(calls);
    // Only the head recipe applies to a frozen encoder.
    await expect(fineTune(second, train, { recipe: 'two-stage', featureCache: cache, progress: 'silent' })).rejects.toThrow(/only recipe 'feature-extraction' applies/);
    model.model.dispose();
    second.model.dispose();
    await enc.dispose();
  }, 120_000);
});

describe('the CLI on a frozen ONNX encoder', () => {
  it('transferkit fine-tune --model onnx:<folder> --data texts.tsv, then predict lines of a .txt from the run folder', async (ctx) => {
    const cli = path.resolve(__dirname, '../../dist/cli.js');
    if (!ready(ctx)) return;
    if (!fs.existsSync(cli)) return ctx.skip();
    const dir = tmp();
    const rows = (d: { inputs: string[]; labels: Int32Array }) => d.inputs.map((t, i) => `${t}\t${d.labels[i] === 1 ? 'positive' : 'negative'}`).join('\n');
    fs.writeFileSync(path.join(dir, 'train.tsv'), `${rows(sentimentTexts(96, 1))}\n`);
    fs.writeFileSync(path.join(dir, 'new.txt'), 'the film is good and fun\na bad and boring movie\n');
    const run = (args: string[]) => new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
      const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TRANSFERKIT_CACHE: path.join(dir, 'cache') } });
      let out = '';
      let err = '';
      child.stdout.on('data', (b: Buffer) => (out += b.toString()));
      child.stderr.on('data', (b: Buffer) => (err += b.toString()));
      child.on('close', (code) => resolve({ code, out, err }));
    });
    const runDir = path.join(dir, 'run');
    const ft = await run(['fine-tune', '--model', `onnx:${onnxDir}`, '--data', path.join(dir, 'train.tsv'), '--out', runDir, '--head-epochs', '30', '--head-lr', '3e-2', '--dropout', '0', '--backend', 'wasm']);
    expect(ft.code, ft.err).toBe(0);
    const final = JSON.parse(ft.out.trim().split('\n').at(-1) as string) as { valAccuracy: number; epochs: number };
    expect(final.epochs).toBe(30);
    expect(final.valAccuracy).toBeGreaterThan(0.8);
    const config = JSON.parse(fs.readFileSync(path.join(runDir, 'config.json'), 'utf8')) as { config: { recipe: string }; environment: Record<string, string> };
    expect(config.config.recipe).toBe('feature-extraction');
    expect(config.environment['frozen encoders']).toContain('onnxruntime-node');
    // Misclassified validation texts appear as quotes (or the report says there are none).
    expect(fs.readFileSync(path.join(runDir, 'report.html'), 'utf8')).toMatch(/<blockquote>|None: every validation example is classified correctly/);
    const pr = await run(['predict', '--model', runDir, '--backend', 'wasm', path.join(dir, 'new.txt')]);
    expect(pr.code, pr.err).toBe(0);
    const preds = pr.out.trim().split('\n').map((l) => JSON.parse(l) as { input: string; predictions: { class: string }[] });
    expect(preds.map((p) => p.input)).toEqual(['the film is good and fun', 'a bad and boring movie']);
    expect(preds.map((p) => p.predictions[0].class)).toEqual(['positive', 'negative']);
  }, 300_000);
});
