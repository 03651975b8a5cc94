/**
 * EfficientNetB0 exactly as `keras.applications.EfficientNetB0` (layer names `stem_conv_pad`,
 * `stem_conv`, `stem_bn`, `stem_activation`, `block{1-7}{a,b,..}_{expand_conv,expand_bn,
 * expand_activation,dwconv_pad,dwconv,bn,activation,se_squeeze,se_reshape,se_reduce,se_expand,
 * se_excite,project_conv,project_bn,drop,add}`, `top_conv`, `top_bn`, `top_activation`, `avg_pool`,
 * `top_dropout`, `predictions`), swish activations, squeeze-and-excitation with ratio 0.25 of the
 * block's input width, stochastic depth ("drop connect", 0.2 scaled by block index) as per-example
 * Dropout. Keras' in-graph `Rescaling` + `Normalization` preprocessing is left out on purpose: it
 * lives in the pretrained config, so the graph stays convertible and trainable. Without the top:
 * 4,049,564 parameters (Keras prints 4,049,571: its Normalization layer adds 7 statistics).
 * Reference: Tan & Le 2019, https://arxiv.org/abs/1905.11946 (Keras' `efficientnet.py`).
 */
import * as tfl from '@tensorflow/tfjs-layers';
import type { BuildOptions, Sym } from './_util.js';

interface BlockArgs {
  kernel: number;
  repeats: number;
  filtersIn: number;
  filtersOut: number;
  expand: number;
  strides: number;
}

// Keras DEFAULT_BLOCKS_ARGS (width and depth coefficients 1.0 for B0, so no rounding applies).
const BLOCKS: BlockArgs[] = [
  { kernel: 3, repeats: 1, filtersIn: 32, filtersOut: 16, expand: 1, strides: 1 },
  { kernel: 3, repeats: 2, filtersIn: 16, filtersOut: 24, expand: 6, strides: 2 },
  { kernel: 5, repeats: 2, filtersIn: 24, filtersOut: 40, expand: 6, strides: 2 },
  { kernel: 3, repeats: 3, filtersIn: 40, filtersOut: 80, expand: 6, strides: 2 },
  { kernel: 5, repeats: 3, filtersIn: 80, filtersOut: 112, expand: 6, strides: 1 },
  { kernel: 5, repeats: 4, filtersIn: 112, filtersOut: 192, expand: 6, strides: 2 },
  { kernel: 3, repeats: 1, filtersIn: 192, filtersOut: 320, expand: 6, strides: 1 },
];

/** Keras' `correct_pad` for a stride-2 k×k convolution. */
function correctPad(size: [number, number], k: number): [[number, number], [number, number]] {
  const adjust = [1 - (size[0] % 2), 1 - (size[1] % 2)];
  const c = Math.floor(k / 2);
  return [[c - adjust[0], c], [c - adjust[1], c]];
}

