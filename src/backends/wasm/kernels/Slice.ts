/**
 * `Slice` on wasm as a few long memory moves. The stock kernel copies one innermost row at a
 * time through a new `subarray` each (for a [32, 49, 49, 96] → [32, 48, 48, 96] crop, the
 * gradient of Keras' `ZeroPadding2D` before every stride-2 MobileNetV2 block: 73,728 calls,
 * ~28 ms). Here trailing axes the slice takes whole are merged with the last one it cuts, so
 * the same crop is 1,536 `copyWithin`s of 4,608 floats inside the backend's memory (no
 * allocation). Strings go to the stock kernel.
 */
import * as tf from '@tensorflow/tfjs-core';
import { wrapStock } from './_wrap_stock.js';
import { simdKernels } from '../simd/simd_kernels.js';

const BYTES: Partial<Record<tf.DataType, number>> = { float32: 4, int32: 4, bool: 1 };

/** Wraps wasm's own Slice: runs of whole trailing axes moved in one copy each. */
export function sliceConfig(stock: tf.KernelConfig): tf.KernelConfig {
  return wrapStock(stock, ({ inputs, attrs, backend }) => {
    const { x } = inputs as unknown as { x: tf.TensorInfo };
    const bytes = BYTES[x.dtype];
    if (bytes === undefined || x.shape.length === 0) return null;
    // simdKernels gives the memory helpers; the copies themselves are plain memmoves.
    const mem = simdKernels(backend);
    if (mem === null) return null;
    const { begin, size } = attrs as unknown as tf.SliceAttrs;
    const [b, s] = tf.slice_util.parseSliceParams(x as tf.Tensor, begin, size);
    const shape = x.shape;
    const rank = shape.length;
    // k: the last axis not taken whole; the copy unit is s[k] · (product of the axes after it).
    let k = rank - 1;
    while (k > 0 && b[k] === 0 && s[k] === shape[k]) k--;
    let inner = 1;
    for (let a = k + 1; a < rank; a++) inner *= shape[a];
    const run = s[k] * inner * bytes;
    const out = mem.output(s, x.dtype as 'float32' | 'int32' | 'bool');
    const total = s.reduce((n, d) => n * d, 1);
    if (total === 0) return out.info;
    const strides = tf.util.computeStrides(shape as number[]);
    const src = mem.offset(x) + (b[k] * inner) * bytes;
    const heap = mem.heap().u8;
    // Walk the outer index (axes 0..k-1) like an odometer.
    const idx = new Array<number>(k).fill(0);
    let dst = out.offset;
    for (;;) {
      let from = src;
      for (let a = 0; a < k; a++) from += (b[a] + idx[a]) * strides[a] * bytes;
      heap.copyWithin(dst, from, from + run);
      dst += run;
      let a = k - 1;
      while (a >= 0 && ++idx[a] === s[a]) idx[a--] = 0;
      if (a < 0) break;
    }
    return out.info;
  });
}
