/**
 * `transferkit/backends`: Backend internals for advanced use: the training kernels transferkit registers (and which are missing on a backend), BatchNorm modes per layer, and inference-time Conv→BN→ReLU folding.
 * @packageDocumentation
 */
export { TRAINING_KERNEL_NAMES, missingTrainingKernels, registerWasmTrainingKernels } from '../backends/register_training_kernels.js';
export { setInferenceFolding } from '../layers/fold_batch_norm.js';
export { batchNormMode, setBatchNormMode } from '../layers/batch_norm.js';
