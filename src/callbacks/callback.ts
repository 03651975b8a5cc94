/**
 * Training callbacks: small objects with optional hooks, called by `fineTune` once per stage
 * (a stage is one Keras `fit` call: the head stage and the fine-tune stage each begin and end).
 *
 * Reference: Keras `keras/src/callbacks/callback.py` (hook names and order).
 */
import type { PretrainedModel } from '../models/pretrained_model.js';
import type { EpochLog, Stage } from '../transfer/fine_tune.js';

/** What callbacks see and may change. */
export interface TrainingContext {
  model: PretrainedModel;
  stage: Stage;
  /** Set to true to end the stage after the current epoch (Keras `model.stop_training`). */
  stopTraining: boolean;
}

/** Figures of one optimizer step. */
export interface BatchLog {
  /** 0-based step within the stage. */
  step: number;
  loss: number;
  accuracy: number;
  learningRate: number;
}

/** A training callback; every hook is optional and may be async. */
export interface Callback {
  onTrainBegin?(ctx: TrainingContext): void | Promise<void>;
  onEpochBegin?(epoch: number, ctx: TrainingContext): void | Promise<void>;
  onBatchEnd?(log: BatchLog, ctx: TrainingContext): void | Promise<void>;
  onEpochEnd?(log: EpochLog, ctx: TrainingContext): void | Promise<void>;
  onTrainEnd?(history: EpochLog[], ctx: TrainingContext): void | Promise<void>;
}
