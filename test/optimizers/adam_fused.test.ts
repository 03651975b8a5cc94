/**
 * Adam/AdamW through the fused wasm SIMD kernel (`TkAdamUpdate`) give exactly the composed
 * update's values (on cpu): same float32 operations in the same order, so bit-identical, over
 * several steps, with and without weight decay, sizes that leave a scalar tail.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/index.js';
import { Adam, AdamW, type Optimizer } from '../../src/entries/optimizers.js';
import { AdamUpdate } from '../../src/kernel_names.js';
import { simdKernels } from '../../src/backends/wasm/simd/simd_kernels.js';

beforeAll(async () => {
  await useBackend('cpu');
  await useBackend('wasm');
});

let runId = 0;
function run(backend: string, make: (vars: tf.Variable[]) => Optimizer, sizes: number[]): { params: Float32Array[]; initial: Float32Array[]; slots: number } {
  tf.setBackend(backend);
  const vars = sizes.map((n, i) => tf.variable(tf.randomNormal([n], 0, 1, 'float32', 100 + i), true, `adam_fused_${runId++}_${i}`));
  const initial = vars.map((v) => Float32Array.from(v.dataSync()));
  const opt = make(vars);
  const before = tf.memory().numTensors;
  let after = before;
  for (let step = 0; step < 4; step++) {
    // Seeds from 1 (TF.js treats seed 0 as unseeded). Gradients of scales 0.1 to 100, so sqrt(v) and the divisions see a range.
    const grads = Object.fromEntries(vars.map((v, i) => [v.name, tf.tidy(() => tf.mul(tf.randomNormal(v.shape, 0, 1, 'float32', 1 + 10 * step + i), tf.scalar(10 ** (i - 1))))]));
    opt.step(grads);
    Object.values(grads).forEach((g) => g.dispose());
    if (step === 0) after = tf.memory().numTensors; // slots are created at the first step
  }
  const slots = tf.memory().numTensors - after;
  const params = vars.map((v) => Float32Array.from(v.dataSync()));
  vars.forEach((v) => v.dispose());
  return { params, initial, slots };
}

describe('fused Adam on wasm', () => {
  it('the SIMD kernel is registered and active on wasm', () => {
    tf.setBackend('wasm');
    expect(tf.getKernel(AdamUpdate, 'wasm')).toBeDefined();
    expect(simdKernels(tf.backend())).not.toBeNull();
  });

  const sizes = [1, 7, 1030, 64];
  const cases: [string, (vars: tf.Variable[]) => Optimizer][] = [
    ['Adam', (v) => new Adam(v, { learningRate: 1e-2 })],
    ['Adam, coupled weight decay 0.1', (v) => new Adam(v, { learningRate: 3e-3, weightDecay: 0.1 })],
    ['AdamW, decoupled weight decay 0.05, betas [0.8, 0.99]', (v) => new AdamW(v, { learningRate: 1e-2, weightDecay: 0.05, betas: [0.8, 0.99] })],
  ];
  for (const [name, make] of cases) {
    it(`${name}: wasm SIMD equals the composed update bit for bit, no tensor growth`, () => {
      const ref = run('cpu', make, sizes);
      const got = run('wasm', make, sizes);
      got.params.forEach((p, i) => {
        expect(p.length).toBe(sizes[i]);
        // The parameters moved (a kernel that did nothing would fail here), exactly as on cpu.
        expect(p.every((x, j) => x !== got.initial[i][j])).toBe(true);
        expect(Array.from(p), `parameter ${i}`).toEqual(Array.from(ref.params[i]));
      });
      expect(got.slots).toBe(0);
    });
  }
});
