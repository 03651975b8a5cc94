/**
 * `UnsortedSegmentSum` (the gradient of `gather`, i.e. of every embedding lookup) built on
 * `ScatterNd`, which sums duplicate indices natively. Registered for wasm (where tfjs 4.22 has no
 * kernel) and for cpu (where the stock kernel loops over segments and took 156 s of a 158 s
 * BERT-tiny training step in our measurements; see shared/NOTES-runtime.md).
 *
 * Divergence: TensorFlow drops negative segment ids; `gather`'s gradient never produces them, and
 * this kernel rejects them rather than corrupting memory.
 */
import * as tf from '@tensorflow/tfjs-core';
import { TransferKitError } from '../../../errors.js';
import { asTensor } from '../../../ops/_conv_util.js';

function unsortedSegmentSum(backendName: string): tf.KernelConfig {
  return {
    kernelName: tf.UnsortedSegmentSum,
    backendName,
    kernelFunc: ({ inputs, attrs }) => {
      const { x, segmentIds } = inputs as unknown as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
      const { numSegments } = attrs as unknown as tf.UnsortedSegmentSumAttrs;
      return tf.tidy(() => {
        const ids = asTensor<tf.Tensor>(segmentIds);
        const xs = asTensor<tf.Tensor>(x);
        const n = ids.size;
        const rest = xs.shape.slice(ids.rank);
        const width = rest.reduce((a, b) => a * b, 1);
        if (tf.min(ids).dataSync()[0] < 0) {
          throw new TransferKitError(
            'E_KERNEL_UNSUPPORTED',
            `UnsortedSegmentSum on ${backendName} does not accept negative segment ids. Received: min(segmentIds) < 0.`,
          );
        }
        const idx = tf.reshape(tf.cast(ids, 'int32'), [n, 1]);
        const out = tf.scatterND(idx, tf.reshape(xs, [n, width]), [numSegments, width]);
        return tf.reshape(out, [numSegments, ...rest]);
      });
    },
  };
}

export const unsortedSegmentSumWasmConfig: tf.KernelConfig = unsortedSegmentSum('wasm');
export const unsortedSegmentSumCpuConfig: tf.KernelConfig = unsortedSegmentSum('cpu');
