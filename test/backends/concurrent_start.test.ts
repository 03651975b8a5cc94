/**
 * Concurrent first uses share one backend start: two primitives awaited together in a fresh
 * process end on the same backend `useBackend('auto')` picks alone (threaded wasm in Node), not on
 * whichever start TF.js happened to cancel.
 */
import { describe, expect, it } from 'vitest';
import { backendInfo, loadPretrained } from '../../src/index.js';

describe('first use from two calls at once', () => {
  it('starts one backend, the auto choice', async () => {
    const [a, b] = await Promise.all([
      loadPretrained('resnet18.tv_in1k', { weights: null, seed: 1, inputShape: [32, 32, 3] }),
      loadPretrained('resnet18.tv_in1k', { weights: null, seed: 2, inputShape: [32, 32, 3] }),
    ]);
    expect(a.model.layers.length).toBe(b.model.layers.length);
    const info = backendInfo();
    expect(info.name).toBe('wasm');
    expect(info.threads).toBeGreaterThanOrEqual(1);
    expect(info.canTrain).toBe(true);
    expect(info.reason).toMatch(/^started on first use/);
  });
});
