/**
 * Registers transferkit's webgpu training kernels: filter gradients that keep the GPU busy, and
 * hand-written WGSL kernels that replace TF.js compositions of many dispatches (Adam, training
 * BatchNorm, the ReLU6 gradient; `kernels/`). Count them with `countGpuDispatches`.
 *
 * Why (measured on an NVIDIA H200 through Dawn/Vulkan, MobileNetV2 1.0, batch 32, 224 px, GPU
 * timestamps): tfjs-backend-webgpu 4.22's `Conv2DBackpropFilter` took 756 ms and
 * `DepthwiseConv2dNativeBackpropFilter` 295 ms of a 1131 ms step (93 %): each output filter
 * element loops serially over batch × height × width, so a 1×1 convolution's gradient (a few
 * thousand outputs, 400 k terms each) leaves the GPU idle. Instead:
 * - conv filter gradient: im2col + ONE matmul (`cols^T @ dy`; 1×1: the transpose read inside the
 *   matmul, `kernels/FilterGrad.ts`);
 * - depthwise filter gradient: a WGSL reduction over the output positions (`'wgsl'`, default since
 *   2026-12-07, 2 dispatches; not yet timed on a GPU), the wasm kernel's single depthwise
 *   convolution with the batch folded into channels (`'fold'`), or per filter tap an elementwise
 *   product and a reduction over batch × height × width (`'taps'`). Same H200 step: GPU time
 *   201 ms with 'fold', 230 ms with 'taps' (which also dispatches 544 more kernels), 1131 ms stock.
 * References: docs/performance.md ("WebGPU").
 */
import * as tf from '@tensorflow/tfjs-core';
import { asTensor, convGeometry, padForTaps, tapWindow } from '../../ops/_conv_util.js';
import { depthwiseConv2dNativeBackpropFilterConfig } from '../wasm/kernels/DepthwiseConv2dNativeBackpropFilter.js';
import { adamUpdateWebgpuConfig } from './kernels/AdamUpdate.js';
import { batchNormActTrainGradWebgpuConfig, batchNormActTrainWebgpuConfig, batchNormTrainGradWebgpuConfig, batchNormTrainWebgpuConfig } from './kernels/BatchNormTrain.js';
import { clipByValueGradWebgpuConfig } from './kernels/ClipByValueGrad.js';
import { conv2DBackpropFilterWebgpuConfig, depthwiseFilterGradWebgpuConfig } from './kernels/FilterGrad.js';
import { sumWebgpuConfig } from './kernels/ColumnSum.js';
import { crossEntropyGradWebgpuConfig, crossEntropyWebgpuConfig } from './kernels/CrossEntropy.js';
import { multiclassHitsWebgpuConfig } from './kernels/MulticlassHits.js';
import { foldBatchNormWebgpuConfig } from './kernels/FoldBatchNorm.js';

/** transferkit's hand-written WGSL kernels (one dispatch or a few where TF.js's composition takes many). */
const WGSL_KERNELS: ReadonlyArray<[tf.KernelConfig, string]> = [
  [adamUpdateWebgpuConfig, 'one dispatch per parameter'],
  [batchNormTrainWebgpuConfig, '2 dispatches, moving statistics included'],
  [batchNormTrainGradWebgpuConfig, '2 dispatches'],
  [batchNormActTrainWebgpuConfig, 'BN + ReLU/ReLU6, 2 dispatches'],
  [batchNormActTrainGradWebgpuConfig, 'BN + ReLU/ReLU6, 2 dispatches'],
  [clipByValueGradWebgpuConfig, '1 dispatch'],
  [crossEntropyWebgpuConfig, 'categorical cross-entropy, 1 dispatch'],
  [crossEntropyGradWebgpuConfig, '1 dispatch'],
  [multiclassHitsWebgpuConfig, 'accuracy count, 1 dispatch'],
  [foldBatchNormWebgpuConfig, 'inference BN folding weights, 1 dispatch per layer'],
];

/** How the depthwise filter gradient runs on webgpu: a WGSL reduction (default), or composed of TF.js ops. */
export type DepthwiseFilterGradMethod = 'wgsl' | 'taps' | 'fold';

/** dW[i, j, c, m] = Σ_{n, oh, ow} x_tap(i, j)[n, oh, ow, c] · dy[n, oh, ow, c·M + m]. */
const depthwiseFilterTaps: tf.KernelConfig = {
  kernelName: tf.DepthwiseConv2dNativeBackpropFilter,
  backendName: 'webgpu',
  kernelFunc: ({ inputs, attrs }) => {
    const { x, dy } = inputs as unknown as { x: tf.TensorInfo; dy: tf.TensorInfo };
    const { strides, dilations, pad, dimRoundingMode, filterShape } = attrs as unknown as tf.DepthwiseConv2dNativeBackpropFilterAttrs;
    return tf.tidy(() => {
      const g = convGeometry(tf.DepthwiseConv2dNativeBackpropFilter, x.shape, filterShape, strides, pad, dilations, dimRoundingMode, true, 'NHWC');
      const [kh, kw, c, mult] = filterShape;
      const xp = padForTaps(asTensor<tf.Tensor4D>(x), g);
      const dy5 = tf.reshape(asTensor<tf.Tensor4D>(dy), [g.batch, g.outHeight, g.outWidth, c, mult]);
      const taps: tf.Tensor[] = [];
      for (let i = 0; i < kh; i++) {
        for (let j = 0; j < kw; j++) {
          const win = tf.expandDims(tapWindow(xp, g, i, j), 4); // [N, Ho, Wo, C, 1]
          taps.push(tf.sum(tf.mul(win, dy5), [0, 1, 2])); // [C, M]
        }
      }
      return tf.reshape(tf.stack(taps), [kh, kw, c, mult]);
    });
  },
};

let registered: DepthwiseFilterGradMethod | null = null;

function replace(config: tf.KernelConfig): void {
  if (tf.getKernel(config.kernelName, 'webgpu') !== undefined) tf.unregisterKernel(config.kernelName, 'webgpu');
  tf.registerKernel(config);
}

/**
 * Registers the composed filter-gradient kernels for webgpu (idempotent; a second call with
 * another `depthwise` method switches it). Returns the kernel names it (re)registered.
 */
export function registerWebgpuTrainingKernels(options: { depthwise?: DepthwiseFilterGradMethod } = {}): string[] {
  const depthwise = options.depthwise ?? 'wgsl';
  if (registered === depthwise) return [];
  const added: string[] = [];
  if (registered === null) {
    replace(conv2DBackpropFilterWebgpuConfig);
    added.push(`${tf.Conv2DBackpropFilter} (1x1: one transposed-operand matmul; else im2col + matmul)`);
    for (const [config, note] of WGSL_KERNELS) {
      replace(config);
      added.push(`${config.kernelName} (WGSL, ${note})`);
    }
    const stockSum = tf.getKernel(tf.Sum, 'webgpu');
    if (stockSum !== undefined) {
      replace(sumWebgpuConfig(stockSum));
      added.push(`${tf.Sum} (leading axes: one WGSL dispatch instead of a transpose and a reduction)`);
    }
  }
  replace(depthwise === 'taps' ? depthwiseFilterTaps : depthwise === 'fold' ? { ...depthwiseConv2dNativeBackpropFilterConfig, backendName: 'webgpu' } : depthwiseFilterGradWebgpuConfig);
  added.push(`${tf.DepthwiseConv2dNativeBackpropFilter} (${depthwise})`);
  registered = depthwise;
  return added;
}
