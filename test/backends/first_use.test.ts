/**
 * No primitive meets TF.js's raw "backend not initialized" error: the synchronous ones throw a
 * coded error saying what to call, the asynchronous ones start the default backend (as
 * useBackend('auto')) on first use. This file's process starts no backend before its tests.
 */
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { backendInfo, fineTune, loadPretrained, predict, replaceHead, type PretrainedModel } from '../../src/index.js';

describe('primitives before useBackend()', () => {
  it('a synchronous primitive throws E_BACKEND_NOT_STARTED naming useBackend()', () => {
    expect((tf.engine() as unknown as { backendName: string | null }).backendName ?? null).toBeNull();
    const call = () => predict({} as PretrainedModel, null as unknown as tf.Tensor);
    expect(call).toThrow(/predict needs a running backend.*await useBackend\(\)/);
    try {
      call();
    } catch (err) {
      expect((err as { code?: string }).code).toBe('E_BACKEND_NOT_STARTED');
    }
  });

  it('an asynchronous primitive starts the default backend (threaded wasm in Node) and training works', async () => {
    const base = await loadPretrained('resnet18.tv_in1k', { weights: null, seed: 1, inputShape: [32, 32, 3] });
    const info = backendInfo();
    expect(info.name).toBe('wasm');
    expect(info.canTrain).toBe(true);
    expect(info.reason).toMatch(/^started on first use \(useBackend\(\) was not called\): auto:/);
    const model = replaceHead(base, { numClasses: 2 });
    const xs = tf.randomUniform([8, 32, 32, 3], -1, 1, 'float32', 3);
    const { history } = await fineTune(model, { xs, labels: Int32Array.from([0, 1, 0, 1, 0, 1, 0, 1]), classNames: ['a', 'b'] }, { recipe: 'full', epochs: 1, batchSize: 4, progress: false });
    expect(Number.isFinite(history[0].loss)).toBe(true);
  });
});
