/**
 * ResNet50 (v1) exactly as `keras.applications.ResNet50`: layer names `conv1_pad`, `conv1_conv`,
 * `conv1_bn`, `conv1_relu`, `pool1_pad`, `pool1_pool`, `conv{s}_block{b}_{0..3}_{conv,bn}`,
 * `..._{1,2}_relu`, `..._add`, `..._out`, `avg_pool`, `predictions`; convolutions with biases,
 * BatchNorm epsilon 1.001e-5. 23,587,712 parameters without the top, 25,636,712 with.
 * Reference: He et al. 2015, https://arxiv.org/abs/1512.03385 (Keras' `resnet.py`, `block1`).
 */
import * as tfl from '@tensorflow/tfjs-layers';
import type { BuildOptions, Sym } from './_util.js';

export function resnet50(options: BuildOptions = {}): tfl.LayersModel {
  const { includeTop = true, inputShape = [224, 224, 3], classes = 1000, pooling = null, seed } = options;
  let k = 0;
  const init = () => tfl.initializers.glorotUniform(seed === undefined ? {} : { seed: seed + k++ });
  const conv = (x: Sym, filters: number, size: number, strides: number, name: string, padding: 'same' | 'valid' = 'valid') =>
    tfl.layers.conv2d({ filters, kernelSize: size, strides, padding, kernelInitializer: init(), name }).apply(x) as Sym;
  const bn = (x: Sym, name: string) => tfl.layers.batchNormalization({ axis: 3, epsilon: 1.001e-5, name }).apply(x) as Sym;
  const relu = (x: Sym, name: string) => tfl.layers.activation({ activation: 'relu', name }).apply(x) as Sym;

  /** Keras `block1`: bottleneck with a projection shortcut when `convShortcut`. */
  const block = (x: Sym, filters: number, stride: number, convShortcut: boolean, name: string): Sym => {
    const shortcut = convShortcut ? bn(conv(x, 4 * filters, 1, stride, `${name}_0_conv`), `${name}_0_bn`) : x;
    let y = relu(bn(conv(x, filters, 1, stride, `${name}_1_conv`), `${name}_1_bn`), `${name}_1_relu`);
    y = relu(bn(conv(y, filters, 3, 1, `${name}_2_conv`, 'same'), `${name}_2_bn`), `${name}_2_relu`);
    y = bn(conv(y, 4 * filters, 1, 1, `${name}_3_conv`), `${name}_3_bn`);
    y = tfl.layers.add({ name: `${name}_add` }).apply([shortcut, y]) as Sym;
    return relu(y, `${name}_out`);
  };

  const input = tfl.input({ shape: inputShape, name: 'input_1' });
  let x = tfl.layers.zeroPadding2d({ padding: [[3, 3], [3, 3]], name: 'conv1_pad' }).apply(input) as Sym;
  x = relu(bn(conv(x, 64, 7, 2, 'conv1_conv'), 'conv1_bn'), 'conv1_relu');
  x = tfl.layers.zeroPadding2d({ padding: [[1, 1], [1, 1]], name: 'pool1_pad' }).apply(x) as Sym;
  x = tfl.layers.maxPooling2d({ poolSize: 3, strides: 2, name: 'pool1_pool' }).apply(x) as Sym;
  for (const [stage, filters, blocks, stride] of [[2, 64, 3, 1], [3, 128, 4, 2], [4, 256, 6, 2], [5, 512, 3, 2]] as const) {
    x = block(x, filters, stride, true, `conv${stage}_block1`);
    for (let b = 2; b <= blocks; b++) x = block(x, filters, 1, false, `conv${stage}_block${b}`);
  }
  if (includeTop) {
    x = tfl.layers.globalAveragePooling2d({ name: 'avg_pool' }).apply(x) as Sym;
    x = tfl.layers.dense({ units: classes, activation: 'softmax', kernelInitializer: init(), name: 'predictions' }).apply(x) as Sym;
  } else if (pooling === 'avg') x = tfl.layers.globalAveragePooling2d({ name: 'avg_pool' }).apply(x) as Sym;
  else if (pooling === 'max') x = tfl.layers.globalMaxPooling2d({ name: 'max_pool' }).apply(x) as Sym;
  return tfl.model({ inputs: input, outputs: x, name: 'resnet50' });
}
