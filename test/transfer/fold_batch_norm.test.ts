/**
 * Inference-time Conv→BN(→ReLU) folding gives the unfolded outputs (float32 rounding), skips the
 * BN and activation kernels, leaves training calls and models that share the layers alone, and
 * leaks no tensors. On cpu and wasm.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/index.js';
import { foldBatchNormForInference, setInferenceFolding } from '../../src/layers/fold_batch_norm.js';
import { prepareModel } from '../../src/layers/prepare_model.js';
import { relErr } from '../helpers/compare.js';

beforeAll(async () => {
  await useBackend('cpu');
  await useBackend('wasm');
});
afterEach(() => setInferenceFolding(true));

type Sym = tfl.SymbolicTensor;
const seed = (k: number) => tfl.initializers.randomNormal({ mean: 0.5, stddev: 0.4, seed: k });

/** Chains of each kind: conv (no bias) → BN → ReLU6; depthwise → BN → ReLU; conv (bias) → BN;
 *  a BN whose output feeds two layers (BN folded, activation not); a conv that is a model output. */
function model(): { full: tfl.LayersModel; cut: tfl.LayersModel } {
  const bn = (name: string) => tfl.layers.batchNormalization({ name, gammaInitializer: seed(1), betaInitializer: seed(2), movingMeanInitializer: seed(3), movingVarianceInitializer: tfl.initializers.randomUniform({ minval: 0.5, maxval: 2, seed: 4 }) });
  const inp = tfl.input({ shape: [9, 9, 3] });
  let h = tfl.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', useBias: false, kernelInitializer: seed(5), name: 'c1' }).apply(inp) as Sym;
  h = bn('bn1').apply(h) as Sym;
  h = tfl.layers.reLU({ maxValue: 6, name: 'r1' }).apply(h) as Sym;
  h = tfl.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', useBias: false, depthwiseInitializer: seed(6), name: 'd2' }).apply(h) as Sym;
  const c2 = h;
  h = bn('bn2').apply(h) as Sym;
  h = tfl.layers.reLU({ name: 'r2' }).apply(h) as Sym;
  h = tfl.layers.conv2d({ filters: 6, kernelSize: 1, useBias: true, kernelInitializer: seed(7), biasInitializer: seed(8), name: 'c3' }).apply(h) as Sym;
  const b3 = bn('bn3').apply(h) as Sym;
  const a = tfl.layers.activation({ activation: 'relu', name: 'a3' }).apply(b3) as Sym;
  const sum = tfl.layers.add({ name: 'skip' }).apply([a, b3]) as Sym; // bn3's output has two consumers
  const out = tfl.layers.globalAveragePooling2d({ name: 'gap' }).apply(sum) as Sym;
  const full = tfl.model({ inputs: inp, outputs: out });
  const cut = tfl.model({ inputs: inp, outputs: c2 }); // ends at a conv that full folds
  return { full, cut };
}

