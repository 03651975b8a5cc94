/**
 * The gradient of `clipByValue` — every ReLU6 of MobileNetV2 — as ONE kernel.
 *
 * Why: tfjs-core's gradient is `where(logicalAnd(x >= min, x <= max), dy, zerosLike(dy))`: five
 * kernels and four full-size temporaries per layer. On wasm those element-wise kernels are
 * single-threaded loops; measured here they took 563 ms of a 2.4 s MobileNetV2 training step
 * (96 px, batch 32, 36 ReLU6 layers). On wasm the kernel below is one JavaScript pass over the
 * backend's heap (no temporaries), four values per instruction where wasm SIMD runs
 * (`backends/wasm/simd/clip_by_value_grad.wat`); on webgpu one WGSL dispatch (`webgpu/kernels/ClipByValueGrad.ts`);
 * on other backends it is tfjs-core's formula unchanged. The
 * values are identical to tfjs-core's gradient, NaN included (a NaN x gives 0).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { asTensor } from '../ops/_conv_util.js';
import { simdKernels } from './wasm/simd/simd_kernels.js';
import { ClipByValueGrad } from '../kernel_names.js';

interface ClipAttrs {
  clipValueMin: number;
  clipValueMax: number;
  /** Mask `min < x <= max` instead of `min <= x <= max` (see {@link clippedRelu}). */
  lowerExclusive?: boolean;
}

function wasmKernel(): tf.KernelConfig {
  return {
    kernelName: ClipByValueGrad,
    backendName: 'wasm',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const { dy, x } = inputs as unknown as { dy: tf.TensorInfo; x: tf.TensorInfo };
      const { clipValueMin: lo, clipValueMax: hi, lowerExclusive = false } = attrs as unknown as ClipAttrs;
      const simd = simdKernels(backend);
      if (simd !== null) {
        const res = simd.output(x.shape);
        simd.clipByValueGrad(simd.offset(dy), simd.offset(x), res.offset, tf.util.sizeFromShape(x.shape), lo, hi, lowerExclusive ? 1 : 0);
        return res.info;
      }
      const b = backend as unknown as BackendWasm;
      const out = b.makeOutput(x.shape, 'float32');
      const xv = b.typedArrayFromHeap(x) as Float32Array;
      const g = b.typedArrayFromHeap(dy) as Float32Array;
      const o = b.typedArrayFromHeap(out) as Float32Array;
      // dy's bit pattern AND-ed with an all-ones or all-zeros mask: branch-free (ReLU6 inputs fall
      // on both sides at random, so a branch mispredicts half the time: 56 vs 16 ms on 14 M
      // values), and exactly tfjs-core's values: dy's bits where kept (NaN too), +0 elsewhere.
      const gb = new Uint32Array(g.buffer, g.byteOffset, g.length);
      const ob = new Uint32Array(o.buffer, o.byteOffset, o.length);
      for (let i = 0; i < ob.length; i++) {
        const v = xv[i];
        ob[i] = gb[i] & -(Number(lowerExclusive ? v > lo : v >= lo) & Number(v <= hi));
      }
      return out;
    },
  };
}

function composedKernel(backendName: string): tf.KernelConfig {
  return {
    kernelName: ClipByValueGrad,
    backendName,
    kernelFunc: ({ inputs, attrs }) => {
      const { dy, x } = inputs as unknown as { dy: tf.TensorInfo; x: tf.TensorInfo };
      const { clipValueMin: lo, clipValueMax: hi, lowerExclusive = false } = attrs as unknown as ClipAttrs;
      return tf.tidy(() => {
        const xt = asTensor<tf.Tensor>(x);
        const g = asTensor<tf.Tensor>(dy);
        return tf.where(tf.logicalAnd(lowerExclusive ? tf.greater(xt, lo) : tf.greaterEqual(xt, lo), tf.lessEqual(xt, hi)), g, tf.zerosLike(g));
      }) as unknown as tf.TensorInfo;
    },
  };
}

