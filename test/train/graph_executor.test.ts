/**
 * runLayers (activation caches, frozen prefixes, AdaBN) in inference frees each layer's output once
 * its last reader has run, as tfjs-layers' executor does in model.apply(x, { training: false }).
 * Checked against model.apply: same values, no tensors left behind, the input untouched, and a peak
 * of a few layer outputs (before the change runLayers held every output: 1178 MB against apply's
 * 169 MB for MobileNetV2-0.35 at 224 px, batch 32, in a plain Node process).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadPretrained, useBackend } from '../../src/index.js';
import { runLayers } from '../../src/train/graph_executor.js';
import { setInferenceFolding } from '../../src/layers/fold_batch_norm.js';
import { prepareModel } from '../../src/layers/prepare_model.js';
import { tinyConvNet } from '../helpers/tiny_model.js';

beforeAll(async () => {
  await useBackend('wasm');
});

/** Input → dense → dropout (returns its input unchanged in inference) read by two layers, a residual add, a dead branch. */
function branchy(): tfl.LayersModel {
  const x = tfl.input({ shape: [6] });
  const a = tfl.layers.dense({ units: 6, activation: 'relu', kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }), name: 'a' }).apply(x) as tfl.SymbolicTensor;
  const d = tfl.layers.dropout({ rate: 0.5, name: 'drop' }).apply(a) as tfl.SymbolicTensor;
  const b = tfl.layers.dense({ units: 6, kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }), name: 'b' }).apply(d) as tfl.SymbolicTensor;
  tfl.layers.dense({ units: 3, name: 'dead' }).apply(d); // built, never reaches the output
  const s = tfl.layers.add({ name: 'sum' }).apply([d, b]) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ units: 2, activation: 'softmax', kernelInitializer: tfl.initializers.glorotUniform({ seed: 3 }), name: 'out' }).apply(s) as tfl.SymbolicTensor;
  return tfl.model({ inputs: x, outputs: out });
}

describe('runLayers in inference', () => {
  it('equals model.apply on a graph with an identity layer read twice, a residual and a dead branch, and leaves only its output', () => {
    const model = branchy();
    const x = tf.randomNormal([5, 6], 0, 1, 'float32', 4);
    const ref = model.apply(x, { training: false }) as tf.Tensor;
    const before = tf.memory().numTensors;
    const y = runLayers(model, 0, x, model.layers.length - 1, false);
    expect(tf.memory().numTensors).toBe(before + 1);
    expect(x.isDisposed).toBe(false);
    expect(Array.from(y.dataSync())).toEqual(Array.from(ref.dataSync()));
    tf.dispose([x, y, ref]);
    model.dispose();
  });

  it('keeps every intermediate while a gradient tape records (the backward pass needs them)', () => {
    const model = branchy();
    const x = tf.randomNormal([5, 6], 0, 1, 'float32', 5);
    const last = model.layers.length - 1;
    const g = tf.grad((v: tf.Tensor) => tf.sum(runLayers(model, 0, v, last, false)))(x);
    const gRef = tf.grad((v: tf.Tensor) => tf.sum(model.apply(v, { training: false }) as tf.Tensor))(x);
    expect(Math.max(...Array.from(tf.abs(tf.sub(g, gRef)).dataSync()))).toBeLessThan(1e-7);
    tf.dispose([x, g, gRef]);
    model.dispose();
  });

  it('MobileNetV2: same outputs as model.apply, holding a few layer outputs at a time instead of all', async () => {
    const pm = await loadPretrained('mobilenet_v2_0.35_224', { weights: null, includeTop: true, inputShape: [96, 96, 3] });
    const x = tf.randomUniform([8, 96, 96, 3], -1, 1, 'float32', 6);
    const ref = tf.tidy(() => pm.model.apply(x, { training: false }) as tf.Tensor);
    const start = tf.memory().numBytes;
    let y: tf.Tensor | undefined;
    const info = await tf.profile(() => {
      y = tf.tidy(() => runLayers(pm.model, 0, x, pm.model.layers.length - 1, false));
      return y;
    });
    const diff = Math.max(...Array.from(tf.abs(tf.sub(y as tf.Tensor, ref as tf.Tensor)).dataSync()));
    expect(diff).toBeLessThan(1e-6);
    // Bytes of every layer's output for this batch, and of the largest one.
    const sizes = pm.model.layers.map((l) => 8 * 4 * (l.outputShape as number[]).slice(1).reduce((a, b) => a * b, 1));
    const largest = Math.max(...sizes);
    const all = sizes.reduce((a, b) => a + b, 0);
    // Holding every output would need ~all (58 MB here); freeing as it goes, a block's few live outputs.
    expect(info.peakBytes - start).toBeLessThan(4 * largest);
    expect(4 * largest).toBeLessThan(0.6 * all);
    tf.dispose([x, y as tf.Tensor, ref]);
    pm.model.dispose();
  });
});

describe('runLayers with inference folding (models as loadPretrained / replaceHead prepare them)', () => {
  it('stopping inside a Conv → BN → ReLU6 chain returns that layer\'s own output, not the folded chain\'s', () => {
    // Regression: runLayers up to a folded convolution returned conv + BN + ReLU6, so AdaBN
    // re-estimated every BN from its (post-activation) output and the digits demo's from-scratch
    // network fell from 44 % to 15 % test accuracy.
    const model = tinyConvNet({ seed: 5 });
    prepareModel(model);
    // Non-trivial moving statistics, so that BN changes its input.
    for (const l of model.layers.filter((k) => k.getClassName() === 'BatchNormalization')) {
      const [g, b, m, v] = l.getWeights();
      l.setWeights([g, b, tf.fill(m.shape, 0.3), tf.fill(v.shape, 2.5)]);
    }
    const x = tf.randomUniform([4, 16, 16, 3], -1, 1, 'float32', 8);
    const at = (name: string) => model.layers.findIndex((l) => l.name === name);
    const stops = ['Conv1', 'bn_Conv1', 'Conv1_relu', 'block_1_depthwise', 'block_1_depthwise_BN', model.layers[model.layers.length - 1].name];
    const run = (on: boolean) => {
      setInferenceFolding(on);
      try {
        return stops.map((n) => tf.tidy(() => runLayers(model, 0, x, at(n), false).dataSync().slice()));
      } finally {
        setInferenceFolding(true);
      }
    };
    const ref = run(false);
    const got = run(true);
    stops.forEach((n, i) => {
      const diff = Math.max(...got[i].map((v, k) => Math.abs(v - ref[i][k])));
      expect(diff, n).toBeLessThan(1e-5);
    });
    // The convolution's own output has negative values; a folded chain's (after ReLU6) has none.
    expect(Math.min(...got[0])).toBeLessThan(0);
    x.dispose();
    model.dispose();
  });
});
