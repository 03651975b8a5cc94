/**
 * `transferkit/backends`: Backend internals for advanced use: the training kernels transferkit registers (and which are missing on a backend), BatchNorm modes per layer, inference-time Conv→BN→ReLU folding, and a counter of the GPU dispatches a piece of code issues on webgpu.
 * @packageDocumentation
 */
export { TRAINING_KERNEL_NAMES, missingTrainingKernels, registerWasmTrainingKernels } from '../backends/register_training_kernels.js';
export { setInferenceFolding } from '../layers/fold_batch_norm.js';
export { batchNormMode, setBatchNormMode } from '../layers/batch_norm.js';
export { countGpuDispatches, type GpuDispatchCounts } from '../backends/webgpu/dispatch_counter.js';
