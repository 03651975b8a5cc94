/**
 * The gradient of `clipByValue` — every ReLU6 of MobileNetV2 — as ONE kernel.
 *
 * Why: tfjs-core's gradient is `where(logicalAnd(x >= min, x <= max), dy, zerosLike(dy))`: five
 * kernels and four full-size temporaries per layer. On wasm those element-wise kernels are
 * single-threaded loops; measured here they took 563 ms of a 2.4 s MobileNetV2 training step
 * (96 px, batch 32, 36 ReLU6 layers). On wasm the kernel below is one JavaScript pass over the
 * backend's heap (no temporaries), four values per instruction where wasm SIMD runs
 * (`backends/wasm/simd/clip_by_value_grad.wat`); on other backends it is tfjs-core's formula unchanged. The
 * values are identical to tfjs-core's gradient, NaN included (a NaN x gives 0).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { asTensor } from '../backends/_conv_util.js';
import { simdKernels } from '../backends/wasm/simd/simd_kernels.js';
import { ClipByValueGrad } from '../kernel_names.js';

interface ClipAttrs {
  clipValueMin: number;
  clipValueMax: number;
}

function wasmKernel(): tf.KernelConfig {
  return {
    kernelName: ClipByValueGrad,
    backendName: 'wasm',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const { dy, x } = inputs as unknown as { dy: tf.TensorInfo; x: tf.TensorInfo };
      const { clipValueMin: lo, clipValueMax: hi } = attrs as unknown as ClipAttrs;
      const simd = simdKernels(backend);
      if (simd !== null) {
        const res = simd.output(x.shape);
        simd.clipByValueGrad(simd.offset(dy), simd.offset(x), res.offset, tf.util.sizeFromShape(x.shape), lo, hi);
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
        ob[i] = gb[i] & -(Number(v >= lo) & Number(v <= hi));
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
      const { clipValueMin: lo, clipValueMax: hi } = attrs as unknown as ClipAttrs;
      return tf.tidy(() => {
        const xt = asTensor<tf.Tensor>(x);
        const g = asTensor<tf.Tensor>(dy);
        return tf.where(tf.logicalAnd(tf.greaterEqual(xt, lo), tf.lessEqual(xt, hi)), g, tf.zerosLike(g));
      }) as unknown as tf.TensorInfo;
    },
  };
}

function ensureKernel(): void {
  const backend = tf.getBackend();
  if (tf.getKernel(ClipByValueGrad, backend) === undefined) tf.registerKernel(backend === 'wasm' ? wasmKernel() : composedKernel(backend));
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
          ensureKernel();
          // Same dtype rule as tfjs-core's `where`: float inputs only (ReLU6 activations are float32).
          if (x.dtype !== 'float32' || (dy as tf.Tensor).dtype !== 'float32') {
            return tf.where(tf.logicalAnd(tf.greaterEqual(x, clipValueMin), tf.lessEqual(x, clipValueMax)), dy as tf.Tensor, tf.zerosLike(dy as tf.Tensor));
          }
          return tf.engine().runKernel(ClipByValueGrad, { dy: dy as tf.Tensor, x }, { clipValueMin, clipValueMax } as unknown as tf.NamedAttrMap) as tf.Tensor;
        },
      };
    },
  });
}
