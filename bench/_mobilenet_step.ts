/**
 * One full training step of MobileNetV2 (every layer trainable, BatchNorm in mode `bn`, new
 * 10-class head, Adam 1e-4, fixed random batch) on the active backend, for the profiling
 * scripts. The step ends by reading its loss back, so GPU work finishes inside it.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as core from 'transferkit';
import { Adam } from 'transferkit/optimizers';

const tk = { ...core, Adam };
type BatchNormMode = core.BatchNormMode;
import { trainStepPending } from '../src/train/train_step.js';

export async function mobilenetTrainStep(modelDir: string, size: number, batch: number, bn: BatchNormMode = 'train'): Promise<() => Promise<void>> {
  const pm = tk.replaceHead(await tk.loadPretrained(modelDir, { inputShape: [size, size, 3], cutAt: 'out_relu' }), { numClasses: 10, dropout: 0, seed: 1 });
  tk.unfreeze(pm.model, 'all', { bn });
  const x = tf.randomNormal([batch, size, size, 3], 0, 1, 'float32', 1);
  const y = tf.oneHot(tf.tensor1d(Int32Array.from({ length: batch }, (_, i) => i % 10), 'int32'), 10);
  const vars = pm.model.trainableWeights.map((w) => w.read() as tf.Variable);
  const opt = new tk.Adam(vars, { learningRate: 1e-4 });
  return async () => {
    const p = trainStepPending({ model: pm.model, from: 0, x, y, vars, optimizer: opt });
    await p.loss.data();
    tf.dispose([p.loss, p.correct]);
  };
}
