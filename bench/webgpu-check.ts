/**
 * Correctness of the webgpu backend on the real model: MobileNetV2 alpha 1.0 (every layer
 * trainable, BatchNorm in training mode) gives the same probabilities, the same loss and the same
 * weights after one SGD step on webgpu as on wasm, from the same starting weights.
 *
 *   npx tsx bench/webgpu-check.ts [--model DIR] [--size 96] [--batch 8]
 *
 * Prints one JSON line with the largest differences and `ok`. On a machine without a GPU this runs
 * on Mesa's llvmpipe (slow); on a GPU machine, through Vulkan.
 */
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import * as core from 'transferkit';
import { SGD } from 'transferkit/optimizers';

const tk = { ...core, SGD };
import { trainStepAsync } from '../src/train/train_step.js';
import { preloadWebgpu } from './_webgpu_preload.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({ options: { model: { type: 'string' }, size: { type: 'string', default: '96' }, batch: { type: 'string', default: '8' } } });
const MODEL = values.model ?? path.join(process.env.TRANSFERKIT_ASSETS ?? path.resolve(here, '..', '..', 'shared'), 'models/mobilenet_v2_1.0_224_nsfwjs');
const size = Number(values.size);
const batch = Number(values.batch);

interface Run { probs: Float32Array; loss: number; weights: Float32Array[]; seconds: number }

async function run(backend: 'wasm' | 'webgpu', init: Float32Array[] | null): Promise<{ run: Run; init: Float32Array[] }> {
  await tf.setBackend(backend);
  const pm = tk.replaceHead(await tk.loadPretrained(MODEL, { inputShape: [size, size, 3], cutAt: 'out_relu' }), { numClasses: 10, dropout: 0, seed: 1 });
  tk.unfreeze(pm.model, 'all', { bn: 'train' });
  const start = init ?? (await Promise.all(pm.model.getWeights().map(async (w) => (await w.data()) as Float32Array)));
  if (init !== null) pm.model.setWeights(init.map((w, i) => tf.tensor(w, pm.model.getWeights()[i].shape)));
  const x = tf.randomUniform([batch, size, size, 3], -1, 1, 'float32', 3);
  const y = tf.oneHot(tf.tensor1d(Int32Array.from({ length: batch }, (_, i) => i % 10), 'int32'), 10);
  const p = tf.tidy(() => pm.model.apply(x, { training: false }) as tf.Tensor);
  const probs = (await p.data()) as Float32Array;
  p.dispose();
  const vars = pm.model.trainableWeights.map((w) => w.read() as tf.Variable);
  const t0 = performance.now();
  const { loss } = await trainStepAsync({ model: pm.model, from: 0, x, y, vars, optimizer: new tk.SGD(vars, { learningRate: 0.05 }) });
  const seconds = (performance.now() - t0) / 1000;
  const weights = await Promise.all(pm.model.getWeights().map(async (w) => (await w.data()) as Float32Array));
  tf.dispose([x, y]);
  return { run: { probs, loss, weights, seconds }, init: start };
}

/** ||a - b|| / ||a|| (L2), per weight tensor. */
function rel(a: Float32Array, b: Float32Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += a[i] ** 2;
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-12);
}

async function main(): Promise<void> {
  await tk.useBackend('wasm');
  await preloadWebgpu();
  const info = await tk.useBackend('webgpu');
  const ref = await run('wasm', null);
  const gpu = await run('webgpu', ref.init);
  const probDiff = Math.max(...Array.from(ref.run.probs, (v, i) => Math.abs(v - gpu.run.probs[i])));
  const lossDiff = Math.abs(ref.run.loss - gpu.run.loss);
  const weightRel = Math.max(...ref.run.weights.map((w, i) => rel(w, gpu.run.weights[i])));
  const moved = Math.max(...ref.run.weights.map((w, i) => rel(w, ref.init[i])));
  const ok = probDiff < 1e-4 && lossDiff < 1e-4 * Math.max(1, ref.run.loss) && weightRel < 1e-3 && moved > 1e-4;
  console.log(JSON.stringify({
    check: 'webgpu vs wasm, MobileNetV2 1.0, all layers trainable, BN train mode, one SGD step',
    adapter: info.gpuAdapter, size, batch, lossWasm: ref.run.loss, lossWebgpu: gpu.run.loss,
    maxProbAbsDiff: probDiff, lossAbsDiff: lossDiff, maxWeightRelDiff: weightRel, maxWeightRelChange: moved,
    firstStepSeconds: { wasm: Number(ref.run.seconds.toFixed(2)), webgpu: Number(gpu.run.seconds.toFixed(2)) }, ok,
  }));
  if (!ok) process.exitCode = 1;
}

void main();
