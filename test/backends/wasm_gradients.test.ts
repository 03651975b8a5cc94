/**
 * The gradients transferkit's wasm kernels produce equal the cpu backend's (reference) within
 * 1e-4 relative, for the building blocks of the zoo's models.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/index.js';
import { relErr, values, worstGradError } from '../helpers/compare.js';

type Sym = tfl.SymbolicTensor;
const init = (seed: number) => tfl.initializers.glorotUniform({ seed });

function invertedResidual(): tfl.LayersModel {
  const inp = tfl.input({ shape: [12, 12, 8] });
  let x = tfl.layers.conv2d({ filters: 24, kernelSize: 1, useBias: false, kernelInitializer: init(1), name: 'expand' }).apply(inp) as Sym;
  x = tfl.layers.batchNormalization({ name: 'expand_BN' }).apply(x) as Sym;
  x = tfl.layers.reLU({ maxValue: 6 }).apply(x) as Sym;
  x = tfl.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', useBias: false, depthwiseInitializer: init(2), name: 'depthwise' }).apply(x) as Sym;
  x = tfl.layers.batchNormalization({ name: 'depthwise_BN' }).apply(x) as Sym;
  x = tfl.layers.reLU({ maxValue: 6 }).apply(x) as Sym;
  x = tfl.layers.conv2d({ filters: 8, kernelSize: 1, useBias: false, kernelInitializer: init(3), name: 'project' }).apply(x) as Sym;
  x = tfl.layers.batchNormalization({ name: 'project_BN' }).apply(x) as Sym;
  x = tfl.layers.add().apply([x, inp]) as Sym;
  // A strided depthwise stage, as MobileNetV2's downsampling blocks.
  x = tfl.layers.zeroPadding2d({ padding: [[0, 1], [0, 1]] }).apply(x) as Sym;
  x = tfl.layers.depthwiseConv2d({ kernelSize: 3, strides: 2, padding: 'valid', depthMultiplier: 2, depthwiseInitializer: init(4) }).apply(x) as Sym;
  return tfl.model({ inputs: inp, outputs: x });
}

function resnetBlock(): tfl.LayersModel {
  const inp = tfl.input({ shape: [10, 10, 8] });
  let x = tfl.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', kernelInitializer: init(5) }).apply(inp) as Sym;
  x = tfl.layers.batchNormalization().apply(x) as Sym;
  x = tfl.layers.activation({ activation: 'relu' }).apply(x) as Sym;
  x = tfl.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', kernelInitializer: init(6) }).apply(x) as Sym;
  x = tfl.layers.add().apply([x, inp]) as Sym;
  x = tfl.layers.activation({ activation: 'relu' }).apply(x) as Sym;
  const down = tfl.layers.conv2d({ filters: 16, kernelSize: 1, strides: 2, kernelInitializer: init(7) }).apply(x) as Sym;
  let y = tfl.layers.conv2d({ filters: 16, kernelSize: 3, strides: 2, padding: 'same', kernelInitializer: init(8) }).apply(x) as Sym;
  y = tfl.layers.add().apply([y, down]) as Sym;
  return tfl.model({ inputs: inp, outputs: y });
}

function vggBlock(): tfl.LayersModel {
  const inp = tfl.input({ shape: [16, 16, 3] });
  let x = tfl.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(9) }).apply(inp) as Sym;
  x = tfl.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(10) }).apply(x) as Sym;
  x = tfl.layers.maxPooling2d({ poolSize: 2, strides: 2 }).apply(x) as Sym;
  x = tfl.layers.flatten().apply(x) as Sym;
  x = tfl.layers.dense({ units: 5, kernelInitializer: init(11) }).apply(x) as Sym;
  return tfl.model({ inputs: inp, outputs: x });
}

function batchNormOnly(): tfl.LayersModel {
  const inp = tfl.input({ shape: [6, 6, 4] });
  const x = tfl.layers.batchNormalization({ gammaInitializer: 'randomNormal', betaInitializer: 'randomNormal' }).apply(inp) as Sym;
  return tfl.model({ inputs: inp, outputs: x });
}

/** Embedding lookup + single-head scaled dot-product self-attention, the core of a BERT layer. */
function embeddingAttention(): { run: (ids: tf.Tensor2D) => tf.Tensor; vars: tf.Variable[] } {
  const v = (shape: number[], seed: number) => tf.variable(tf.randomNormal(shape, 0, 0.2, 'float32', seed));
  const emb = v([50, 16], 12);
  const wq = v([16, 16], 13);
  const wk = v([16, 16], 14);
  const wv = v([16, 16], 15);
  const run = (ids: tf.Tensor2D) => {
    const [b, t] = ids.shape;
    const h = tf.reshape(tf.gather(emb, tf.reshape(ids, [-1])), [b * t, 16]);
    // Project as 2-D matmuls: matMul's gradient fails on broadcast batch dims (NOTES-runtime).
    const q = tf.reshape(tf.matMul(h, wq), [b, t, 16]);
    const k = tf.reshape(tf.matMul(h, wk), [b, t, 16]);
    const val = tf.reshape(tf.matMul(h, wv), [b, t, 16]);
    const att = tf.softmax(tf.div(tf.matMul(q, k, false, true), Math.sqrt(16)));
    return tf.matMul(att, val);
  };
  return { run, vars: [emb, wq, wk, wv] };
}

