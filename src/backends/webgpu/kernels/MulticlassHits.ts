/**
 * The training step's accuracy count for multiclass heads (`train/losses.ts` `taskMetricSum`):
 * Σ_n [argmax(out_n) = argmax(target_n)], first index on ties as `tf.argMax`, in one dispatch on
 * webgpu (composed: two arg-maxes, a comparison, a cast and a sum).
 */
import * as tf from '@tensorflow/tfjs-core';
import { MulticlassHits } from '../../../kernel_names.js';
import { runWgsl, wgslBindings } from '../run_wgsl.js';

const WG = 256;

function code(int: boolean): () => string {
  return () => `${wgslBindings(['hits'], ['out', int ? 't:i32' : 't'], [['rows', 'u32'], ['k', 'u32']])}
var<workgroup> part: array<f32, ${WG}>;
@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_index) lid: u32) {
  var a = 0.0;
  for (var r = lid; r < u.rows; r = r + ${WG}u) {
    var bo = 0u;
    var bt = 0u;
    for (var j = 1u; j < u.k; j = j + 1u) {
      if (out[r * u.k + j] > out[r * u.k + bo]) { bo = j; }
      if (t[r * u.k + j] > t[r * u.k + bt]) { bt = j; }
    }
    a = a + select(0.0, 1.0, bo == bt);
  }
  part[lid] = a;
  workgroupBarrier();
  if (lid == 0u) {
    var total = 0.0;
    for (var i = 0u; i < ${WG}u; i = i + 1u) { total = total + part[i]; }
    hits[0] = total;
  }
}`;
}

export const multiclassHitsWebgpuConfig: tf.KernelConfig = {
  kernelName: MulticlassHits,
  backendName: 'webgpu',
  kernelFunc: ({ inputs }) => {
    const { out, target } = inputs as unknown as { out: tf.TensorInfo; target: tf.TensorInfo };
    const k = out.shape[out.shape.length - 1];
    const rows = tf.util.sizeFromShape(out.shape) / k;
    return runWgsl({ name: MulticlassHits, variant: target.dtype, code: code(target.dtype === 'int32'), inputs: [out, target], outputs: [{ shape: [], dtype: 'float32' }], uniforms: [{ type: 'uint32', value: rows }, { type: 'uint32', value: k }], workgroups: [1, 1, 1] })[0];
  },
};
