/**
 * Filter gradients on webgpu with fewer dispatches than the wasm compositions they started from.
 *
 * - `Conv2DBackpropFilter`, 1×1 unpadded (MobileNetV2's 35 pointwise convolutions, ResNet's
 *   strided ones): ONE matmul `xᵀ · dy` with the transpose read inside the product's shader
 *   (TF.js's webgpu matmul takes `transposeA` natively; the wasm kernel transposes explicitly
 *   because wasm's transposed product is slow), after a slice of the sampled pixels when strided.
 *   Convolutions with few (tap, input channel) rows (stems: 3×3×3, 7×7×3): a direct WGSL
 *   reduction over the output positions, 2 dispatches (the swapped convolution of the wasm
 *   composition takes a pad, three transposes and the convolution). Others keep that composition.
 * - `DepthwiseConv2dNativeBackpropFilter`, channel multiplier 1 (MobileNet, EfficientNet):
 *   dW[i, j, c] = Σ_{n, oh, ow} x[n, oh·s + i·d − pad, ow·s + j·d − pad, c] · dy[n, oh, ow, c]
 *   as a WGSL reduction — partial sums over slices of the N·Ho·Wo output positions (a workgroup
 *   is 64 channels × 4 position lanes, reads coalesced along channels), then a sum over slices:
 *   2 dispatches, 1 when there are few positions, where the batch-folded depthwise convolution
 *   takes ~6 (transposes, a pad, the convolution, a reduction).
 */
import * as tf from '@tensorflow/tfjs-core';
import { asTensor, convGeometry, padForTaps, tapWindow, type ConvGeometry } from '../../../ops/_conv_util.js';
import { conv2DBackpropFilterConfig } from '../../wasm/kernels/Conv2DBackpropFilter.js';
import { depthwiseConv2dNativeBackpropFilterConfig } from '../../wasm/kernels/DepthwiseConv2dNativeBackpropFilter.js';
import { runWgsl, wgslBindings } from '../run_wgsl.js';

const CH = 64;
const LANES = 4;

/**
 * Output positions up to which a filter gradient is one pass (each of 4 lanes per channel then
 * sums ≤ 2,048 positions: at 224 px, batch 32, MobileNetV2's depthwise layers from 14×14 down);
 * above, slices of ≥ 64 positions (≤ 128 slices) and a second pass over the slices.
 */
const SINGLE_PASS_POSITIONS = 8192;

function positionSlicing(positions: number): { pps: number; slices: number } {
  if (positions <= SINGLE_PASS_POSITIONS) return { pps: Math.max(positions, 1), slices: 1 };
  const pps = Math.max(64, Math.ceil(positions / 128));
  return { pps, slices: Math.ceil(positions / pps) };
}

/** Filter taps × input channels up to which the direct WGSL reduction runs (stems: 3×3×3 = 27, 7×7×3 = 147). */
const DIRECT_MAX_ROWS = 256;

/**
 * Partial sums over slices of the output positions of
 *   conv:      dW[i, j, ci, co] = Σ_{n, oh, ow} x[n, oh·s + i·d − pad, ow·s + j·d − pad, ci] · dy[n, oh, ow, co]
 *   depthwise: dW[i, j, c]      = Σ_{n, oh, ow} x[n, oh·s + i·d − pad, ow·s + j·d − pad, c]  · dy[n, oh, ow, c]
 * A workgroup is 64 output channels × 4 position lanes (dy read coalesced), one row of dW's
 * leading axes ((tap, input channel) for conv, tap for depthwise) and one slice.
 */
function tapPartialsCode(depthwise: boolean): () => string {
  return () => `${wgslBindings(['partials'], ['x', 'dy'], [
    ['positions', 'u32'], ['co', 'u32'], ['ci', 'u32'], ['pps', 'u32'], ['kw', 'u32'],
    ['h', 'u32'], ['w', 'u32'], ['ho', 'u32'], ['wo', 'u32'],
    ['sh', 'u32'], ['sw', 'u32'], ['dh', 'u32'], ['dw', 'u32'],
    ['padTop', 'i32'], ['padLeft', 'i32'], ['rowsOut', 'u32'],
  ])}
var<workgroup> acc: array<f32, ${CH * LANES}>;
@compute @workgroup_size(${CH}, ${LANES})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let o = wid.x * ${CH}u + lid.x;
  let row = wid.y;
  ${depthwise ? 'let tap = row;\n  let ci = o;' : 'let ci = row % u.ci;\n  let tap = row / u.ci;'}
  let ti = i32(tap / u.kw);
  let tj = i32(tap % u.kw);
  let start = wid.z * u.pps;
  let end = min(u.positions, start + u.pps);
  var a = 0.0;
  if (o < u.co) {
    for (var r = start + lid.y; r < end; r = r + ${LANES}u) {
      let ow = r % u.wo;
      let oh = (r / u.wo) % u.ho;
      let n = r / (u.wo * u.ho);
      let ih = i32(oh * u.sh) + ti * i32(u.dh) - u.padTop;
      let iw = i32(ow * u.sw) + tj * i32(u.dw) - u.padLeft;
      if (ih >= 0 && ih < i32(u.h) && iw >= 0 && iw < i32(u.w)) {
        a = a + x[((n * u.h + u32(ih)) * u.w + u32(iw)) * u.ci + ci] * dy[r * u.co + o];
      }
    }
  }
  acc[lid.y * ${CH}u + lid.x] = a;
  workgroupBarrier();
  if (lid.y == 0u && o < u.co) {
    var b = 0.0;
    for (var k = 0u; k < ${LANES}u; k = k + 1u) { b = b + acc[k * ${CH}u + lid.x]; }
    partials[(wid.z * u.rowsOut + row) * u.co + o] = b;
  }
}`;
}

