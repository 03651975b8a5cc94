/**
 * Geometry shared by the composed convolution gradient kernels.
 *
 * The gradients are written as compositions of kernels the wasm backend already runs
 * natively (XNNPACK convolutions, matmul, StridedSlice, Pad), instead of per-element
 * loops in JavaScript, so they inherit wasm's speed.
 */
import * as tf from '@tensorflow/tfjs-core';
import { TransferKitError } from '../errors.js';

/** Padding and output geometry of a 2-D convolution, as tfjs-core computes it. */
export interface ConvGeometry {
  batch: number;
  inHeight: number;
  inWidth: number;
  inChannels: number;
  outHeight: number;
  outWidth: number;
  strideHeight: number;
  strideWidth: number;
  dilationHeight: number;
  dilationWidth: number;
  filterHeight: number;
  filterWidth: number;
  padTop: number;
  padLeft: number;
}

type PadAttr = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;

/** Geometry of a conv with input `xShape` (NHWC) and filter `filterShape` (HWIO or HWCM). */
export function convGeometry(
  kernelName: string,
  xShape: number[],
  filterShape: number[],
  strides: number | [number, number],
  pad: PadAttr,
  dilations: number | [number, number],
  dimRoundingMode: 'floor' | 'round' | 'ceil' | undefined,
  depthwise: boolean,
  dataFormat: string | undefined,
): ConvGeometry {
  if (dataFormat !== undefined && dataFormat !== 'NHWC' && dataFormat !== 'channelsLast') {
    throw new TransferKitError(
      'E_KERNEL_UNSUPPORTED',
      `${kernelName} on wasm supports NHWC (channels-last) data only. Received: dataFormat=${dataFormat}. ` +
        'Transpose the input to NHWC before the convolution.',
    );
  }
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    strides,
    dilations,
    pad,
    dimRoundingMode,
    depthwise,
    'channelsLast',
  );
  return {
    batch: info.batchSize,
    inHeight: info.inHeight,
    inWidth: info.inWidth,
    inChannels: info.inChannels,
    outHeight: info.outHeight,
    outWidth: info.outWidth,
    strideHeight: info.strideHeight,
    strideWidth: info.strideWidth,
    dilationHeight: info.dilationHeight,
    dilationWidth: info.dilationWidth,
    filterHeight: info.filterHeight,
    filterWidth: info.filterWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
  };
}

/**
 * Pads (positive amounts) or crops (negative amounts) the two spatial axes of an NHWC tensor.
 * Backward passes need both: 'same' padding can leave rows the forward pass never read.
 */
export function padOrCrop(x: tf.Tensor4D, top: number, bottom: number, left: number, right: number): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  let y = x;
  if (top < 0 || bottom < 0 || left < 0 || right < 0) {
    const t = Math.max(0, -top);
    const l = Math.max(0, -left);
    const hh = h - t - Math.max(0, -bottom);
    const ww = w - l - Math.max(0, -right);
    y = tf.slice(y, [0, t, l, 0], [n, hh, ww, c]);
  }
  if (top > 0 || bottom > 0 || left > 0 || right > 0) {
    y = tf.pad(y, [
      [0, 0],
      [Math.max(0, top), Math.max(0, bottom)],
      [Math.max(0, left), Math.max(0, right)],
      [0, 0],
    ]);
  }
  return y;
}

/**
 * The input window that filter tap (i, j) sees, for every output position:
 * `out[n, oh, ow, c] = xPadded[n, oh*sh + i*dh, ow*sw + j*dw, c]`, shape [N, Ho, Wo, C].
 * `xPadded` must already carry the forward pass's top/left padding.
 *
 * Strided windows are taken as a rank-4 reshape and slice — rows [h0, h0 + Ho·sh) cut (or
 * zero-extended) from the input, viewed as [N·Ho, sh, Wo, sw·C], keeping index 0 of the stride
 * axes — instead of a `StridedSlice`, which wasm runs one element at a time (128 ms against 10 ms
 * for ResNet50's [4, 56, 56, 256] stride-2 shortcut input).
 */
