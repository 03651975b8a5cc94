/**
 * Keras' categorical cross-entropy on softmax probabilities (`train/losses.ts` `crossEntropy`;
 * float32 or int32 one-hot targets),
 * forward and gradient, one dispatch each on webgpu (the composed ops take ~8 each: the NaN-keeping
 * clip, log, product, sums, mean, negation). NaN is detected from the bit pattern, because WGSL
 * lets compilers assume floats are never NaN, and the training loop's divergence guard must still
 * see a NaN loss when the model produced NaN.
 */
import * as tf from '@tensorflow/tfjs-core';
import { CrossEntropy, CrossEntropyGrad } from '../../../kernel_names.js';
import { grid1d, runWgsl, wgslBindings } from '../run_wgsl.js';

const WG = 256;
const NAN = 'fn isNan(v: f32) -> bool { return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u; }';

/** Per example −Σ_k t·log(clip(p, eps, 1)) (NaN kept), then the mean over examples, in one workgroup. */
function forwardCode(int: boolean): () => string {
  return () => `${wgslBindings(['loss'], ['p', int ? 't:i32' : 't'], [['rows', 'u32'], ['k', 'u32'], ['eps', 'f32']])}
${NAN}
var<workgroup> part: array<f32, ${WG}>;
@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_index) lid: u32) {
  var a = 0.0;
  for (var r = lid; r < u.rows; r = r + ${WG}u) {
    var s = 0.0;
    for (var j = 0u; j < u.k; j = j + 1u) {
      let v = p[r * u.k + j];
      let pc = select(clamp(v, u.eps, 1.0), v, isNan(v));
      s = s + f32(t[r * u.k + j]) * log(pc);
    }
    a = a - s;
  }
  part[lid] = a;
  workgroupBarrier();
  if (lid == 0u) {
    var total = 0.0;
    for (var i = 0u; i < ${WG}u; i = i + 1u) { total = total + part[i]; }
    loss[0] = total / f32(u.rows);
  }
}`;
}

/** d loss / d p = ((−dy / N) · t) / p where eps ≤ p ≤ 1 (the clip's own gradient), NaN where p is NaN, else 0. */
function gradCode(int: boolean): () => string {
  return () => `${wgslBindings(['dp'], ['dy', 'p', int ? 't:i32' : 't'], [['n', 'u32'], ['rows', 'u32'], ['eps', 'f32']])}
${NAN}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * ${WG}u + lid;
  if (i >= u.n) { return; }
  let v = p[i];
  let g = (-(dy[0] / f32(u.rows))) * f32(t[i]);
  if (isNan(v)) {
    dp[i] = g / v;
  } else if (v >= u.eps && v <= 1.0) {
    dp[i] = g / v;
  } else {
    dp[i] = 0.0;
  }
}`;
}

export const crossEntropyWebgpuConfig: tf.KernelConfig = {
  kernelName: CrossEntropy,
  backendName: 'webgpu',
  kernelFunc: ({ inputs, attrs }) => {
    const { probs, target } = inputs as unknown as { probs: tf.TensorInfo; target: tf.TensorInfo };
    const { epsilon } = attrs as unknown as { epsilon: number };
    const k = probs.shape[probs.shape.length - 1];
    const rows = tf.util.sizeFromShape(probs.shape) / k;
    return runWgsl({ name: CrossEntropy, variant: target.dtype, code: forwardCode(target.dtype === 'int32'), inputs: [probs, target], outputs: [{ shape: [], dtype: 'float32' }], uniforms: [{ type: 'uint32', value: rows }, { type: 'uint32', value: k }, { type: 'float32', value: epsilon }], workgroups: [1, 1, 1] })[0];
  },
};

export const crossEntropyGradWebgpuConfig: tf.KernelConfig = {
  kernelName: CrossEntropyGrad,
  backendName: 'webgpu',
  kernelFunc: ({ inputs, attrs }) => {
    const { dy, probs, target } = inputs as unknown as { dy: tf.TensorInfo; probs: tf.TensorInfo; target: tf.TensorInfo };
    const { epsilon } = attrs as unknown as { epsilon: number };
    const n = tf.util.sizeFromShape(probs.shape);
    const rows = n / probs.shape[probs.shape.length - 1];
    return runWgsl({ name: CrossEntropyGrad, variant: target.dtype, code: gradCode(target.dtype === 'int32'), inputs: [dy, probs, target], outputs: [{ shape: probs.shape.slice(), dtype: 'float32' }], uniforms: [{ type: 'uint32', value: n }, { type: 'uint32', value: rows }, { type: 'float32', value: epsilon }], workgroups: grid1d(Math.ceil(n / WG)) })[0];
  },
};