describe('inference folding of Conv → BN (→ ReLU)', () => {
  for (const backend of ['cpu', 'wasm']) {
    it(`${backend}: same predictions and apply() outputs as unfolded, no BN/activation kernels, no leaks`, async () => {
      tf.setBackend(backend);
      const { full, cut } = model();
      prepareModel(full);
      prepareModel(cut);
      const x = tf.randomNormal([2, 9, 9, 3], 0, 1, 'float32', 11);
      setInferenceFolding(false);
      const ref = (full.predict(x) as tf.Tensor).dataSync().slice();
      const refCut = (cut.predict(x) as tf.Tensor).dataSync().slice();
      setInferenceFolding(true);
      const before = tf.memory().numTensors;
      const got = tf.tidy(() => (full.predict(x) as tf.Tensor).dataSync().slice());
      const gotApply = tf.tidy(() => (full.apply(x, { training: false }) as tf.Tensor).dataSync().slice());
      expect(tf.memory().numTensors).toBe(before);
      expect(relErr(ref, got)).toBeLessThan(1e-5);
      expect(relErr(ref, gotApply)).toBeLessThan(1e-5);
      // The cut model shares c1/bn1/r1/d2 but ends at d2: it must not get bn2's result.
      const gotCut = (cut.predict(x) as tf.Tensor).dataSync();
      expect(relErr(refCut, gotCut)).toBeLessThan(1e-5);
      // Unfolded, 3 BN kernels and a clip run; folded, none (bn3 folds too: only its activation,
      // whose input has two consumers, stays a separate kernel).
      const kernels = async (on: boolean) => {
        setInferenceFolding(on);
        return (await tf.profile(() => full.predict(x) as tf.Tensor)).kernels.map((k) => k.name);
      };
      const unfolded = await kernels(false);
      expect(unfolded.filter((n) => n === 'FusedBatchNorm')).toHaveLength(3);
      expect(unfolded).toContain('ClipByValue');
      const folded = await kernels(true);
      expect(folded).not.toContain('FusedBatchNorm');
      expect(folded).not.toContain('ClipByValue');
    });
  }

  it('training calls and gradient tapes run unfolded (gradients identical with folding on and off)', () => {
    tf.setBackend('cpu');
    const x = tf.randomNormal([2, 9, 9, 3], 0, 1, 'float32', 12);
    // A fresh (identically seeded) model per run: the training call updates BN's moving statistics.
    const grads = (on: boolean) => {
      const { full } = model();
      prepareModel(full);
      setInferenceFolding(on);
      return tf.tidy(() => {
        const f = (xi: tf.Tensor) => tf.sum(full.apply(xi, { training: false }) as tf.Tensor);
        const g = tf.grad(f)(x);
        const { grads: gv } = tf.variableGrads(() => tf.sum(full.apply(x, { training: true }) as tf.Tensor) as tf.Scalar);
        return [g, ...Object.keys(gv).sort().map((k) => gv[k])].map((t) => t.dataSync().slice());
      });
    };
    const off = grads(false);
    const on = grads(true);
    on.forEach((g, i) => expect(Array.from(g)).toEqual(Array.from(off[i])));
  });

  it('a model can turn folding off for itself alone; others keep the process-wide default', async () => {
    tf.setBackend('cpu');
    const a = model().full;
    const b = model().full;
    prepareModel(a);
    prepareModel(b);
    const x = tf.randomNormal([2, 9, 9, 3], 0, 1, 'float32', 12);
    const kernels = async (m: tfl.LayersModel) => (await tf.profile(() => m.predict(x) as tf.Tensor)).kernels.map((k) => k.name);
    setInferenceFolding(false, a);
    expect((await kernels(a)).filter((n) => n === 'FusedBatchNorm')).toHaveLength(3);
    expect(await kernels(b)).not.toContain('FusedBatchNorm');
    setInferenceFolding(true, a);
    expect(await kernels(a)).not.toContain('FusedBatchNorm');
    // A model's own setting wins over the process-wide one.
    setInferenceFolding(false);
    expect(await kernels(a)).not.toContain('FusedBatchNorm');
    expect((await kernels(b)).filter((n) => n === 'FusedBatchNorm')).toHaveLength(3);
  });

  it('is idempotent and keeps layer classes and configs', () => {
    tf.setBackend('cpu');
    const { full } = model();
    foldBatchNormForInference(full);
    const call = (full.getLayer('c1') as unknown as { call: unknown }).call;
    foldBatchNormForInference(full);
    expect((full.getLayer('c1') as unknown as { call: unknown }).call).toBe(call);
    expect(full.getLayer('bn1').getClassName()).toBe('BatchNormalization');
    expect(JSON.stringify(full.toJSON(null, false))).not.toMatch(/fold/i);
  });

  it('execute() of intermediate tensors returns their own values (chains read inside are not folded past them)', () => {
    tf.setBackend('cpu');
    const { full } = model();
    prepareModel(full);
    const x = tf.randomNormal([2, 9, 9, 3], 0, 1, 'float32', 13);
    // d2 is read at its convolution (its BN and ReLU fold in predict), bn1 at its BN (r1 folds in predict).
    const names = ['d2', 'bn1', 'gap'].map((n) => (full.getLayer(n).output as tfl.SymbolicTensor).name);
    const run = (on: boolean) => {
      setInferenceFolding(on);
      return tf.tidy(() => (full.execute(x, names) as tf.Tensor[]).map((t) => t.dataSync().slice()));
    };
    const ref = run(false);
    const got = run(true);
    names.forEach((n, i) => expect(relErr(ref[i], got[i]), n).toBeLessThan(1e-5));
    x.dispose();
  });
});