export function efficientnetB0(options: BuildOptions & { dropConnectRate?: number; dropoutRate?: number } = {}): tfl.LayersModel {
  const { includeTop = true, inputShape = [224, 224, 3], classes = 1000, pooling = null, seed, dropConnectRate = 0.2, dropoutRate = 0.2 } = options;
  let k = 0;
  const init = () => tfl.initializers.varianceScaling({ scale: 2, mode: 'fanOut', distribution: 'truncatedNormal', ...(seed === undefined ? {} : { seed: seed + k++ }) });
  const bn = (x: Sym, name: string) => tfl.layers.batchNormalization({ axis: -1, name }).apply(x) as Sym;
  const swish = (x: Sym, name: string) => tfl.layers.activation({ activation: 'swish', name }).apply(x) as Sym;
  const spatial = (x: Sym) => [x.shape[1] as number, x.shape[2] as number] as [number, number];

  const block = (x: Sym, a: BlockArgs, filtersIn: number, strides: number, dropRate: number, name: string): Sym => {
    const filters = filtersIn * a.expand;
    let y = x;
    if (a.expand !== 1) {
      y = tfl.layers.conv2d({ filters, kernelSize: 1, padding: 'same', useBias: false, kernelInitializer: init(), name: `${name}expand_conv` }).apply(y) as Sym;
      y = swish(bn(y, `${name}expand_bn`), `${name}expand_activation`);
    }
    if (strides === 2) y = tfl.layers.zeroPadding2d({ padding: correctPad(spatial(y), a.kernel), name: `${name}dwconv_pad` }).apply(y) as Sym;
    y = tfl.layers.depthwiseConv2d({ kernelSize: a.kernel, strides, padding: strides === 2 ? 'valid' : 'same', useBias: false, depthwiseInitializer: init(), name: `${name}dwconv` }).apply(y) as Sym;
    y = swish(bn(y, `${name}bn`), `${name}activation`);
    // Squeeze and excitation, reduced to 0.25 of the block's input width.
    const filtersSe = Math.max(1, Math.trunc(filtersIn * 0.25));
    let se = tfl.layers.globalAveragePooling2d({ name: `${name}se_squeeze` }).apply(y) as Sym;
    se = tfl.layers.reshape({ targetShape: [1, 1, filters], name: `${name}se_reshape` }).apply(se) as Sym;
    se = tfl.layers.conv2d({ filters: filtersSe, kernelSize: 1, padding: 'same', activation: 'swish', kernelInitializer: init(), name: `${name}se_reduce` }).apply(se) as Sym;
    se = tfl.layers.conv2d({ filters, kernelSize: 1, padding: 'same', activation: 'sigmoid', kernelInitializer: init(), name: `${name}se_expand` }).apply(se) as Sym;
    y = tfl.layers.multiply({ name: `${name}se_excite` }).apply([y, se]) as Sym;
    y = tfl.layers.conv2d({ filters: a.filtersOut, kernelSize: 1, padding: 'same', useBias: false, kernelInitializer: init(), name: `${name}project_conv` }).apply(y) as Sym;
    y = bn(y, `${name}project_bn`);
    if (strides === 1 && filtersIn === a.filtersOut) {
      // Stochastic depth: drop the whole residual branch per example (noise shape [batch, 1, 1, 1]).
      if (dropRate > 0) y = tfl.layers.dropout({ rate: dropRate, noiseShape: [null as unknown as number, 1, 1, 1], name: `${name}drop` }).apply(y) as Sym;
      y = tfl.layers.add({ name: `${name}add` }).apply([y, x]) as Sym;
    }
    return y;
  };

  const input = tfl.input({ shape: inputShape, name: 'input_1' });
  let x = tfl.layers.zeroPadding2d({ padding: correctPad([inputShape[0], inputShape[1]], 3), name: 'stem_conv_pad' }).apply(input) as Sym;
  x = tfl.layers.conv2d({ filters: 32, kernelSize: 3, strides: 2, padding: 'valid', useBias: false, kernelInitializer: init(), name: 'stem_conv' }).apply(x) as Sym;
  x = swish(bn(x, 'stem_bn'), 'stem_activation');
  const total = BLOCKS.reduce((s, a) => s + a.repeats, 0);
  let b = 0;
  BLOCKS.forEach((a, i) => {
    for (let j = 0; j < a.repeats; j++) {
      x = block(x, a, j === 0 ? a.filtersIn : a.filtersOut, j === 0 ? a.strides : 1, (dropConnectRate * b) / total, `block${i + 1}${String.fromCharCode(97 + j)}_`);
      b++;
    }
  });
  x = tfl.layers.conv2d({ filters: 1280, kernelSize: 1, padding: 'same', useBias: false, kernelInitializer: init(), name: 'top_conv' }).apply(x) as Sym;
  x = swish(bn(x, 'top_bn'), 'top_activation');
  if (includeTop) {
    x = tfl.layers.globalAveragePooling2d({ name: 'avg_pool' }).apply(x) as Sym;
    if (dropoutRate > 0) x = tfl.layers.dropout({ rate: dropoutRate, name: 'top_dropout' }).apply(x) as Sym;
    x = tfl.layers.dense({ units: classes, activation: 'softmax', kernelInitializer: tfl.initializers.varianceScaling({ scale: 1 / 3, mode: 'fanOut', distribution: 'uniform' }), name: 'predictions' }).apply(x) as Sym;
  } else if (pooling === 'avg') x = tfl.layers.globalAveragePooling2d({ name: 'avg_pool' }).apply(x) as Sym;
  else if (pooling === 'max') x = tfl.layers.globalMaxPooling2d({ name: 'max_pool' }).apply(x) as Sym;
  return tfl.model({ inputs: input, outputs: x, name: 'efficientnetb0' });
}
