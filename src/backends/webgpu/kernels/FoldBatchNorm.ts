/**
 * Inference-time BatchNorm folding's weights (`layers/fold_batch_norm.ts`) in one dispatch on
 * webgpu: W' = W · scale (per output channel), b' = (b − mean) · scale + beta with
 * scale = gamma / sqrt(var + eps), the composed ops' order. Composed, they are ~8 small dispatches
 * per folded convolution on every inference call (MobileNetV2: ~400 of a ~490-dispatch batch).
 * Optional inputs (gamma, beta, the convolution's bias) default to ones, zeros, zeros.
 */
import * as tf from '@tensorflow/tfjs-core';
import { FoldBatchNorm } from '../../../kernel_names.js';
import { grid1d, runWgsl, wgslBindings } from '../run_wgsl.js';

const WG = 256;

function code(gamma: boolean, beta: boolean, bias: boolean): () => string {
  const inputs = ['w', 'mean', 'variance', ...(gamma ? ['gamma'] : []), ...(beta ? ['beta'] : []), ...(bias ? ['bias'] : [])];
  return () => `${wgslBindings(['wOut', 'bOut'], inputs, [['n', 'u32'], ['c', 'u32'], ['eps', 'f32']])}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * ${WG}u + lid;
  if (i >= u.n) { return; }
  let c = i % u.c;
  let scale = ${gamma ? 'gamma[c]' : '1.0'} / sqrt(variance[c] + u.eps);
  wOut[i] = w[i] * scale;
  if (i < u.c) { bOut[i] = (${bias ? 'bias[i]' : '0.0'} - mean[i]) * scale + ${beta ? 'beta[i]' : '0.0'}; }
}`;
}

export const foldBatchNormWebgpuConfig: tf.KernelConfig = {
  kernelName: FoldBatchNorm,
  backendName: 'webgpu',
  kernelFunc: ({ inputs, attrs }) => {
    const { filter, mean, variance, gamma, beta, bias } = inputs as unknown as Record<'filter' | 'mean' | 'variance', tf.TensorInfo> & Partial<Record<'gamma' | 'beta' | 'bias', tf.TensorInfo>>;
    const { epsilon } = attrs as unknown as { epsilon: number };
    const n = tf.util.sizeFromShape(filter.shape);
    const c = tf.util.sizeFromShape(mean.shape);
    const given = [gamma, beta, bias].map((t) => t !== undefined);
    return runWgsl({
      name: FoldBatchNorm,
      variant: given.map((g) => (g ? '1' : '0')).join(''),
      code: code(given[0], given[1], given[2]),
      inputs: [filter, mean, variance, ...[gamma, beta, bias].filter((t): t is tf.TensorInfo => t !== undefined)],
      outputs: [{ shape: filter.shape.slice(), dtype: 'float32' }, { shape: [c], dtype: 'float32' }],
      uniforms: [{ type: 'uint32', value: n }, { type: 'uint32', value: c }, { type: 'float32', value: epsilon }],
      workgroups: grid1d(Math.ceil(Math.max(n, c) / WG)),
    });
  },
};
