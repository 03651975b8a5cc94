/**
 * `transferkit/train`: The pieces of the training loop, for writing your own recipe: one training step, the losses per head task, test-time augmentation, image augmentation, evaluation of any head, the LR finder's suggestion rules, metrics, layer selection.
 * @packageDocumentation
 */
export { selectLayers } from '../transfer/freeze.js';
export { defaultUnfreezeFrom } from '../transfer/block_boundaries.js';
export { evaluateOutputs } from '../train/evaluate.js';
export { predictTta, type TtaOptions } from '../train/tta.js';
export { topKAccuracy, rocAuc, argmaxRows } from '../metrics/classification.js';
export { valley, steep, minimum } from '../train/lr_finder.js';
export { trainStep, trainStepAsync, type TrainStepArgs, type StepResult, type PendingStepResult } from '../train/train_step.js';
export { crossEntropy, binaryCrossEntropy, meanSquaredError, taskLoss, type LossOptions } from '../train/losses.js';
export { isStreaming } from '../data/dataset.js';
export { stopGradient } from '../ops/stop_gradient.js';
export { augmentBatch, hasRandomAugment, resizedCropParams, type AugmentOptions } from '../data/augment.js';
