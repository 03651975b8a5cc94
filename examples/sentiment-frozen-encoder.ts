/**
 * Sentiment of product reviews from a frozen encoder's embeddings: the cheapest transfer learning.
 * An ONNX encoder runs in ONNX Runtime (through @huggingface/transformers), its embeddings are
 * cached on disk, and a small head trains on them in TF.js with fineTune's `'feature-extraction'`
 * recipe. Data: the Multi-Domain Sentiment Dataset's book reviews (1600 train, 400 test) from
 * ../shared.
 *
 *   npx tsx examples/sentiment-frozen-encoder.ts --model path/to/all-MiniLM-L6-v2   # a published encoder you have
 *   npx tsx examples/sentiment-frozen-encoder.ts                                    # offline fixture (see below)
 *   npm run example:frozen-encoder
 *
 * Without --model it builds a BERT-mini-shaped encoder with RANDOM weights (no pretrained text
 * encoder is available offline here), exports it to ONNX with scripts/onnx_export_bert.py, and
 * says so: the figures then show the pipeline (speed, cache, ONNX = TF.js parity), not what a
 * pretrained encoder reaches. With --model, any transformers.js text encoder folder (or Hub id with
 * --allow-downloads) is used instead. Last line: a JSON object with the figures.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { backendInfo, evaluate, extractFeatures, fineTune, replaceHead, useBackend, type FrozenEncoder } from 'transferkit';
import { loadReviewFolder } from 'transferkit/datasets';
import { loadOnnxEncoder, textEncoder } from 'transferkit/encoders';
import { assetsDir } from './_assets.js';
import { bertOnnxFixture } from './_bert_onnx_fixture.js';

const log = (s: string): void => console.error(s);

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string' },
      'allow-downloads': { type: 'boolean', default: false },
      pooling: { type: 'string', default: 'mean' },
      epochs: { type: 'string', default: '100' },
      lr: { type: 'string', default: '1e-2' },
      'max-length': { type: 'string', default: '256' },
      cache: { type: 'string', default: path.join(os.tmpdir(), 'transferkit-example-features') },
      seed: { type: 'string', default: '42' },
      'keep-cache': { type: 'boolean', default: false },
    },
  });
  const books = path.join(assetsDir, 'data/amazon_reviews/books');
  if (!fs.existsSync(books)) {
    log(`Missing ${books}: put the shared assets at ../shared or set TRANSFERKIT_ASSETS.`);
    process.exit(2);
  }
  await useBackend('wasm');
  const [train, test] = await Promise.all([loadReviewFolder(path.join(books, 'train')), loadReviewFolder(path.join(books, 'test'))]);
  log(`book reviews: ${train.texts.length} train, ${test.texts.length} test (${train.classNames.join(' / ')})`);
  const seed = Number(values.seed);
  const maxLength = Number(values['max-length']);
  const pooling = values.pooling === 'cls' ? 'cls' : 'mean';

  let source = values.model;
  let twin: FrozenEncoder | null = null;
  if (source === undefined) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-frozen-encoder-'));
    log('no --model given: building a BERT-mini-shaped encoder (4 layers x 256) with RANDOM weights and exporting it to ONNX');
    log('  (no pretrained text encoder is available offline; pass --model <folder> for a published one, e.g. an all-MiniLM-L6-v2 ONNX export)');
    const fx = await bertOnnxFixture(dir, { layers: 4, hidden: 256, heads: 4, vocabSize: 8000, seed }, train.texts);
    source = fx.onnxDir;
    twin = await textEncoder(fx.textModel, { pooling, maxLength });
  }
  const encoder = await loadOnnxEncoder(source, { pooling, maxLength, allowDownloads: values['allow-downloads'] });
  log(`encoder ${encoder.id}: dim ${encoder.dim}, ${encoder.runtime.runtime} (${encoder.runtime.device}); head trains on TF.js ${backendInfo().name}`);

  // 1. Embeddings, cached: the first call runs the encoder, the second reads the file.
  const trainSet = { inputs: train.texts, labels: train.labels, classNames: train.classNames };
  const testSet = { inputs: test.texts, labels: test.labels, classNames: test.classNames };
  if (values['keep-cache'] !== true) fs.rmSync(values.cache, { recursive: true, force: true });
  const first = await extractFeatures(encoder, train.texts, { cache: values.cache, batchSize: 32 });
  const again = await extractFeatures(encoder, train.texts, { cache: values.cache });
  log(first.fromCache
    ? `${train.texts.length} review embeddings read from the cache (--keep-cache) in ${(first.seconds * 1000).toFixed(0)} ms`
    : `embedded ${train.texts.length} reviews in ${first.seconds.toFixed(1)} s (${first.perSecond.toFixed(1)}/s); cached re-read ${(again.seconds * 1000).toFixed(0)} ms`);
  tf.dispose([first.features, again.features]);

  // 2. A head on the frozen embeddings, with fineTune's toolkit.
  const model = replaceHead(encoder, { numClasses: 2, classNames: train.classNames, dropout: 0.1, seed });
  const { history } = await fineTune(model, trainSet, {
    // Model selection on 20 % of the training reviews; the test reviews are only scored at the end.
    validationSplit: 0.2, epochs: Number(values.epochs), headLearningRate: Number(values.lr), batchSize: 32, featureCache: values.cache, seed, progress: 'silent',
    earlyStopping: { monitor: 'valAccuracy', patience: 20, restoreBestWeights: true },
  });
  const result = await evaluate(model, testSet, { featureCache: values.cache });
  log(`head: ${history.length} epochs (early stopping on 20 % of train), test accuracy ${(100 * result.accuracy).toFixed(1)} % (chance 50 %)`);

  // 3. The same network in TF.js (fixture only): parity and speed of the two runtimes.
  let parity: { maxAbsDiff: number; tfjsPerSec: number } | null = null;
  if (twin !== null) {
    const sample = train.texts.slice(0, 64);
    await twin.encode(train.texts.slice(64, 72)); // warm-up (kernel setup), as ONNX Runtime had its probe
    const t0 = performance.now();
    const a = await twin.encode(sample);
    const tfjsPerSec = sample.length / ((performance.now() - t0) / 1000);
    const b = await encoder.encode(sample);
    let m = 0;
    for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
    parity = { maxAbsDiff: m, tfjsPerSec };
    log(`TF.js (${backendInfo().name}) twin: max |onnx - tfjs| = ${m.toExponential(2)} on 64 reviews; ${tfjsPerSec.toFixed(1)} embeddings/s vs ONNX Runtime ${first.perSecond.toFixed(1)}/s`);
  }
  console.log(JSON.stringify({
    encoder: values.model ?? 'fixture: random-weight BERT-mini shape exported to ONNX',
    pretrained: values.model !== undefined,
    runtime: encoder.runtime,
    dim: encoder.dim,
    pooling,
    maxLength,
    train: train.texts.length,
    test: test.texts.length,
    embeddingsPerSec: first.fromCache ? null : Number(first.perSecond.toFixed(1)),
    cachedReadMs: Number((again.seconds * 1000).toFixed(1)),
    epochs: history.length,
    testAccuracy: Number(result.accuracy.toFixed(4)),
    ...(parity !== null ? { parityMaxAbsDiff: parity.maxAbsDiff, tfjsWasmEmbeddingsPerSec: Number(parity.tfjsPerSec.toFixed(1)) } : {}),
  }));
  model.model.dispose();
  await encoder.dispose();
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
