/**
 * Names of the kernels transferkit defines itself (beyond TF.js's own), one place for all.
 */

/**
 * Training-mode batch normalisation over the last axis: inputs x, gamma, beta (attr epsilon) → [y, mean, variance, rstd].
 * A backend may also take movingMean, movingVariance (attr momentum) and return their updated values as outputs 5 and 6 (webgpu).
 */
export const BatchNormTrain = 'TkBatchNormTrain';

/** Gradient of training-mode batch normalisation: inputs dy, x, gamma, mean, rstd → [dx, dgamma, dbeta]. */
export const BatchNormTrainGrad = 'TkBatchNormTrainGrad';

/** Gradient of `clipByValue` (ReLU6 in the zoo's MobileNets) in one pass: dy where min ≤ x ≤ max, else 0. */
export const ClipByValueGrad = 'TkClipByValueGrad';

/** One Adam/AdamW update (PyTorch's formula): inputs p, g, m, v → [p, m, v] (see `ops/adam_step.ts`). */
export const AdamUpdate = 'TkAdamUpdate';

/**
 * Training-mode batch normalisation followed by ReLU (attr max = ∞) or ReLU6 (max = 6), fused:
 * inputs and outputs as {@link BatchNormTrain}, y clamped to [0, max]. Registered where a backend
 * gains from it (webgpu: fewer dispatches; wasm: the tape keeps one activation less per layer); the layers use it only then.
 */
export const BatchNormActTrain = 'TkBatchNormActTrain';

/** Gradient of {@link BatchNormActTrain}: inputs dy, x, gamma, beta, mean, rstd (attr max) → [dx, dgamma, dbeta]. */
export const BatchNormActTrainGrad = 'TkBatchNormActTrainGrad';

/** Keras' categorical cross-entropy of probabilities (`train/losses.ts`): inputs probs, target (attr epsilon) → scalar mean loss. Registered where it saves work (webgpu). */
export const CrossEntropy = 'TkCrossEntropy';

/** Gradient of {@link CrossEntropy} with respect to the probabilities: inputs dy (scalar), probs, target (attr epsilon). */
export const CrossEntropyGrad = 'TkCrossEntropyGrad';

/** Count of rows whose arg-max matches the target's (the training step's multiclass accuracy): inputs out, target → scalar. Registered where it saves work (webgpu). */
export const MulticlassHits = 'TkMulticlassHits';

/** Inference-time BN folding's weights: inputs filter, mean, variance [, gamma, beta, bias] (attr epsilon) → [filter · scale, (bias − mean) · scale + beta]. Registered where it saves work (webgpu). */
export const FoldBatchNorm = 'TkFoldBatchNorm';
