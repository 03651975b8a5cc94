/**
 * The page client of the consumer matrix, bundled by Vite and by esbuild from the installed
 * package with no configuration: the wasm backend starts with no wasmPaths (its binary comes
 * from transferkit's own chunks), a zoo ResNet18 built offline gets a new head and trains in
 * the page. Publishes what it saw on window.__result.
 */
import { evaluate, fineTune, loadPretrained, replaceHead, tf, useBackend, LRSchedule } from 'transferkit/browser';
// Subpath entries through the "browser" condition: their page builds, sharing the core's classes.
import { CosineDecay } from 'transferkit/schedules';
import { TextTokenizer } from 'transferkit/text';

function images(perClass, seed) {
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0) / 4294967296);
  const n = 2 * perClass;
  const px = new Float32Array(n * 32 * 32 * 3);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = i % 2;
    const level = labels[i] === 0 ? -0.6 : 0.6;
    for (let k = 0; k < 3072; k++) px[i * 3072 + k] = level + 0.6 * (rnd() - 0.5);
  }
  return { xs: tf.tensor4d(px, [n, 32, 32, 3]), labels, classNames: ['dark', 'bright'] };
}

async function main() {
  const info = await useBackend('wasm');
  const base = await loadPretrained('resnet18.tv_in1k', { weights: null, seed: 1, inputShape: [32, 32, 3] });
  const model = replaceHead(base, { numClasses: 2, classNames: ['dark', 'bright'] });
  const tensorsPerEpoch = [];
  const schedule = new CosineDecay(1, 10);
  const tokens = TextTokenizer.fromVocab(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'good']).encode('good').inputIds;
  const subpaths = { sharedClasses: schedule instanceof LRSchedule, halfway: schedule.at(5), tokens };
  const { history } = await fineTune(model, images(16, 1), {
    recipe: 'feature-extraction', headEpochs: 6, headLearningRate: 1e-2, batchSize: 8, seed: 3, progress: 'silent',
    callbacks: [{ onEpochEnd: () => void tensorsPerEpoch.push(tf.memory().numTensors) }],
  });
  const { accuracy } = await evaluate(model, images(8, 2));
  const x = tf.tensor2d([[1, 5], [7, 2]]);
  return { ok: true, backend: info.name, simd: info.simd, canTrain: info.canTrain, losses: history.map((h) => h.loss), accuracy, tensorsPerEpoch, chained: Array.from(x.argMax(-1).dataSync()), subpaths };
}

main().then(
  (r) => { window.__result = r; document.getElementById('status').textContent = 'done'; },
  (err) => { window.__result = { ok: false, error: String(err && err.stack || err) }; },
);
