import type * as tf from '@tensorflow/tfjs-core';
import { TransferKitError } from '../../errors.js';

/** Throws unless `fs` and `ft` are feature batches of the same width with at least `minRows` rows each. */
export function checkFeaturePair(where: string, fs: tf.Tensor, ft: tf.Tensor, minRows: number): void {
  const width = (t: tf.Tensor) => t.shape.slice(1).reduce((a, b) => a * b, 1);
  if (fs.rank < 2 || ft.rank < 2 || width(fs) !== width(ft)) {
    throw new TransferKitError('E_BAD_OPTION', `${where}: source and target features must be [batch, ...] with the same feature size. Received: source ${JSON.stringify(fs.shape)}, target ${JSON.stringify(ft.shape)}.`);
  }
  if (fs.shape[0] < minRows || ft.shape[0] < minRows) {
    throw new TransferKitError('E_BAD_OPTION', `${where}: needs at least ${minRows} examples per domain in a batch. Received: ${fs.shape[0]} source, ${ft.shape[0]} target. Use a larger batch.`);
  }
}
