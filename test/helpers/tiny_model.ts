import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { loadPretrained, replaceHead, type PretrainedModel, type ReplaceHeadOptions } from '../../src/index.js';
import { fileSystem } from '../../src/io/file_system.js';

type Sym = tfl.SymbolicTensor;

/**
 * A small MobileNet-shaped conv net (conv + BN + relu6, a depthwise block with a residual add,
 * pooling, a Dense head) with seeded weights: fast enough for unit tests on every backend.
 */
export function tinyConvNet(opts: { inputSize?: number; classes?: number; seed?: number } = {}): tfl.LayersModel {
  const { inputSize = 16, classes = 3, seed = 1 } = opts;
  const init = (k: number) => tfl.initializers.glorotUniform({ seed: seed * 100 + k });
  const inp = tfl.input({ shape: [inputSize, inputSize, 3], name: 'input_1' });
  let x = tfl.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', useBias: false, kernelInitializer: init(1), name: 'Conv1' }).apply(inp) as Sym;
  x = tfl.layers.batchNormalization({ name: 'bn_Conv1' }).apply(x) as Sym;
  x = tfl.layers.reLU({ maxValue: 6, name: 'Conv1_relu' }).apply(x) as Sym;
  const skip = x;
  let y = tfl.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', useBias: false, depthwiseInitializer: init(2), name: 'block_1_depthwise' }).apply(x) as Sym;
  y = tfl.layers.batchNormalization({ name: 'block_1_depthwise_BN' }).apply(y) as Sym;
  y = tfl.layers.reLU({ maxValue: 6, name: 'block_1_depthwise_relu' }).apply(y) as Sym;
  y = tfl.layers.conv2d({ filters: 8, kernelSize: 1, useBias: false, kernelInitializer: init(3), name: 'block_1_project' }).apply(y) as Sym;
  y = tfl.layers.batchNormalization({ name: 'block_1_project_BN' }).apply(y) as Sym;
  x = tfl.layers.add({ name: 'block_1_add' }).apply([y, skip]) as Sym;
  x = tfl.layers.conv2d({ filters: 16, kernelSize: 1, useBias: false, kernelInitializer: init(4), name: 'Conv_1' }).apply(x) as Sym;
  x = tfl.layers.batchNormalization({ name: 'Conv_1_bn' }).apply(x) as Sym;
  x = tfl.layers.reLU({ maxValue: 6, name: 'out_relu' }).apply(x) as Sym;
  x = tfl.layers.globalAveragePooling2d({ name: 'global_average_pooling2d' }).apply(x) as Sym;
  x = tfl.layers.dense({ units: classes, activation: 'softmax', kernelInitializer: init(5), name: 'predictions' }).apply(x) as Sym;
  return tfl.model({ inputs: inp, outputs: x, name: 'tiny' });
}

/**
 * Separable synthetic images: class c has a bright patch in colour channel c (position-free, so
 * a global-average-pooled feature can tell the classes apart), over seeded noise.
 */
export function quadrantImages(n: number, size = 16, classes = 3, seed = 7): { xs: tf.Tensor4D; labels: Int32Array; classNames: string[] } {
  return tf.tidy(() => {
    const labels = Int32Array.from({ length: n }, (_, i) => i % classes);
    const noise = tf.randomUniform([n, size, size, 3], -0.3, 0.3, 'float32', seed);
    const q = size / 4;
    const patches = Array.from(labels, (c) => {
      const m = new Float32Array(size * size * 3);
      for (let r = q; r < 3 * q; r++) for (let k = q; k < 3 * q; k++) m[(r * size + k) * 3 + (c % 3)] = 0.8;
      return tf.tensor3d(m, [size, size, 3]);
    });
    const xs = tf.add(noise, tf.stack(patches)) as tf.Tensor4D;
    return { xs, labels, classNames: Array.from({ length: classes }, (_, i) => `class_${i}`) };
  });
}

/**
 * The tiny net saved to a temp folder and loaded back with `loadPretrained` — the path every real
 * model takes (topology flattening, feature layer, BatchNorm patching).
 */
export async function tinyPretrained(seed = 1): Promise<PretrainedModel> {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tk-tiny-')), 'm');
  const net = tinyConvNet({ seed });
  await net.save(fileSystem(dir));
  net.dispose();
  return loadPretrained(dir);
}

/** {@link tinyPretrained} with a fresh 3-class head (seeded). */
export async function tinyHeaded(seed = 1, head: Partial<ReplaceHeadOptions> = {}): Promise<PretrainedModel> {
  return replaceHead(await tinyPretrained(seed), { numClasses: 3, seed, ...head });
}
