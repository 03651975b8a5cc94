/**
 * Counts the GPU dispatches of one warm training step and one inference batch of a real model on
 * webgpu, and prints them as one JSON line. A child process because on llvmpipe (CI) TF.js's
 * synchronous pipeline compiles and dispatches block the event loop for 6–30 s per step: inside a
 * vitest worker that starves vitest's RPC (see test/helpers/run.ts). MODEL: 'mobilenet_v2' (DIR:
 * the nsfwjs MobileNetV2 1.0 folder) or 'resnet50' (fresh seeded weights).
 */
import * as tf from '@tensorflow/tfjs-core';
import { loadPretrained, replaceHead, unfreeze, useBackend } from '../../../src/index.js';
import { Adam } from '../../../src/entries/optimizers.js';
import { countGpuDispatches } from '../../../src/entries/backends.js';
import { trainStepAsync } from '../../../src/train/train_step.js';

const model = process.env.MODEL;
try {
  await useBackend('webgpu');
} catch (err) {
  console.log(JSON.stringify({ skip: (err as Error).message }));
  process.exit(0);
}
const [load, size, batch] =
  model === 'mobilenet_v2'
    ? [() => loadPretrained(process.env.DIR as string, { inputShape: [224, 224, 3], cutAt: 'out_relu' }), 224, 2]
    : [() => loadPretrained('resnet50', { weights: null, seed: 1, inputShape: [96, 96, 3] }), 96, 1];
const m = replaceHead(await load(), { numClasses: 10, dropout: 0, seed: 1 });
unfreeze(m, 'all');
const x = tf.randomNormal([batch, size, size, 3], 0, 1, 'float32', 1);
const y = tf.oneHot(tf.tensor1d(Int32Array.from({ length: batch }, (_, i) => i % 10), 'int32'), 10);
const vars = m.model.trainableWeights.map((w) => w.read() as tf.Variable);
const opt = new Adam(vars, { learningRate: 1e-4 });
const step = () => trainStepAsync({ model: m.model, from: 0, x, y, vars, optimizer: opt });
await step(); // creates the optimizer's slots
const tensorsBefore = tf.memory().numTensors;
const train = (await countGpuDispatches(step)).counts;
const tensorsAfter = tf.memory().numTensors;
const infer = (
  await countGpuDispatches(async () => {
    const out = tf.tidy(() => tf.sum(m.model.apply(x, { training: false }) as tf.Tensor));
    await out.data();
    out.dispose();
  })
).counts;
console.log(JSON.stringify({ vars: vars.length, train, infer, tensorsBefore, tensorsAfter }));
