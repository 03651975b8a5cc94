/**
 * `transferkit/tune`: Hyperparameter search: search spaces, ASHA, plots, and (Node) tune() with study folders and child-process trials.
 * @packageDocumentation
 */
export * from './tune_portable.js';

// Node only: local files.
export { tune, trialTable, functionExecutor, processExecutor, type TuneOptions, type TuneResult, type TrialRecord, type TrialContext, type Objective, type ObjectiveModule, type TrialExecutor, type TrialReport } from '../tune/tune.js';
export { tuneOptionsFromJson } from '../tune/config_file.js';
export { queueExecutor, type QueueExecutor, type QueueExecutorOptions } from '../tune/queue_executor.js';
export { runWorker, type QueueWorker, type WorkerOptions } from '../tune/queue_worker.js';