export function tapWindow(xPadded: tf.Tensor4D, g: ConvGeometry, i: number, j: number): tf.Tensor4D {
  const [n, h, w, c] = xPadded.shape;
  const h0 = i * g.dilationHeight;
  const w0 = j * g.dilationWidth;
  const sh = g.strideHeight;
  const sw = g.strideWidth;
  if (sh === 1 && sw === 1) return tf.slice(xPadded, [0, h0, w0, 0], [n, g.outHeight, g.outWidth, c]);
  const rows = g.outHeight * sh;
  const cols = g.outWidth * sw;
  const cut = padOrCrop(xPadded, -h0, h0 + rows - h, -w0, w0 + cols - w);
  const grid = tf.reshape(cut, [n * g.outHeight, sh, g.outWidth, sw * c]);
  return tf.reshape(tf.slice(grid, [0, 0, 0, 0], [n * g.outHeight, 1, g.outWidth, c]), [n, g.outHeight, g.outWidth, c]);
}

/** The input padded so that every tap window of the forward convolution lies inside it. */
export function padForTaps(x: tf.Tensor4D, g: ConvGeometry): tf.Tensor4D {
  const needH = (g.outHeight - 1) * g.strideHeight + (g.filterHeight - 1) * g.dilationHeight + 1;
  const needW = (g.outWidth - 1) * g.strideWidth + (g.filterWidth - 1) * g.dilationWidth + 1;
  return padOrCrop(x, g.padTop, needH - g.inHeight - g.padTop, g.padLeft, needW - g.inWidth - g.padLeft);
}

/**
 * Inserts (s - 1) zeros between neighbouring rows/columns of `dy` ("fractional striding"),
 * giving shape [N, (Ho-1)*sh + 1, (Wo-1)*sw + 1, C]. Done with reshape + pad so it stays a
 * handful of native kernels.
 */
export function dilateSpatial(dy: tf.Tensor4D, sh: number, sw: number): tf.Tensor4D {
  if (sh === 1 && sw === 1) return dy;
  const [n, ho, wo, c] = dy.shape;
  const six = tf.reshape(dy, [n, ho, 1, wo, 1, c]);
  const padded = tf.pad(six, [
    [0, 0],
    [0, 0],
    [0, sh - 1],
    [0, 0],
    [0, sw - 1],
    [0, 0],
  ]);
  const spread = tf.reshape(padded, [n, ho * sh, wo * sw, c]);
  return tf.slice(spread, [0, 0, 0, 0], [n, (ho - 1) * sh + 1, (wo - 1) * sw + 1, c]) as tf.Tensor4D;
}

/**
 * `padOrCrop(dilateSpatial(dy, sh, sw), top, bottom, left, right)` without the intermediate trim:
 * the zero-dilated tensor before its trailing (s - 1) rows/columns are cut is re-padded directly,
 * so the common 'same' stride-2 case is one pad instead of a slice and a pad (a slice of
 * [32, 48, 48, 144] costs ~10 ms on wasm). `bottom`/`right` are relative to the trimmed spread.
 */
export function spreadAndPad(dy: tf.Tensor4D, sh: number, sw: number, top: number, bottom: number, left: number, right: number): tf.Tensor4D {
  if (sh === 1 && sw === 1) return padOrCrop(dy, top, bottom, left, right);
  const [n, ho, wo, c] = dy.shape;
  const six = tf.reshape(dy, [n, ho, 1, wo, 1, c]);
  const spread = tf.reshape(tf.pad(six, [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]]), [n, ho * sh, wo * sw, c]) as tf.Tensor4D;
  return padOrCrop(spread, top, bottom - (sh - 1), left, right - (sw - 1));
}

/** A filter [kh, kw, a, b] with (d - 1) zeros inserted between taps (an explicit dilated kernel). */
export function dilateFilter(filter: tf.Tensor4D, dh: number, dw: number): tf.Tensor4D {
  if (dh === 1 && dw === 1) return filter;
  const [kh, kw, a, b] = filter.shape;
  const asNhwc = tf.reshape(tf.transpose(filter, [2, 0, 1, 3]), [a, kh, kw, b]) as tf.Tensor4D;
  const spread = dilateSpatial(asNhwc, dh, dw);
  return tf.transpose(spread, [1, 2, 0, 3]) as tf.Tensor4D;
}

/**
 * Wraps a kernel's TensorInfo input as a Tensor handle the caller's tidy may dispose.
 * `makeTensorFromTensorInfo` does not raise the backend's reference count, so without the
 * explicit `incRef` disposing the handle would free the caller's input buffer.
 */
export function asTensor<T extends tf.Tensor>(info: tf.TensorInfo): T {
  const engine = tf.engine();
  const t = engine.makeTensorFromTensorInfo(info);
  engine.backend.incRef(info.dataId);
  return t as T;
}
