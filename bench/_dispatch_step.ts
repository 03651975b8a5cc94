/**
 * Dispatches of one warm training step (Adam, every layer trained, fixed random batch) and one
 * inference batch of a model with a new 10-class head, on the webgpu backend that is already
 * active. Shared by `bench/webgpu-dispatches.ts` and the dispatch test's child process
 * (test/backends/child/webgpu_dispatch_child.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { replaceHead, unfreeze, type PretrainedModel } from '../src/index.js';
import { Adam } from '../src/entries/optimizers.js';
import { countGpuDispatches, type GpuDispatchCounts } from '../src/entries/backends.js';
import { trainStepAsync } from '../src/train/train_step.js';

export interface StepDispatches {
  variables: number;
  train: GpuDispatchCounts;
  infer: GpuDispatchCounts;
  /** Tensors alive before and after the counted step (equal: no leak through the kernels). */
  tensorsBefore: number;
  tensorsAfter: number;
}

export async function countStepDispatches(base: PretrainedModel, size: number, batch: number): Promise<StepDispatches> {
  const m = replaceHead(base, { numClasses: 10, dropout: 0, seed: 1 });
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
  tf.dispose([x, y]);
  opt.dispose();
  m.model.dispose();
  return { variables: vars.length, train, infer, tensorsBefore, tensorsAfter };
}