function sumCode(): string {
  return `${wgslBindings(['dw'], ['partials'], [['n', 'u32'], ['slices', 'u32']])}
@compute @workgroup_size(${CH})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i >= u.n) { return; }
  var s = 0.0;
  for (var k = 0u; k < u.slices; k = k + 1u) { s = s + partials[k * u.n + i]; }
  dw[i] = s;
}`;
}

/**
 * A filter gradient by the reduction above: one pass when there are few output positions (the
 * partial sums of a single slice are dW itself: [1, rows, Co] is dW's layout), else partial sums
 * and a pass over the slices.
 */
function filterGradByReduction(kernel: string, x: tf.TensorInfo, dy: tf.TensorInfo, g: ConvGeometry, filterShape: number[], depthwise: boolean): tf.TensorInfo {
  const [kh, kw, ci, last] = filterShape;
  const co = depthwise ? ci : last;
  const rowsOut = depthwise ? kh * kw : kh * kw * ci;
  const positions = g.batch * g.outHeight * g.outWidth;
  const { pps, slices } = positionSlicing(positions);
  const u = (value: number) => ({ type: 'uint32' as const, value });
  const i = (value: number) => ({ type: 'int32' as const, value });
  const mode = depthwise ? 'depthwise' : 'conv';
  const [partials] = runWgsl({
    name: slices === 1 ? kernel : `${kernel}Partials`, variant: `${mode}/partials`, code: tapPartialsCode(depthwise), inputs: [x, dy],
    outputs: [{ shape: slices === 1 ? filterShape.slice() : [slices, rowsOut, co], dtype: 'float32' }],
    uniforms: [u(positions), u(co), u(ci), u(pps), u(kw), u(g.inHeight), u(g.inWidth), u(g.outHeight), u(g.outWidth), u(g.strideHeight), u(g.strideWidth), u(g.dilationHeight), u(g.dilationWidth), i(g.padTop), i(g.padLeft), u(rowsOut)],
    workgroups: [Math.ceil(co / CH), rowsOut, slices],
  });
  if (slices === 1) return partials;
  const [dw] = runWgsl({ name: kernel, variant: `${mode}/sum`, code: sumCode, inputs: [partials], outputs: [{ shape: filterShape.slice(), dtype: 'float32' }], uniforms: [u(rowsOut * co), u(slices)], workgroups: [Math.ceil((rowsOut * co) / CH), 1, 1] });
  tf.backend().disposeData(partials.dataId);
  return dw;
}

export const conv2DBackpropFilterWebgpuConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropFilter,
  backendName: 'webgpu',
  kernelFunc: (args) => {
    const { x, dy } = args.inputs as unknown as { x: tf.TensorInfo; dy: tf.TensorInfo };
    const { strides, pad, dataFormat, dimRoundingMode, filterShape } = args.attrs as unknown as tf.Conv2DBackpropFilterAttrs;
    const g = convGeometry(tf.Conv2DBackpropFilter, x.shape, filterShape, strides, pad, 1, dimRoundingMode, false, dataFormat);
    const [kh, kw, ci, co] = filterShape;
    const oneByOne = kh === 1 && kw === 1 && g.padTop === 0 && g.padLeft === 0 && g.dilationHeight === 1 && g.dilationWidth === 1;
    if (!oneByOne) {
      const direct = kh * kw * ci <= DIRECT_MAX_ROWS && x.dtype === 'float32' && dy.dtype === 'float32';
      return direct ? filterGradByReduction(tf.Conv2DBackpropFilter, x, dy, g, filterShape, false) : (conv2DBackpropFilterConfig.kernelFunc as tf.KernelFunc)({ ...args });
    }
    return tf.tidy(() => {
      const m = g.batch * g.outHeight * g.outWidth;
      // Strided: the sampled pixels by one reshape + slice (tapWindow), then the same product.
      const xs = g.strideHeight === 1 && g.strideWidth === 1 ? asTensor<tf.Tensor4D>(x) : tapWindow(padForTaps(asTensor<tf.Tensor4D>(x), g), g, 0, 0);
      const w = tf.matMul(tf.reshape(xs, [m, ci]), tf.reshape(asTensor(dy), [m, co]), true, false);
      return tf.reshape(w, filterShape);
    }) as unknown as tf.TensorInfo;
  },
};

export const depthwiseFilterGradWebgpuConfig: tf.KernelConfig = {
  kernelName: tf.DepthwiseConv2dNativeBackpropFilter,
  backendName: 'webgpu',
  kernelFunc: (args) => {
    const { x, dy } = args.inputs as unknown as { x: tf.TensorInfo; dy: tf.TensorInfo };
    const { strides, dilations, pad, dimRoundingMode, filterShape } = args.attrs as unknown as tf.DepthwiseConv2dNativeBackpropFilterAttrs;
    const mult = filterShape[3];
    if (mult !== 1 || x.dtype !== 'float32' || dy.dtype !== 'float32') return (depthwiseConv2dNativeBackpropFilterConfig.kernelFunc as tf.KernelFunc)({ ...args });
    const g = convGeometry(tf.DepthwiseConv2dNativeBackpropFilter, x.shape, filterShape, strides, pad, dilations, dimRoundingMode, true, 'NHWC');
    return filterGradByReduction(tf.DepthwiseConv2dNativeBackpropFilter, x, dy, g, filterShape, true);
  },
};