function layerGrads(model: tfl.LayersModel, x: tf.Tensor, backend: string): Float32Array[] {
  tf.setBackend(backend);
  return tf.tidy(() => {
    const { grads } = tf.variableGrads(() => {
      const y = model.apply(x, { training: true }) as tf.Tensor;
      // A non-trivial loss so every gradient element differs.
      return tf.sum(tf.mul(tf.square(y), tf.sin(tf.reshape(tf.range(0, y.size), y.shape))));
    });
    return Object.keys(grads).sort().map((k) => values(grads[k]));
  });
}

beforeAll(async () => {
  await useBackend('cpu');
  await useBackend('wasm');
});

describe('wasm gradients equal cpu gradients (1e-4 relative)', () => {
  const blocks: [string, () => tfl.LayersModel, number[]][] = [
    ['MobileNetV2 inverted residual + strided depthwise (multiplier 2)', invertedResidual, [3, 12, 12, 8]],
    ['ResNet block with add() and strided projection', resnetBlock, [3, 10, 10, 8]],
    ['VGG block with max pooling', vggBlock, [3, 16, 16, 3]],
    ['BatchNormalization', batchNormOnly, [4, 6, 6, 4]],
  ];
  for (const [name, build, shape] of blocks) {
    it(name, () => {
      tf.setBackend('cpu');
      const model = build();
      const x = tf.randomNormal(shape, 0, 1, 'float32', 99);
      const ref = layerGrads(model, x, 'cpu');
      const got = layerGrads(model, x, 'wasm');
      expect(got.length).toBe(ref.length);
      expect(ref.length).toBeGreaterThan(0);
      expect(worstGradError(ref, got)).toBeLessThan(1e-4);
    });
  }

  it('embedding + attention block (UnsortedSegmentSum)', () => {
    tf.setBackend('cpu');
    const { run, vars } = embeddingAttention();
    const ids = tf.tensor2d([[1, 5, 5, 9], [0, 49, 1, 1]], [2, 4], 'int32');
    const grads = (backend: string) => {
      tf.setBackend(backend);
      return tf.tidy(() => {
        const { grads: g } = tf.variableGrads(() => tf.sum(tf.square(run(ids))), vars);
        return vars.map((v) => values(g[v.name]));
      });
    };
    const ref = grads('cpu');
    const got = grads('wasm');
    ref.forEach((r, i) => expect(relErr(r, got[i])).toBeLessThan(1e-4));
    // Repeated ids must accumulate: row 5 got two contributions, row 2 none.
    expect(Math.max(...Array.from(ref[0].subarray(2 * 16, 3 * 16)).map(Math.abs))).toBe(0);
  });
});
