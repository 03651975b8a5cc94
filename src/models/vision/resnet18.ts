/**
 * ResNet18 in torchvision's layout, layer names equal to its state-dict keys (`conv1`, `bn1`,
 * `layer{1-4}.{0,1}.{conv1,bn1,conv2,bn2}`, `layer{2-4}.0.downsample.{0,1}`, `fc`) so a
 * torchvision checkpoint maps one to one: convolutions without biases, BatchNorm epsilon 1e-5
 * (torch momentum 0.1 = Keras 0.9), PyTorch's symmetric padding as explicit ZeroPadding2D before
 * 'valid' convolutions (TF's 'same' pads stride-2 convolutions asymmetrically). 11,689,512
 * trainable parameters with the 1000-class `fc`, as torchvision counts them.
 * Reference: torchvision `models/resnet.py` (`BasicBlock`), He et al. 2015.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import type { BuildOptions, Sym } from './_util.js';

export function resnet18(options: BuildOptions = {}): tfl.LayersModel {
  const { includeTop = true, inputShape = [224, 224, 3], classes = 1000, pooling = null, seed } = options;
  let k = 0;
  const init = () => tfl.initializers.heNormal(seed === undefined ? {} : { seed: seed + k++ });
  const pad = (x: Sym, p: number, name: string) => tfl.layers.zeroPadding2d({ padding: [[p, p], [p, p]], name }).apply(x) as Sym;
  const conv = (x: Sym, filters: number, size: number, stride: number, name: string) => {
    const p = Math.floor(size / 2);
    const input = p > 0 ? pad(x, p, `${name}.pad`) : x;
    return tfl.layers.conv2d({ filters, kernelSize: size, strides: stride, padding: 'valid', useBias: false, kernelInitializer: init(), name }).apply(input) as Sym;
  };
  const bn = (x: Sym, name: string) => tfl.layers.batchNormalization({ axis: -1, epsilon: 1e-5, momentum: 0.9, name }).apply(x) as Sym;
  const relu = (x: Sym, name: string) => tfl.layers.activation({ activation: 'relu', name }).apply(x) as Sym;

  const basic = (x: Sym, filters: number, stride: number, name: string): Sym => {
    const inChannels = x.shape[3] as number;
    let y = relu(bn(conv(x, filters, 3, stride, `${name}.conv1`), `${name}.bn1`), `${name}.relu1`);
    y = bn(conv(y, filters, 3, 1, `${name}.conv2`), `${name}.bn2`);
    const identity = stride !== 1 || inChannels !== filters ? bn(conv(x, filters, 1, stride, `${name}.downsample.0`), `${name}.downsample.1`) : x;
    return relu(tfl.layers.add({ name: `${name}.add` }).apply([y, identity]) as Sym, `${name}.relu2`);
  };

  const input = tfl.input({ shape: inputShape, name: 'input_1' });
  let x = relu(bn(conv(input, 64, 7, 2, 'conv1'), 'bn1'), 'relu');
  // torch pads max-pooling with -inf; after a ReLU every value is >= 0, so zero padding is the same.
  x = tfl.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'valid', name: 'maxpool' }).apply(pad(x, 1, 'maxpool.pad')) as Sym;
  for (const [layer, filters, stride] of [[1, 64, 1], [2, 128, 2], [3, 256, 2], [4, 512, 2]] as const) {
    x = basic(x, filters, stride, `layer${layer}.0`);
    x = basic(x, filters, 1, `layer${layer}.1`);
  }
  if (includeTop || pooling === 'avg') x = tfl.layers.globalAveragePooling2d({ name: 'avgpool' }).apply(x) as Sym;
  else if (pooling === 'max') x = tfl.layers.globalMaxPooling2d({ name: 'maxpool_global' }).apply(x) as Sym;
  // torchvision's fc outputs logits; the zoo's heads output probabilities (softmax), as Keras'.
  if (includeTop) x = tfl.layers.dense({ units: classes, activation: 'softmax', kernelInitializer: init(), name: 'fc' }).apply(x) as Sym;
  return tfl.model({ inputs: input, outputs: x, name: 'resnet18' });
}
