/**
 * Replaces the webgpu backend's filter-gradient kernels with composed ones.
 *
 * Why (measured on an NVIDIA H200 through Dawn/Vulkan, MobileNetV2 1.0, batch 32, 224 px, GPU
 * timestamps): tfjs-backend-webgpu 4.22's `Conv2DBackpropFilter` took 756 ms and
 * `DepthwiseConv2dNativeBackpropFilter` 295 ms of a 1131 ms step (93 %): each output filter
 * element loops serially over batch × height × width, so a 1×1 convolution's gradient (a few
 * thousand outputs, 400 k terms each) leaves the GPU idle. As compositions of native ops:
 * - conv filter gradient: im2col + ONE matmul (`cols^T @ dy`), the formulation the wasm kernel uses;
 * - depthwise filter gradient: the wasm kernel's single depthwise convolution with the batch
 *   folded into channels (`'fold'`, default), or per filter tap an elementwise product and a
 *   reduction over batch × height × width (`'taps'`). Same H200 step: GPU time 201 ms with
 *   'fold', 230 ms with 'taps' (which also dispatches 544 more kernels), 1131 ms stock.
 * References: docs/performance.md ("WebGPU").
 */
import * as tf from '@tensorflow/tfjs-core';
import { asTensor, convGeometry, padForTaps, tapWindow } from '../../ops/_conv_util.js';
import { conv2DBackpropFilterConfig } from '../wasm/kernels/Conv2DBackpropFilter.js';
import { depthwiseConv2dNativeBackpropFilterConfig } from '../wasm/kernels/DepthwiseConv2dNativeBackpropFilter.js';

/** How the depthwise filter gradient is composed on webgpu. */
export type DepthwiseFilterGradMethod = 'taps' | 'fold';

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
  const depthwise = options.depthwise ?? 'fold';
  if (registered === depthwise) return [];
  const added: string[] = [];
  if (registered === null) {
    replace({ ...conv2DBackpropFilterConfig, backendName: 'webgpu' });
    added.push(`${tf.Conv2DBackpropFilter} (im2col + matmul)`);
  }
  replace(depthwise === 'taps' ? depthwiseFilterTaps : { ...depthwiseConv2dNativeBackpropFilterConfig, backendName: 'webgpu' });
  added.push(`${tf.DepthwiseConv2dNativeBackpropFilter} (${depthwise})`);
  registered = depthwise;
  return added;
}
