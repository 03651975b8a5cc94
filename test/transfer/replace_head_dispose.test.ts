/**
 * Many heads on one base (issue 27's leak): each derived model's dispose() frees its head only,
 * the tensor count stays flat over cycles, and base and derived can be disposed in either order.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { predict, replaceHead, useBackend } from '../../src/index.js';
import { tinyPretrained } from '../helpers/tiny_model.js';

describe('replaceHead and dispose', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  it('building and disposing heads on one base is flat, and the base keeps working', async () => {
    const base = await tinyPretrained(1);
    const counts: number[] = [];
    for (let i = 0; i < 5; i++) {
      const m = replaceHead(base, { numClasses: 3, seed: i });
      m.model.dispose();
      counts.push(tf.memory().numTensors);
    }
    expect(new Set(counts).size).toBe(1);
    // The backbone's weights are intact: a new head on it still predicts.
    const m = replaceHead(base, { numClasses: 2, seed: 9 });
    const x = tf.randomUniform([2, 16, 16, 3], 0, 255, 'float32', 1);
    const p = predict(m, x);
    expect(p.shape).toEqual([2, 2]);
    expect(Array.from(p.dataSync()).every(Number.isFinite)).toBe(true);
    tf.dispose([x, p]);
    m.model.dispose();
    base.model.dispose();
  });

  it('base and derived dispose in either order without "already disposed", freeing everything', async () => {
    for (const order of ['base-first', 'derived-first'] as const) {
      const before = tf.memory().numTensors;
      const base = await tinyPretrained(2);
      const a = replaceHead(base, { numClasses: 3, seed: 1 });
      const b = replaceHead(a, { numClasses: 4, seed: 2 });
      const models = order === 'base-first' ? [base, a, b] : [b, a, base];
      for (const m of models) expect(() => m.model.dispose()).not.toThrow();
      expect(tf.memory().numTensors).toBe(before);
    }
  });
});
