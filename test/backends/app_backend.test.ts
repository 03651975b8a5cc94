/**
 * A backend the application started itself (`tf.setBackend`, no useBackend) is kept, and the first
 * primitive gives it transferkit's training kernels: convolution gradients train on wasm instead of
 * failing with "Kernel 'Conv2DBackpropFilter' not registered".
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { describe, expect, it } from 'vitest';
import { backendInfo, fineTune, loadPretrained, replaceHead } from '../../src/index.js';

describe('a backend started by the application', () => {
  it('is kept, and fineTune trains convolutions on it', async () => {
    expect(await tf.setBackend('wasm')).toBe(true);
    await tf.ready();
    const base = await loadPretrained('resnet18.tv_in1k', { weights: null, seed: 1, inputShape: [32, 32, 3] });
    const model = replaceHead(base, { numClasses: 2 });
    const xs = tf.randomUniform([8, 32, 32, 3], -1, 1, 'float32', 3);
    const { history } = await fineTune(model, { xs, labels: Int32Array.from([0, 1, 0, 1, 0, 1, 0, 1]), classNames: ['a', 'b'] }, { recipe: 'full', epochs: 1, batchSize: 4, progress: false });
    expect(Number.isFinite(history[0].loss)).toBe(true);
    const info = backendInfo();
    expect(info.name).toBe('wasm');
    expect(info.threads).toBe(1); // TF.js's own start: transferkit did not restart it threaded
    expect(info.addedKernels).toContain('Conv2DBackpropFilter');
    expect(info.canTrain).toBe(true);
  });
});
