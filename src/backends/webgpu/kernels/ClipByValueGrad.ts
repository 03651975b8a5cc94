/**
 * `TkClipByValueGrad` on webgpu (the ReLU6 gradient of the zoo's MobileNets, and ReLU's): one
 * dispatch, `dy` where `min <= x <= max` (`min < x` with `lowerExclusive`), else +0 — tfjs-core's
 * composition is five dispatches (two comparisons, a logical and, zeros, a select). Infinite
 * bounds become flags (WGSL may assume no infinities); with `nanThrough` a NaN `x` gives NaN, as
 * tfjs-core's ReLU gradient `dy * step(x)` does (NaN is found from its bits, for the same reason).
 */
import * as tf from '@tensorflow/tfjs-core';
import { ClipByValueGrad } from '../../../kernel_names.js';
import { grid1d, runWgsl, wgslBindings } from '../run_wgsl.js';

const WG = 256;

function code(): string {
  return `${wgslBindings(['dx'], ['dy', 'x'], [['n', 'u32'], ['lowerExclusive', 'u32'], ['hasLo', 'u32'], ['hasHi', 'u32'], ['nanThrough', 'u32'], ['lo', 'f32'], ['hi', 'f32']])}
fn isNan(v: f32) -> bool { return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u; }
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * ${WG}u + lid;
  if (i >= u.n) { return; }
  let v = x[i];
  let above = u.hasLo == 0u || select(v >= u.lo, v > u.lo, u.lowerExclusive == 1u);
  let below = u.hasHi == 0u || v <= u.hi;
  let nan = isNan(v);
  dx[i] = select(select(0.0, dy[i], above && below && !nan), v, nan && u.nanThrough == 1u);
}`;
}

export const clipByValueGradWebgpuConfig: tf.KernelConfig = {
  kernelName: ClipByValueGrad,
  backendName: 'webgpu',
  kernelFunc: ({ inputs, attrs }) => {
    const { dy, x } = inputs as unknown as { dy: tf.TensorInfo; x: tf.TensorInfo };
    const { clipValueMin, clipValueMax, lowerExclusive = false, nanThrough = false } = attrs as unknown as { clipValueMin: number; clipValueMax: number; lowerExclusive?: boolean; nanThrough?: boolean };
    const n = tf.util.sizeFromShape(x.shape);
    const [hasLo, hasHi] = [Number.isFinite(clipValueMin), Number.isFinite(clipValueMax)];
    return runWgsl({
      name: ClipByValueGrad,
      variant: 'v1',
      code,
      inputs: [dy, x],
      outputs: [{ shape: x.shape.slice(), dtype: 'float32' }],
      uniforms: [
        ...[n, lowerExclusive ? 1 : 0, hasLo ? 1 : 0, hasHi ? 1 : 0, nanThrough ? 1 : 0].map((value) => ({ type: 'uint32' as const, value })),
        { type: 'float32', value: hasLo ? clipValueMin : 0 },
        { type: 'float32', value: hasHi ? clipValueMax : 0 },
      ],
      workgroups: grid1d(Math.ceil(n / WG)),
    })[0];
  },
};
