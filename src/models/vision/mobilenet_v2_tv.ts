/**
 * MobileNetV2 in torchvision's layout, layer names equal to its state-dict prefixes
 * (`features.0.0` conv, `features.0.1` BN, `features.{i}.conv.{0.0,0.1,1.0,1.1,2,3}` per inverted
 * residual block, `features.18.{0,1}`, `classifier.1`), so a torchvision (or timm `.tv_in1k`)
 * checkpoint maps one to one. Differences from the Keras layout (mobilenet_v2.ts) that change
 * numbers: symmetric padding (explicit ZeroPadding2D before 'valid' 3×3 convolutions), BatchNorm
 * epsilon 1e-5. 3,504,872 trainable parameters at width 1.0 with the 1000-class classifier.
 * Reference: torchvision `models/mobilenetv2.py` (v0.14).
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { makeDivisible, type BuildOptions, type Sym } from './_util.js';

export function mobilenetV2Torchvision(options: BuildOptions & { widthMult?: number } = {}): tfl.LayersModel {
  const { includeTop = true, inputShape = [224, 224, 3], classes = 1000, pooling = null, seed, widthMult = 1.0 } = options;
  let k = 0;
  const init = () => tfl.initializers.heNormal(seed === undefined ? {} : { seed: seed + k++ });
  const bn = (x: Sym, name: string) => tfl.layers.batchNormalization({ axis: -1, epsilon: 1e-5, momentum: 0.9, name }).apply(x) as Sym;
  const relu6 = (x: Sym, name: string) => tfl.layers.reLU({ maxValue: 6, name }).apply(x) as Sym;
  /** torchvision Conv2dNormActivation: conv (no bias) + BN + ReLU6, padding (k - 1) / 2. */
  const convBnAct = (x: Sym, filters: number, size: number, stride: number, depthwise: boolean, name: string): Sym => {
    const p = (size - 1) / 2;
    const input = p > 0 ? (tfl.layers.zeroPadding2d({ padding: [[p, p], [p, p]], name: `${name}.pad` }).apply(x) as Sym) : x;
    const conv = depthwise
      ? tfl.layers.depthwiseConv2d({ kernelSize: size, strides: stride, padding: 'valid', useBias: false, depthwiseInitializer: init(), name: `${name}.0` })
      : tfl.layers.conv2d({ filters, kernelSize: size, strides: stride, padding: 'valid', useBias: false, kernelInitializer: init(), name: `${name}.0` });
    return relu6(bn(conv.apply(input) as Sym, `${name}.1`), `${name}.2`);
  };
  const block = (x: Sym, out: number, stride: number, expand: number, name: string): Sym => {
    const inp = x.shape[3] as number;
    const hidden = Math.round(inp * expand);
    let y = x;
    let i = 0;
    if (expand !== 1) y = convBnAct(y, hidden, 1, 1, false, `${name}.conv.${i++}`);
    y = convBnAct(y, hidden, 3, stride, true, `${name}.conv.${i++}`);
    y = tfl.layers.conv2d({ filters: out, kernelSize: 1, useBias: false, kernelInitializer: init(), name: `${name}.conv.${i++}` }).apply(y) as Sym;
    y = bn(y, `${name}.conv.${i}`);
    return stride === 1 && inp === out ? (tfl.layers.add({ name: `${name}.add` }).apply([x, y]) as Sym) : y;
  };

  const input = tfl.input({ shape: inputShape, name: 'input_1' });
  let x = convBnAct(input, makeDivisible(32 * widthMult, 8), 3, 2, false, 'features.0');
  let f = 1;
  for (const [t, c, n, s] of [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1]] as const) {
    for (let i = 0; i < n; i++) x = block(x, makeDivisible(c * widthMult, 8), i === 0 ? s : 1, t, `features.${f++}`);
  }
  x = convBnAct(x, makeDivisible(1280 * Math.max(1.0, widthMult), 8), 1, 1, false, `features.${f}`);
  if (includeTop || pooling === 'avg') x = tfl.layers.globalAveragePooling2d({ name: 'avgpool' }).apply(x) as Sym;
  else if (pooling === 'max') x = tfl.layers.globalMaxPooling2d({ name: 'maxpool' }).apply(x) as Sym;
  if (includeTop) {
    x = tfl.layers.dropout({ rate: 0.2, name: 'classifier.0' }).apply(x) as Sym;
    x = tfl.layers.dense({ units: classes, activation: 'softmax', kernelInitializer: init(), name: 'classifier.1' }).apply(x) as Sym;
  }
  return tfl.model({ inputs: input, outputs: x, name: 'mobilenet_v2_tv' });
}
