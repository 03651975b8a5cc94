/**
 * `Sum` over every axis but the last on webgpu (bias gradients: one per convolution or dense
 * layer with a bias). TF.js's webgpu `Sum` first transposes the reduced axes innermost (a
 * `TransposeProgram` dispatch), then reduces. Here a workgroup is 64 columns × 4 row lanes (rows
 * read coalesced along columns): up to 8,192 rows one pass sums them all (1 dispatch); above, a
 * first pass sums slices of ≥ 64 rows (≤ 256 slices, so many workgroups share a long column) and
 * a second adds the slices (2 dispatches, as TF.js's). Other reductions, and more columns than
 * one grid dimension holds, run TF.js's own kernel.
 */
import * as tf from '@tensorflow/tfjs-core';
import { maxWorkgroupsPerDimension, runWgsl, wgslBindings } from '../run_wgsl.js';

const CH = 64;
const LANES = 4;
const SINGLE_PASS_ROWS = 8192;

/** Sums rows [slice·rps, (slice+1)·rps) of each column into out[slice, column]. */
function partialsCode(): string {
  return `${wgslBindings(['out'], ['x'], [['rows', 'u32'], ['c', 'u32'], ['rps', 'u32']])}
var<workgroup> acc: array<f32, ${CH * LANES}>;
@compute @workgroup_size(${CH}, ${LANES})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let c = wid.x * ${CH}u + lid.x;
  let start = wid.y * u.rps;
  let end = min(u.rows, start + u.rps);
  var a = 0.0;
  if (c < u.c) {
    for (var r = start + lid.y; r < end; r = r + ${LANES}u) { a = a + x[r * u.c + c]; }
  }
  acc[lid.y * ${CH}u + lid.x] = a;
  workgroupBarrier();
  if (lid.y == 0u && c < u.c) {
    var b = 0.0;
    for (var k = 0u; k < ${LANES}u; k = k + 1u) { b = b + acc[k * ${CH}u + lid.x]; }
    out[wid.y * u.c + c] = b;
  }
}`;
}

const u32 = (value: number) => ({ type: 'uint32' as const, value });

/** Wraps TF.js's webgpu `Sum` with the sum over the leading axes. */
export function sumWebgpuConfig(stock: tf.KernelConfig): tf.KernelConfig {
  return {
    ...stock,
    kernelFunc: (args) => {
      const { x } = args.inputs as unknown as { x: tf.TensorInfo };
      const { axis, keepDims } = args.attrs as unknown as tf.SumAttrs;
      const rank = x.shape.length;
      const axes = tf.util.parseAxisParam(axis, x.shape).sort((a, b) => a - b);
      const leading = rank >= 2 && axes.length === rank - 1 && axes.every((a, i) => a === i);
      const c = x.shape[rank - 1];
      const rows = tf.util.sizeFromShape(x.shape) / Math.max(c, 1);
      if (!leading || x.dtype !== 'float32' || c === 0 || rows === 0 || Math.ceil(c / CH) > maxWorkgroupsPerDimension()) return stock.kernelFunc(args);
      const shape = keepDims ? [...x.shape.slice(0, -1).map(() => 1), c] : [c];
      if (rows <= SINGLE_PASS_ROWS) {
        return runWgsl({ name: 'TkColumnSum', variant: 'partials', code: partialsCode, inputs: [x], outputs: [{ shape, dtype: 'float32' }], uniforms: [u32(rows), u32(c), u32(rows)], workgroups: [Math.ceil(c / CH), 1, 1] })[0];
      }
      const rps = Math.max(64, Math.ceil(rows / 256));
      const slices = Math.ceil(rows / rps);
      const [partials] = runWgsl({ name: 'TkColumnSum', variant: 'partials', code: partialsCode, inputs: [x], outputs: [{ shape: [slices, c], dtype: 'float32' }], uniforms: [u32(rows), u32(c), u32(rps)], workgroups: [Math.ceil(c / CH), slices, 1] });
      // The slices' sums: the same kernel over the [slices, c] partials, in one slice.
      const [out] = runWgsl({ name: 'TkColumnSum', variant: 'partials', code: partialsCode, inputs: [partials], outputs: [{ shape, dtype: 'float32' }], uniforms: [u32(slices), u32(c), u32(slices)], workgroups: [Math.ceil(c / CH), 1, 1] });
      tf.backend().disposeData(partials.dataId);
      return out;
    },
  };
}
