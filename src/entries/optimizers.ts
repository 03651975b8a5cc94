/**
 * `transferkit/optimizers`: PyTorch-exact optimizers (Adam, AdamW, SGD, RMSprop) on parameter groups, gradient clipping, and fastai/timm parameter groups (discriminative rates, layer decay, no decay on biases and norms).
 * @packageDocumentation
 */
export { Optimizer, type ParamGroup, type ResolvedParamGroup, type OptimizerState } from '../optimizers/optimizer.js';
export { Adam, AdamW, type AdamOptions } from '../optimizers/adam.js';
export { SGD, type SGDOptions } from '../optimizers/sgd.js';
export { RMSprop, type RMSpropOptions } from '../optimizers/rmsprop.js';
export { clipGradNorm } from '../optimizers/clip_grad_norm.js';
export { paramGroups, layerGroups, discriminativeLrs, evenMults, layerDecayScales, isNoDecay, type ParamGroupsOptions } from '../transfer/param_groups.js';
