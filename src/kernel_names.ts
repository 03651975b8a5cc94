/**
 * Names of the kernels transferkit defines itself (beyond TF.js's own), one place for all.
 */

/** Gradient of training-mode batch normalisation: inputs dy, x, gamma, mean, rstd → [dx, dgamma, dbeta]. */
export const BatchNormTrainGrad = 'TkBatchNormTrainGrad';

/** Gradient of `clipByValue` (ReLU6 in the zoo's MobileNets) in one pass: dy where min ≤ x ≤ max, else 0. */
export const ClipByValueGrad = 'TkClipByValueGrad';
