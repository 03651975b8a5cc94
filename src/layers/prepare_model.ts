/**
 * The per-instance patches transferkit applies to every model it loads, builds or freezes, in
 * the order they compose: Keras' BatchNorm freezing rule (`batch_norm.ts`), one-kernel ReLU6
 * (`clipped_relu.ts`), then inference-time Conv→BN→ReLU folding (`fold_batch_norm.ts`, which wraps
 * the calls the first two installed). Idempotent.
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { applyKerasBatchNormSemantics } from './batch_norm.js';
import { fuseClippedRelu } from './clipped_relu.js';
import { foldBatchNormForInference } from './fold_batch_norm.js';

export function prepareModel(model: tfl.LayersModel): void {
  applyKerasBatchNormSemantics(model);
  fuseClippedRelu(model);
  foldBatchNormForInference(model);
}
