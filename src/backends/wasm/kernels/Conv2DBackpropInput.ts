/**
 * A faster `Conv2DBackpropInput` on wasm. tfjs 4.22's stock kernel is a direct loop that ran at
 * about 1 GMAC/s here: 350 ms of a 490 ms training step of Ganin & Lempitsky's digits CNN
 * (5x5 convolutions, batch 128), and 1.5 s of an 8 s MobileNetV2 step (96 px, batch 32) before the
 * pointwise path below. Two rewrites onto wasm's XNNPACK kernels, everything else to the stock one:
 *
 * - pointwise (1x1) convolutions: the input gradient is the matmul dx = dy · Wᵀ
 *   ([N*Ho*Wo, Co] x [Co, Ci]), then, when strided, spread back to the sampled positions;
 * - any other undilated convolution: the input gradient of a strided, padded correlation is a
 *   stride-1 'valid' correlation of the zero-dilated, re-padded output gradient with the
 *   spatially flipped filter, its in/out channels swapped (the transposed convolution written as
 *   a forward one, as cuDNN's and XNNPACK's deconvolutions are). Strides s > 1 multiply the work
 *   by s² (the inserted zeros are multiplied too), still far faster than the stock loop.
 *
 * A training step that knows the input gradient is discarded gets zeros without any work
 * (`withUnneededInputGradients`).
 *
 * Within a training step the rearranged filters are built once and reused by every micro-batch
 * (`step_filter_cache.ts`). The flipped, channel-swapped filter is written in JavaScript (see {@link flipSwapFilter}):
 * wasm's `Reverse` moves one element at a time (141 ms for a 3x3x512x512 filter, against 18 ms
 * here for flip and swap together).
 */
import * as tf from '@tensorflow/tfjs-core';
import { wrapStock } from './_wrap_stock.js';
import { asTensor, convGeometry, spreadAndPad } from '../../../ops/_conv_util.js';
import { rearrangedFilter } from '../../step_filter_cache.js';
import { inputGradientUnneeded } from '../../unneeded_input_gradients.js';

/**
 * `out[i, j, o, c] = w[kh-1-i, kw-1-j, c, o]`: the filter of the transposed convolution. Flipping
 * both spatial axes reverses the order of the kh·kw taps, so each tap's [Ci, Co] plane is copied,
 * transposed in 32x32 blocks, to the mirrored tap's place.
 */
function flipSwapFilter(filter: tf.TensorInfo): tf.Tensor4D {
  const [kh, kw, ci, co] = filter.shape;
  const src = tf.backend().readSync(filter.dataId) as Float32Array;
  const out = new Float32Array(src.length);
  const taps = kh * kw;
  const plane = ci * co;
  const block = 32;
  for (let t = 0; t < taps; t++) {
    const from = (taps - 1 - t) * plane;
    const to = t * plane;
    for (let c0 = 0; c0 < ci; c0 += block) {
      const c1 = Math.min(ci, c0 + block);
      for (let o0 = 0; o0 < co; o0 += block) {
        const o1 = Math.min(co, o0 + block);
        for (let c = c0; c < c1; c++) {
          const row = from + c * co;
          for (let o = o0; o < o1; o++) out[to + o * ci + c] = src[row + o];
        }
      }
    }
  }
  return tf.tensor4d(out, [kh, kw, co, ci]);
}

/** Wraps wasm's own Conv2DBackpropInput with the matmul and forward-convolution paths. */
export function conv2DBackpropInputConfig(stock: tf.KernelConfig): tf.KernelConfig {
  return wrapStock(stock, (args) => {
    const { dy, filter } = args.inputs as unknown as { dy: tf.TensorInfo; filter: tf.TensorInfo };
    const { strides, pad, dataFormat, dimRoundingMode, inputShape } = args.attrs as unknown as tf.Conv2DBackpropInputAttrs;
    if (dataFormat !== undefined && dataFormat !== 'NHWC') return null;
    if (inputGradientUnneeded(filter)) return tf.zeros(inputShape); // see unneeded_input_gradients.ts
    const [kh, kw, ci, co] = filter.shape;
    const g = convGeometry(tf.Conv2DBackpropInput, inputShape, filter.shape, strides, pad, 1, dimRoundingMode, false, dataFormat);
    const top = kh - 1 - g.padTop;
    const left = kw - 1 - g.padLeft;
    const spreadH = (g.outHeight - 1) * g.strideHeight + 1;
    const spreadW = (g.outWidth - 1) * g.strideWidth + 1;
    const bottom = g.inHeight + kh - 1 - top - spreadH;
    const right = g.inWidth + kw - 1 - left - spreadW;
    return tf.tidy(() => {
      const d = asTensor<tf.Tensor4D>(dy);
      if (kh === 1 && kw === 1) {
        const m = g.batch * g.outHeight * g.outWidth;
        const wt = rearrangedFilter('pointwise-transposed', filter, () => tf.transpose(tf.reshape(asTensor<tf.Tensor4D>(filter), [ci, co])));
        const z = tf.reshape(tf.matMul(tf.reshape(d, [m, co]), wt), [g.batch, g.outHeight, g.outWidth, ci]) as tf.Tensor4D;
        if (g.strideHeight === 1 && g.strideWidth === 1 && top === 0 && left === 0 && bottom === 0 && right === 0) return z;
        return spreadAndPad(z, g.strideHeight, g.strideWidth, top, bottom, left, right);
      }
      const flipped = rearrangedFilter('flipped-swapped', filter, () => flipSwapFilter(filter)) as tf.Tensor4D;
      const dyPad = spreadAndPad(d, g.strideHeight, g.strideWidth, top, bottom, left, right);
      return tf.conv2d(dyPad, flipped, 1, 'valid');
    });
  });
}
