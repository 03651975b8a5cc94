/**
 * The job every Node client of the consumer matrix runs, given the module it imported
 * (`import * as tk from 'transferkit'` in esm.mjs, `require('transferkit')` in cjs.cjs): start the
 * default backend, build a zoo ResNet18 offline (fresh He-initialised weights: random ReLU features separate the classes; a fresh MobileNetV2's vanish in inference mode, as Keras' do), put a new head on it, fine-tune it on an easy
 * two-class image task, evaluate, save, load back, predict. Prints one JSON line of what it saw.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

/** 2 classes of 32 x 32 RGB images in [-1, 1] (the model's preprocessing): dark vs bright, noisy. */
function images(tf, perClass, seed) {
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0) / 4294967296);
  const n = 2 * perClass;
  const px = new Float32Array(n * 32 * 32 * 3);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = i % 2;
    const level = labels[i] === 0 ? -0.6 : 0.6;
    for (let k = 0; k < 32 * 32 * 3; k++) px[i * 3072 + k] = level + 0.6 * (rnd() - 0.5);
  }
  return { xs: tf.tensor4d(px, [n, 32, 32, 3]), labels, classNames: ['dark', 'bright'] };
}

module.exports = async function job(tk, client, outDir, subs) {
  const tf = tk.tf;
  const info = await tk.useBackend();
  const base = await tk.loadPretrained('resnet18.tv_in1k', { weights: null, seed: 1, inputShape: [32, 32, 3] });
  const model = tk.replaceHead(base, { numClasses: 2, classNames: ['dark', 'bright'] });
  const train = images(tf, 16, 1);
  const val = images(tf, 8, 2);
  const tensorsPerEpoch = [];
  const { history } = await tk.fineTune(model, train, {
    recipe: 'feature-extraction', headEpochs: 6, headLearningRate: 1e-2, batchSize: 8, seed: 3, progress: 'silent', validation: val,
    callbacks: [{ onEpochEnd: () => void tensorsPerEpoch.push(tf.memory().numTensors) }],
  });
  const evaluation = await tk.evaluate(model, val);
  const dir = path.join(outDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'tk-consumer-')), `${client}-model`);
  await tk.saveModel(model, dir);
  const again = await tk.loadPretrained(dir);
  const a = tk.predict(model, val.xs);
  const b = tk.predict(again, val.xs);
  const maxDiff = tf.max(tf.abs(tf.sub(a, b))).dataSync()[0];
  // Chained tensor methods work on what transferkit returns, as with @tensorflow/tfjs.
  const chained = Array.from(a.slice([0, 0], [2, 2]).argMax(-1).dataSync());
  const functional = Array.from(tf.argMax(tf.slice(a, [0, 0], [2, 2]), -1).dataSync());
  return {
    client,
    backend: info.name,
    threads: info.threads,
    simd: info.simd,
    canTrain: info.canTrain,
    losses: history.map((h) => h.loss),
    accuracy: evaluation.accuracy,
    tensorsPerEpoch,
    savedTo: dir,
    reloadedClassNames: again.classNames,
    maxPredictionDiff: maxDiff,
    chainedOpsMatch: JSON.stringify(chained) === JSON.stringify(functional),
    // Every subpath entry loads, and shares the core's classes and state (one copy of the library).
    subpaths: Object.fromEntries(Object.entries(subs).map(([name, m]) => [name, Object.keys(m).length])),
    sharedClasses: subs.schedules.LRSchedule === tk.LRSchedule && subs.adapt.DomainAdapter === tk.DomainAdapter && subs.encoders.extractFeatures === tk.extractFeatures,
    subpathSchedule: new subs.schedules.CosineDecay(1, 10).at(5),
  };
};

/** The package's subpath entries (package.json "exports"). */
module.exports.SUBPATHS = ['backends',  'io',  'encoders',  'train',  'optimizers',  'schedules',  'datasets',  'adapt',  'models',  'text',  'peft',  'tune'];
