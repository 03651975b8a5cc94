/**
 * `TkAdamUpdate` on wasm: the whole Adam/AdamW update of one parameter in one SIMD pass
 * (`../simd/adam_update.wat`), bit-identical to the composed ops of `ops/adam_step.ts`
 * (same operations, same order, float32, no fused multiply-add). Falls back to the composed
 * ops where the SIMD kernels cannot run.
 */
import * as tf from '@tensorflow/tfjs-core';
import { asTensor } from '../../../ops/_conv_util.js';
import { AdamUpdate } from '../../../kernel_names.js';
import { adamStepComposed, type AdamStepAttrs } from '../../../ops/adam_step.js';
import { simdKernels } from '../simd/simd_kernels.js';

export const adamUpdateConfig: tf.KernelConfig = {
  kernelName: AdamUpdate,
  backendName: 'wasm',
  kernelFunc: ({ inputs, attrs, backend }) => {
    const { p, g, m, v } = inputs as unknown as Record<'p' | 'g' | 'm' | 'v', tf.TensorInfo>;
    const a = attrs as unknown as AdamStepAttrs;
    const simd = simdKernels(backend);
    if (simd === null) {
      return tf.tidy(() => adamStepComposed(asTensor(p), asTensor(g), asTensor(m), asTensor(v), a)) as unknown as tf.TensorInfo[];
    }
    const n = tf.util.sizeFromShape(p.shape);
    const [op, om, ov] = [simd.output(p.shape), simd.output(p.shape), simd.output(p.shape)];
    const { lr, beta1: b1, beta2: b2, epsilon: eps, weightDecay: wd, decoupled, t } = a;
    simd.adamUpdate(
      simd.offset(p), simd.offset(g), simd.offset(m), simd.offset(v), op.offset, om.offset, ov.offset, n,
      b1, 1 - b1, b2, 1 - b2, Math.sqrt(1 - b2 ** t), eps, lr / (1 - b1 ** t),
      wd !== 0 && decoupled ? 1 - lr * wd : 1, wd, wd !== 0 && !decoupled ? 1 : 0,
    );
    return [op.info, om.info, ov.info];
  },
};
