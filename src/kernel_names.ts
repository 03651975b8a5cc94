/**
 * Names of the kernels transferkit defines itself (beyond TF.js's own), one place for all.
 */

/** Training-mode batch normalisation over the last axis: inputs x, gamma, beta (attr epsilon) → [y, mean, variance, rstd]. */
export const BatchNormTrain = 'TkBatchNormTrain';

/** Gradient of training-mode batch normalisation: inputs dy, x, gamma, mean, rstd → [dx, dgamma, dbeta]. */
export const BatchNormTrainGrad = 'TkBatchNormTrainGrad';

/** Gradient of `clipByValue` (ReLU6 in the zoo's MobileNets) in one pass: dy where min ≤ x ≤ max, else 0. */
export const ClipByValueGrad = 'TkClipByValueGrad';

/** One Adam/AdamW update (PyTorch's formula): inputs p, g, m, v → [p, m, v] (see `ops/adam_step.ts`). */
export const AdamUpdate = 'TkAdamUpdate';
