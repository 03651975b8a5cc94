/**
 * `Identity` on wasm without the copy: the output shares the input's buffer (reference-counted),
 * as the cpu backend's Identity and wasm's own Reshape already do. TF.js kernels never write
 * into their inputs, so sharing is safe.
 *
 * Why: the engine clones (Identity) every tensor it saves for the backward pass, so wasm copied
 * each saved activation and weight once more per training step (ResNet50 at 224 px: 168 ms of a
 * 4.2 s micro-batch step). Sharing also keeps a saved filter recognisable by its buffer, which
 * the skipped input gradients rely on (`unneeded_input_gradients.ts`).
 */
import * as tf from '@tensorflow/tfjs-core';
import { wrapStock } from './_wrap_stock.js';

/** The output of a kernel that leaves `x` unchanged: `x`'s own buffer, one reference more. */
export function sharedOutput(x: tf.TensorInfo, backend: unknown): tf.TensorInfo {
  (backend as tf.KernelBackend).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

/** Wraps wasm's own Identity: numeric tensors share their buffer; strings go to the stock kernel. */
export function identityConfig(stock: tf.KernelConfig): tf.KernelConfig {
  return wrapStock(stock, (args) => {
    const { x } = args.inputs as unknown as { x: tf.TensorInfo };
    return x.dtype === 'string' ? null : sharedOutput(x, args.backend);
  });
}
