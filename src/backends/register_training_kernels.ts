/**
 * Registers the kernels that training needs but tfjs 4.22 lacks (wasm) or runs pathologically
 * slowly (cpu's UnsortedSegmentSum). Idempotent: calling it twice is a no-op, and a kernel that a
 * future tfjs release registers itself is left alone on wasm.
 */
import * as tf from '@tensorflow/tfjs-core';
import { conv2DBackpropFilterConfig } from './wasm/kernels/Conv2DBackpropFilter.js';
import { batchMatMulConfig } from './wasm/kernels/BatchMatMul.js';
import { meanConfig, sumConfig } from './wasm/kernels/Reduce.js';
import { conv2DBackpropInputConfig } from './wasm/kernels/Conv2DBackpropInput.js';
import { identityConfig } from './wasm/kernels/Identity.js';
import { castConfig } from './wasm/kernels/Cast.js';
import { transposeConfig } from './wasm/kernels/Transpose.js';
import { sliceConfig } from './wasm/kernels/Slice.js';
import { maxPoolGradConfig } from './wasm/kernels/MaxPoolGrad.js';
import { adamUpdateConfig } from './wasm/kernels/AdamUpdate.js';
import { batchNormActTrainConfig, batchNormActTrainGradConfig, batchNormTrainConfig, batchNormTrainGradConfig } from './wasm/kernels/BatchNormTrain.js';
import { depthwiseConv2dNativeBackpropFilterConfig } from './wasm/kernels/DepthwiseConv2dNativeBackpropFilter.js';
import { depthwiseConv2dNativeBackpropInputConfig } from './wasm/kernels/DepthwiseConv2dNativeBackpropInput.js';
import { unsortedSegmentSumCpuConfig, unsortedSegmentSumWasmConfig } from './wasm/kernels/UnsortedSegmentSum.js';

/** The kernels transferkit adds to the wasm backend. */
export const WASM_TRAINING_KERNELS: readonly tf.KernelConfig[] = [
  conv2DBackpropFilterConfig,
  depthwiseConv2dNativeBackpropFilterConfig,
  depthwiseConv2dNativeBackpropInputConfig,
  unsortedSegmentSumWasmConfig,
  adamUpdateConfig,
  batchNormTrainConfig,
  batchNormTrainGradConfig,
  batchNormActTrainConfig,
  batchNormActTrainGradConfig,
];

/** Marks kernels registered by transferkit, so a second call can tell ours from tfjs's own. */
const ours = new WeakSet<tf.KernelConfig>();
let cpuReplaced = false;
const wrappedOnWasm = new Set<string>();

/** Stock wasm kernels transferkit wraps: name, wrapper, and what the wrapper adds. */
const WASM_WRAPPED_KERNELS: ReadonlyArray<[string, (stock: tf.KernelConfig) => tf.KernelConfig, string]> = [
  [tf.Conv2DBackpropInput, conv2DBackpropInputConfig, 'matmul and forward-convolution paths'],
  [tf.Identity, identityConfig, 'shared buffer instead of a copy'],
  [tf.Cast, castConfig, 'same-dtype casts share the buffer'],
  [tf.BatchMatMul, batchMatMulConfig, 'explicit transposes'],
  [tf.Sum, sumConfig, 'leading axes by average pooling'],
  [tf.Mean, meanConfig, 'leading axes by average pooling'],
  [tf.Transpose, transposeConfig, 'matrix transposes by a SIMD kernel'],
  [tf.Slice, sliceConfig, 'whole trailing axes moved in one copy'],
  [tf.MaxPoolGrad, maxPoolGradConfig, 'a SIMD kernel'],
];

/** Registers transferkit's training kernels for wasm. Returns the names it registered this call. */
export function registerWasmTrainingKernels(): string[] {
  const added: string[] = [];
  for (const config of WASM_TRAINING_KERNELS) {
    if (tf.getKernel(config.kernelName, 'wasm') !== undefined) continue;
    tf.registerKernel(config);
    ours.add(config);
    added.push(config.kernelName);
  }
  // Wrap (not replace) stock kernels with fast paths for the cases they handle slowly.
  for (const [name, wrap, note] of WASM_WRAPPED_KERNELS) {
    const stock = tf.getKernel(name, 'wasm');
    if (wrappedOnWasm.has(name) || stock === undefined) continue;
    tf.unregisterKernel(name, 'wasm');
    const wrapped = wrap(stock);
    tf.registerKernel(wrapped);
    ours.add(wrapped);
    wrappedOnWasm.add(name);
    added.push(`${name} (${note})`);
  }
  return added;
}

/** Replaces cpu's loop-per-segment UnsortedSegmentSum with the ScatterNd formulation. */
export function registerCpuTrainingKernels(): string[] {
  if (cpuReplaced) return [];
  if (tf.getKernel(tf.UnsortedSegmentSum, 'cpu') !== undefined) tf.unregisterKernel(tf.UnsortedSegmentSum, 'cpu');
  tf.registerKernel(unsortedSegmentSumCpuConfig);
  cpuReplaced = true;
  return [tf.UnsortedSegmentSum];
}

/**
 * Kernels that forward and backward passes of the zoo's models (conv nets with BatchNorm, pooling,
 * residual adds; transformer encoders with embeddings, attention, LayerNorm, GELU) need.
 */
export const TRAINING_KERNEL_NAMES: readonly string[] = [
  'Conv2D', 'Conv2DBackpropFilter', 'Conv2DBackpropInput',
  'DepthwiseConv2dNative', 'DepthwiseConv2dNativeBackpropFilter', 'DepthwiseConv2dNativeBackpropInput',
  'FusedBatchNorm', 'MaxPool', 'MaxPoolGrad', 'AvgPool', 'AvgPoolGrad',
  'BatchMatMul', 'Add', 'AddN', 'Sub', 'Multiply', 'RealDiv', 'Sum', 'Mean', 'Max',
  'Relu', 'Relu6', 'Step', 'Sigmoid', 'Tanh', 'Erf', 'Exp', 'Log', 'Sqrt', 'Rsqrt', 'Square',
  'Softmax', 'GatherV2', 'UnsortedSegmentSum', 'ScatterNd', 'Transpose', 'Reshape', 'Tile',
  'PadV2', 'Slice', 'StridedSlice', 'Concat', 'Select', 'OneHot', 'Cast', 'Fill',
];

/** Training kernels absent from `backendName`. */
export function missingTrainingKernels(backendName: string): string[] {
  return TRAINING_KERNEL_NAMES.filter((k) => tf.getKernel(k, backendName) === undefined);
}
