/**
 * MobileNetV2 at any width `alpha`, exactly as `keras.applications.MobileNetV2` in the layout of
 * the Keras 2 exports TF.js models are made from (`Conv1_pad` + valid `Conv1`; `block_{i}_pad`
 * before stride-2 depthwise convolutions; names `expanded_conv_*`, `block_{i}_{expand,depthwise,
 * project}[_BN|_relu]`, `block_{i}_add`, `Conv_1`, `Conv_1_bn`, `out_relu`), BatchNorm epsilon 1e-3
 * and momentum 0.999. Alpha 1.0: 2,257,984 parameters without the top, 3,538,984 with.
 * Reference: Sandler et al. 2018, https://arxiv.org/abs/1801.04381 (Keras' `mobilenet_v2.py`).
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { makeDivisible, type BuildOptions, type Sym } from './_util.js';

/** Options of {@link mobilenetV2}. */
export interface MobileNetV2Options extends BuildOptions {
  /** Width multiplier (Keras `alpha`; ImageNet weights exist for 0.35, 0.5, 0.75, 1.0, 1.3, 1.4). */
  alpha?: number;
}

/** Keras' `correct_pad`: the asymmetric padding of a stride-2 3×3 'same' convolution. */
function correctPad(size: [number, number]): [[number, number], [number, number]] {
  const adjust = [1 - (size[0] % 2), 1 - (size[1] % 2)];
  return [[1 - adjust[0], 1], [1 - adjust[1], 1]];
}

export function mobilenetV2(options: MobileNetV2Options = {}): tfl.LayersModel {
  const { includeTop = true, inputShape = [224, 224, 3], classes = 1000, pooling = null, seed, alpha = 1.0 } = options;
  let k = 0;
  const init = () => tfl.initializers.glorotUniform(seed === undefined ? {} : { seed: seed + k++ });
  const bn = (x: Sym, name: string) => tfl.layers.batchNormalization({ axis: -1, epsilon: 1e-3, momentum: 0.999, name }).apply(x) as Sym;
  const relu6 = (x: Sym, name: string) => tfl.layers.reLU({ maxValue: 6, name }).apply(x) as Sym;
  const spatial = (x: Sym) => [x.shape[1] as number, x.shape[2] as number] as [number, number];

  const block = (x: Sym, filters: number, stride: number, expansion: number, id: number): Sym => {
    const inChannels = x.shape[3] as number;
    const pointwise = makeDivisible(Math.trunc(filters * alpha), 8);
    const prefix = id === 0 ? 'expanded_conv_' : `block_${id}_`;
    let y = x;
    if (id > 0) {
      y = tfl.layers.conv2d({ filters: expansion * inChannels, kernelSize: 1, padding: 'same', useBias: false, kernelInitializer: init(), name: `${prefix}expand` }).apply(y) as Sym;
      y = relu6(bn(y, `${prefix}expand_BN`), `${prefix}expand_relu`);
    }
    if (stride === 2) y = tfl.layers.zeroPadding2d({ padding: correctPad(spatial(y)), name: `${prefix}pad` }).apply(y) as Sym;
    y = tfl.layers.depthwiseConv2d({ kernelSize: 3, strides: stride, useBias: false, padding: stride === 1 ? 'same' : 'valid', depthwiseInitializer: init(), name: `${prefix}depthwise` }).apply(y) as Sym;
    y = relu6(bn(y, `${prefix}depthwise_BN`), `${prefix}depthwise_relu`);
    y = tfl.layers.conv2d({ filters: pointwise, kernelSize: 1, padding: 'same', useBias: false, kernelInitializer: init(), name: `${prefix}project` }).apply(y) as Sym;
    y = bn(y, `${prefix}project_BN`);
    if (inChannels === pointwise && stride === 1) y = tfl.layers.add({ name: `${prefix}add` }).apply([x, y]) as Sym;
    return y;
  };

  const input = tfl.input({ shape: inputShape, name: 'input_1' });
  let x = tfl.layers.zeroPadding2d({ padding: correctPad([inputShape[0], inputShape[1]]), name: 'Conv1_pad' }).apply(input) as Sym;
  x = tfl.layers.conv2d({ filters: makeDivisible(32 * alpha, 8), kernelSize: 3, strides: 2, padding: 'valid', useBias: false, kernelInitializer: init(), name: 'Conv1' }).apply(x) as Sym;
  x = relu6(bn(x, 'bn_Conv1'), 'Conv1_relu');
  const spec: Array<[number, number, number]> = [
    [16, 1, 1], [24, 2, 6], [24, 1, 6], [32, 2, 6], [32, 1, 6], [32, 1, 6], [64, 2, 6], [64, 1, 6], [64, 1, 6], [64, 1, 6],
    [96, 1, 6], [96, 1, 6], [96, 1, 6], [160, 2, 6], [160, 1, 6], [160, 1, 6], [320, 1, 6],
  ];
  spec.forEach(([filters, stride, expansion], id) => (x = block(x, filters, stride, expansion, id)));
  const last = alpha > 1.0 ? makeDivisible(1280 * alpha, 8) : 1280;
  x = tfl.layers.conv2d({ filters: last, kernelSize: 1, useBias: false, kernelInitializer: init(), name: 'Conv_1' }).apply(x) as Sym;
  x = relu6(bn(x, 'Conv_1_bn'), 'out_relu');
  if (includeTop) {
    x = tfl.layers.globalAveragePooling2d({ name: 'global_average_pooling2d' }).apply(x) as Sym;
    x = tfl.layers.dense({ units: classes, activation: 'softmax', kernelInitializer: init(), name: 'predictions' }).apply(x) as Sym;
  } else if (pooling === 'avg') x = tfl.layers.globalAveragePooling2d({ name: 'global_average_pooling2d' }).apply(x) as Sym;
  else if (pooling === 'max') x = tfl.layers.globalMaxPooling2d({ name: 'global_max_pooling2d' }).apply(x) as Sym;
  return tfl.model({ inputs: input, outputs: x, name: `mobilenetv2_${alpha.toFixed(2)}_${inputShape[0]}` });
}
