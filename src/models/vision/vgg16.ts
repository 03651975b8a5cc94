/**
 * VGG16 exactly as `keras.applications.VGG16` (layer names `block{b}_conv{i}`, `block{b}_pool`,
 * `flatten`, `fc1`, `fc2`, `predictions`): 14,714,688 parameters without the top, 138,357,544 with.
 * Reference: Simonyan & Zisserman 2014, https://arxiv.org/abs/1409.1556 (configuration D).
 */
import * as tfl from '@tensorflow/tfjs-layers';
import type { BuildOptions, Sym } from './_util.js';

export function vgg16(options: BuildOptions = {}): tfl.LayersModel {
  const { includeTop = true, inputShape = [224, 224, 3], classes = 1000, pooling = null, seed } = options;
  const init = (k: number) => tfl.initializers.glorotUniform(seed === undefined ? {} : { seed: seed + k });
  const input = tfl.input({ shape: inputShape, name: 'input_1' });
  let x: Sym = input;
  let k = 0;
  for (const [block, filters, convs] of [[1, 64, 2], [2, 128, 2], [3, 256, 3], [4, 512, 3], [5, 512, 3]] as const) {
    for (let i = 1; i <= convs; i++) {
      x = tfl.layers.conv2d({ filters, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(k++), name: `block${block}_conv${i}` }).apply(x) as Sym;
    }
    x = tfl.layers.maxPooling2d({ poolSize: 2, strides: 2, name: `block${block}_pool` }).apply(x) as Sym;
  }
  if (includeTop) {
    x = tfl.layers.flatten({ name: 'flatten' }).apply(x) as Sym;
    x = tfl.layers.dense({ units: 4096, activation: 'relu', kernelInitializer: init(k++), name: 'fc1' }).apply(x) as Sym;
    x = tfl.layers.dense({ units: 4096, activation: 'relu', kernelInitializer: init(k++), name: 'fc2' }).apply(x) as Sym;
    x = tfl.layers.dense({ units: classes, activation: 'softmax', kernelInitializer: init(k), name: 'predictions' }).apply(x) as Sym;
  } else if (pooling === 'avg') x = tfl.layers.globalAveragePooling2d({ name: 'global_average_pooling2d' }).apply(x) as Sym;
  else if (pooling === 'max') x = tfl.layers.globalMaxPooling2d({ name: 'global_max_pooling2d' }).apply(x) as Sym;
  return tfl.model({ inputs: input, outputs: x, name: 'vgg16' });
}