function ensureKernel(): void {
  const backend = tf.getBackend();
  if (tf.getKernel(ClipByValueGrad, backend) === undefined) tf.registerKernel(backend === 'wasm' ? wasmKernel() : composedKernel(backend));
}

/** `dy` where `min <= x <= max` (`min < x` when `lowerExclusive`), else +0: one kernel. */
export function clipByValueGrad(dy: tf.Tensor, x: tf.Tensor, min: number, max: number, lowerExclusive = false): tf.Tensor {
  ensureKernel();
  if (x.dtype !== 'float32' || dy.dtype !== 'float32') {
    return tf.where(tf.logicalAnd(lowerExclusive ? tf.greater(x, min) : tf.greaterEqual(x, min), tf.lessEqual(x, max)), dy, tf.zerosLike(dy));
  }
  return tf.engine().runKernel(ClipByValueGrad, { dy, x }, { clipValueMin: min, clipValueMax: max, lowerExclusive } as unknown as tf.NamedAttrMap) as tf.Tensor;
}

/**
 * tfjs-layers' `ReLU({ maxValue })` — `clipByValue(relu(x), 0, max)` — as ONE forward kernel
 * (`clipByValue(x, 0, max)`, the same values) and ONE gradient kernel: `dy` where `0 < x <= max`,
 * exactly the composition's mask (relu's step is 0 at x = 0). The composition costs two forward
 * passes and three backward ones (clip mask, step, multiply) per layer: MobileNetV2 has 35.
 * Gradients equal the composition's up to the sign of zeros (it gives -0 where dy < 0 is masked).
 */
export function clippedRelu(x: tf.Tensor, max: number): tf.Tensor {
  registerClipByValueGrad();
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const xi = args[0] as tf.Tensor;
    (args[1] as tf.GradSaveFunc)([xi]);
    return {
      value: tf.clipByValue(xi, 0, max),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => clipByValueGrad(dy as tf.Tensor, saved[0], 0, max, true),
    };
  });
  return (op as (x: tf.Tensor) => tf.Tensor)(x);
}

let registered = false;

/** Replaces tfjs-core's `ClipByValue` gradient with the one-kernel version (idempotent). */
export function registerClipByValueGrad(): void {
  if (registered) return;
  registered = true;
  tf.registerGradient({
    kernelName: tf.ClipByValue,
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved;
      const { clipValueMin, clipValueMax } = attrs as unknown as ClipAttrs;
      return {
        x: () => {
          // Same dtype rule as tfjs-core's `where`: float inputs only (ReLU6 activations are float32).
          return clipByValueGrad(dy as tf.Tensor, x, clipValueMin, clipValueMax);
        },
      };
    },
  });
}

let reluRegistered = false;

/**
 * ReLU's gradient as one kernel on webgpu: `dy` where `x > 0`, NaN where `x` is NaN, else +0 (the
 * ReLU6 gradient's WGSL kernel with bounds (0, ∞)). tfjs-core's is `dy * step(x)`, two dispatches;
 * the one difference: where `dy < 0` and `x <= 0` it gives +0 (tfjs-core: −0). Other backends keep
 * tfjs-core's formula exactly. Idempotent.
 */
export function registerReluGrad(): void {
  if (reluRegistered) return;
  reluRegistered = true;
  tf.registerGradient({
    kernelName: tf.Relu,
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => {
      const [x] = saved;
      return {
        x: () => {
          const d = dy as tf.Tensor;
          if (tf.getBackend() === 'webgpu' && x.dtype === 'float32' && d.dtype === 'float32' && x.size > 0) {
            registerClipByValueGrad();
            ensureKernel();
            return tf.engine().runKernel(ClipByValueGrad, { dy: d, x }, { clipValueMin: 0, clipValueMax: Infinity, lowerExclusive: true, nanThrough: true } as unknown as tf.NamedAttrMap) as tf.Tensor;
          }
          return tf.mul(d, tf.cast(tf.step(x), 'float32'));
        },
      };
    },
  });
}
