/**
 * `transferkit/tune`: Hyperparameter search: search spaces, ASHA, plots, and (Node) tune() with study folders and child-process trials.
 * @packageDocumentation
 */
export * from './tune_portable.js';

// Node only: local files.
export { tune, trialTable, functionExecutor, processExecutor, type TuneOptions, type TuneResult, type TrialRecord, type TrialContext, type Objective, type ObjectiveModule, type TrialExecutor } from '../tune/tune.js';
export { tuneOptionsFromJson } from '../tune/config_file.js';
