/**
 * `TkAdamUpdate` on webgpu: the whole Adam/AdamW update of one parameter in ONE dispatch that
 * writes the new parameter and both moments (the composed update of `ops/adam_step.ts` is ~13
 * dispatches per parameter: ~2,000 of a MobileNetV2 step's ~4,300 on webgpu). Same float32
 * operations in the same order as the composed ops; the GPU's `sqrt` and division may differ
 * from the cpu's by an ulp or two (WGSL allows 2.5 ulp), so results match cpu to ~1e-7
 * relative rather than bit for bit (tested).
 *
 * PyTorch's `foreach`/`fused` Adam (the anchor) go further and update every parameter of a
 * group in one launch over flat buffers; TF.js keeps each tensor in its own GPU buffer and WGSL
 * has no arrays of buffers, so one dispatch per parameter is the floor here.
 */
import * as tf from '@tensorflow/tfjs-core';
import { AdamUpdate } from '../../../kernel_names.js';
import type { AdamStepAttrs } from '../../../ops/adam_step.js';
import { grid1d, runWgsl, wgslBindings } from '../run_wgsl.js';

const WG = 256;

function code(): string {
  return `${wgslBindings(['pOut', 'mOut', 'vOut'], ['p', 'g', 'm', 'v'], [
    ['n', 'u32'], ['mode', 'u32'], ['b1', 'f32'], ['c1', 'f32'], ['b2', 'f32'], ['c2', 'f32'],
    ['sbc2', 'f32'], ['eps', 'f32'], ['stepSize', 'f32'], ['decay', 'f32'], ['wd', 'f32'],
  ])}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * ${WG}u + lid;
  if (i >= u.n) { return; }
  var grad = g[i];
  var w = p[i];
  // mode 1: Adam's L2 term added to the gradient; mode 2: AdamW's decoupled decay.
  if (u.mode == 1u) { grad = grad + w * u.wd; }
  if (u.mode == 2u) { w = w * u.decay; }
  let m1 = m[i] * u.b1 + grad * u.c1;
  let v1 = v[i] * u.b2 + (grad * grad) * u.c2;
  let denom = sqrt(v1) / u.sbc2 + u.eps;
  pOut[i] = w - (m1 / denom) * u.stepSize;
  mOut[i] = m1;
  vOut[i] = v1;
}`;
}

export const adamUpdateWebgpuConfig: tf.KernelConfig = {
  kernelName: AdamUpdate,
  backendName: 'webgpu',
  kernelFunc: ({ inputs, attrs }) => {
    const { p, g, m, v } = inputs as unknown as Record<'p' | 'g' | 'm' | 'v', tf.TensorInfo>;
    const { lr, beta1: b1, beta2: b2, epsilon: eps, weightDecay: wd, decoupled, t } = attrs as unknown as AdamStepAttrs;
    const n = tf.util.sizeFromShape(p.shape);
    const f = (value: number) => ({ type: 'float32' as const, value });
    return runWgsl({
      name: AdamUpdate,
      variant: 'v1',
      code,
      inputs: [p, g, m, v],
      outputs: [p, m, v].map(() => ({ shape: p.shape.slice(), dtype: 'float32' as const })),
      uniforms: [
        { type: 'uint32', value: n },
        { type: 'uint32', value: wd === 0 ? 0 : decoupled ? 2 : 1 },
        f(b1), f(1 - b1), f(b2), f(1 - b2), f(Math.sqrt(1 - b2 ** t)), f(eps), f(lr / (1 - b1 ** t)), f(1 - lr * wd), f(wd),
      ],
      // The learning rate and bias corrections change every step.
      volatileUniforms: true,
      workgroups: grid1d(Math.ceil(n / WG)),
    });
  },
};
