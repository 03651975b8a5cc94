/**
 * The shape every wrapped wasm kernel shares: try transferkit's fast path first, and run TF.js's
 * own (stock) kernel for the cases the fast path does not take (it returns null).
 */
import type * as tf from '@tensorflow/tfjs-core';

type KernelArgs = Parameters<tf.KernelFunc>[0];

export function wrapStock(stock: tf.KernelConfig, fast: (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[] | null): tf.KernelConfig {
  return {
    kernelName: stock.kernelName,
    backendName: 'wasm',
    setupFunc: stock.setupFunc,
    kernelFunc: (args) => fast(args) ?? stock.kernelFunc(args),
  };
}
