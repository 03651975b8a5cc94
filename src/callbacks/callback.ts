/**
 * Training callbacks: small objects with optional hooks, called by the training loop
 * (`train/loop.ts`) once per stage — a stage is one Keras `fit` call: fineTune's head and
 * fine-tune stages, the text recipe's run, a masked-LM run, each DomainAdapter phase.
 *
 * Reference: Keras `keras/src/callbacks/callback.py` (hook names and order).
 */
import type { PretrainedModel } from '../models/pretrained_model.js';
import type { TextModel } from '../models/text/text_model.js';

/**
 * The figures every epoch log has, whichever loop wrote it (fineTune, text, masked-LM, domain
 * adaptation): one vocabulary, epochs counted from 1 within their stage.
 */
export interface TrainingLog {
  /** The stage the epoch belongs to (`'head'`, `'fine-tune'` (also the text recipe's), `'masked-lm'`, `'dann'`, `'adabn'`, ...). */
  stage: string;
  /** 1-based epoch within the stage. */
  epoch: number;
  /** Mean training loss over the epoch's examples (the task's loss: CE, BCE or MSE for heads, the masked-token loss for masked-LM). */
  loss: number;
  /** Training accuracy, where the task has one. */
  accuracy?: number;
  /** Regression heads: training mean absolute error. */
  mae?: number;
  /** Validation loss after the epoch (inference mode). */
  valLoss?: number;
  /** Validation accuracy after the epoch (inference mode; binary accuracy for multilabel; NaN for regression). */
  valAccuracy?: number;
  /** Regression heads: validation mean absolute error. */
  valMae?: number;
  /** Learning rate at the epoch's last step. */
  learningRate: number;
  /** Wall-clock seconds of the epoch (training and validation). */
  seconds: number;
  /** `tf.memory().numTensors` at the end of the epoch (a leak shows as growth). */
  numTensors: number;
}

/** What callbacks see and may change. */
export interface TrainingContext {
  /** The model being trained. */
  model: PretrainedModel | TextModel;
  /** The current stage's name. */
  stage: string;
  /** Set to true to end the stage after the current epoch (Keras `model.stop_training`); in `DomainAdapter`, the whole run. */
  stopTraining: boolean;
}

/** Figures of one optimizer step. */
export interface BatchLog {
  /** 0-based step within the stage. */
  step: number;
  loss: number;
  /** The step's accuracy (NaN where the task has none). */
  accuracy: number;
  learningRate: number;
}

/** A training callback; every hook is optional and may be async. */
export interface Callback {
  onTrainBegin?(ctx: TrainingContext): void | Promise<void>;
  /** `epoch` is 1-based within the stage. */
  onEpochBegin?(epoch: number, ctx: TrainingContext): void | Promise<void>;
  onBatchEnd?(log: BatchLog, ctx: TrainingContext): void | Promise<void>;
  onEpochEnd?(log: TrainingLog, ctx: TrainingContext): void | Promise<void>;
  onTrainEnd?(history: TrainingLog[], ctx: TrainingContext): void | Promise<void>;
  /** Called instead of `onTrainEnd` when a stage ends early (interrupted by `signal`, or an error): free what the callback holds. */
  dispose?(): void;
}
