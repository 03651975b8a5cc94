/**
 * The per-instance layer patches, all in this folder, and the one order they compose in. Each
 * replaces a layer *instance*'s `call` (classes and serialised configs stay stock, so saved models
 * load anywhere) and is idempotent:
 *
 * 1. `batch_norm.ts` — Keras' BatchNorm rule (a frozen BN runs in inference mode; `bn` modes);
 * 2. `clipped_relu.ts` — ReLU(maxValue) as one forward and one gradient kernel;
 * 3. `fold_batch_norm.ts` — inference-time Conv→BN(→ReLU) folding, wrapping the calls 1 and 2
 *    installed (on by default; `setInferenceFolding(on, model?)` per model or process-wide);
 * 4. `seeded_dropout.ts` — Dropout masks from the training run's seeded stream, applied by the
 *    training loop's tasks when they start (the stream is per layer, so concurrent runs keep theirs);
 * 5. LoRA (`peft/lora.ts`) wraps a Dense layer's call last, when the user applies it.
 *
 * `prepareModel` applies 1–3 to every model transferkit loads, builds or freezes.
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
