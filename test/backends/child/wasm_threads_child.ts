/**
 * Child process of wasm_threads.test.ts (the wasm thread count is fixed per process): starts wasm
 * with TRANSFERKIT_WASM_THREADS threads, runs a convolution, a matrix product and a training step's
 * gradients, and prints one JSON line with the thread count and the values.
 */
import * as tf from '@tensorflow/tfjs-core';
import { backendInfo, useBackend } from '../../../src/index.js';

const info = await useBackend('wasm');
const x = tf.randomNormal([4, 33, 31, 24], 0, 1, 'float32', 1) as tf.Tensor4D;
const f = tf.randomNormal([3, 3, 24, 40], 0, 1, 'float32', 2) as tf.Tensor4D;
const a = tf.randomNormal([257, 300], 0, 1, 'float32', 3) as tf.Tensor2D;
const b = tf.randomNormal([300, 129], 0, 1, 'float32', 4) as tf.Tensor2D;
const conv = tf.conv2d(x, f, 2, 'same');
const mm = tf.matMul(a, b);
// Gradients of a conv + dense loss: the backward kernels transferkit registers run on the pool too.
const grads = tf.grads((xx: tf.Tensor, ff: tf.Tensor) => tf.sum(tf.square(tf.relu(tf.conv2d(xx as tf.Tensor4D, ff as tf.Tensor4D, 1, 'same')))))([x, f]);
let again: string | null = null;
try {
  await useBackend('wasm', { threads: info.threads === 1 ? 2 : 1 });
} catch (err) {
  again = (err as Error).message;
}
console.log(JSON.stringify({
  threads: backendInfo().threads,
  conv: Array.from(await conv.data()),
  mm: Array.from(await mm.data()),
  gx: Array.from(await grads[0].data()),
  gf: Array.from(await grads[1].data()),
  again,
}));
