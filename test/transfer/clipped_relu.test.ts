/**
 * ReLU(maxValue) layers patched to one clip forward + one gradient kernel compute exactly what
 * tfjs-layers' relu-then-clip composition computes (values; gradients up to the sign of zeros),
 * edges included (x = 0, x = max), on cpu and on wasm (SIMD kernel).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/index.js';
import { fuseClippedRelu } from '../../src/layers/clipped_relu.js';

beforeAll(async () => {
  await useBackend('cpu');
  await useBackend('wasm');
});

function model(): tfl.LayersModel {
  const inp = tfl.input({ shape: [10] });
  const h = tfl.layers.reLU({ maxValue: 6, name: 'relu6' }).apply(inp) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ units: 3, kernelInitializer: tfl.initializers.glorotUniform({ seed: 4 }), name: 'fc' }).apply(h) as tfl.SymbolicTensor;
  return tfl.model({ inputs: inp, outputs: out });
}

/** +0 and -0 read alike; NaN as a string so toEqual compares it. */
const norm = (a: Float32Array) => Array.from(a, (v) => (Number.isNaN(v) ? 'NaN' : v === 0 ? 0 : v));

describe('fused ReLU(maxValue)', () => {
  for (const backend of ['cpu', 'wasm']) {
    it(`equals relu-then-clip on ${backend}: outputs and input/weight gradients, x = 0 and x = 6 included`, () => {
      tf.setBackend(backend);
      // Rows with exact edges (0, 6), negatives, above max, plus random values.
      const edge = [0, 6, -0, -1, 3, 6.5, 1e-7, -1e-7, 5.999999, 100];
      const xv = [...edge, ...Array.from(tf.randomNormal([30], 3, 4, 'float32', 9).dataSync())];
      const run = (fused: boolean) => {
        const m = model();
        if (fused) fuseClippedRelu(m);
        const out = tf.tidy(() => {
          const x = tf.tensor2d(xv, [4, 10]);
          const w = tf.randomNormal([4, 3], 0, 1, 'float32', 5);
          const f = (xi: tf.Tensor) => tf.sum(tf.mul(m.apply(xi, { training: true }) as tf.Tensor, w));
          const { grads } = tf.variableGrads(() => f(x) as tf.Scalar);
          return [m.predict(x) as tf.Tensor, tf.grad(f)(x), ...Object.keys(grads).sort().map((k) => grads[k])].map((t) => Float32Array.from(t.dataSync()));
        });
        m.dispose();
        return out;
      };
      const ref = run(false);
      const before = tf.memory().numTensors;
      const got = run(true);
      expect(tf.memory().numTensors).toBe(before);
      expect(got.length).toBe(ref.length);
      ref.forEach((r, i) => expect(norm(got[i]), `output ${i}`).toEqual(norm(r)));
      // The gradient really is masked at x = 0 (relu's step) and passed at x = 6 (clip's <=).
      const dx = got[1];
      expect(dx[0]).toBe(0);
      expect(dx[1]).not.toBe(0);
    });
  }

  it('patches only ReLU layers with a maxValue, once, and keeps the saved config stock', () => {
    tf.setBackend('cpu');
    const inp = tfl.input({ shape: [4] });
    const a = tfl.layers.reLU({ name: 'plain' }).apply(inp) as tfl.SymbolicTensor;
    const b = tfl.layers.reLU({ maxValue: 6, name: 'six' }).apply(a) as tfl.SymbolicTensor;
    const m = tfl.model({ inputs: inp, outputs: b });
    const plainCall = (m.getLayer('plain') as unknown as { call: unknown }).call;
    fuseClippedRelu(m);
    const sixCall = (m.getLayer('six') as unknown as { call: unknown }).call;
    fuseClippedRelu(m);
    expect((m.getLayer('plain') as unknown as { call: unknown }).call).toBe(plainCall);
    expect((m.getLayer('six') as unknown as { call: unknown }).call).toBe(sixCall);
    expect(m.getLayer('six').getConfig().maxValue).toBe(6);
    expect(m.getLayer('six').getClassName()).toBe('ReLU');
    m.dispose();
  });
});
