/**
 * Stops a stage when a monitored figure stops improving, and (optionally) restores the weights
 * of the best epoch — which TF.js's own `earlyStopping` cannot do.
 *
 * Reference: Keras `keras.callbacks.EarlyStopping(monitor='val_loss', min_delta=0, patience=0,
 * mode='auto', baseline=None, restore_best_weights=False, start_from_epoch=0)`; identical rule:
 * each epoch `wait += 1`; an improvement (`current - minDelta < best` in min mode,
 * `current - minDelta > best` in max mode) records the best (and its weights) and resets `wait`
 * (only if it also beats `baseline`); otherwise the stage stops once `wait >= patience` (never
 * after the first epoch); best weights are restored when the stage ends.
 */
import * as tf from '@tensorflow/tfjs-core';
import { TransferKitError } from '../errors.js';
import type { Callback, TrainingContext, TrainingLog } from './callback.js';

/** Figures EarlyStopping can watch. */
export type Monitor = 'loss' | 'accuracy' | 'valLoss' | 'valAccuracy';

/** Options of {@link EarlyStopping}. */
export interface EarlyStoppingOptions {
  /** Default `'valLoss'`. */
  monitor?: Monitor;
  /** Default 0. */
  minDelta?: number;
  /** Default 0. */
  patience?: number;
  /** Default: `'max'` for accuracies, `'min'` for losses. */
  mode?: 'min' | 'max';
  /** Only reset patience when also better than this value. */
  baseline?: number;
  /** Default false (as Keras). */
  restoreBestWeights?: boolean;
  /** Epochs (0-based) to ignore before watching (default 0). */
  startFromEpoch?: number;
}

/** Keras' EarlyStopping as a transferkit callback. */
export class EarlyStopping implements Callback {
  readonly monitor: Monitor;
  readonly mode: 'min' | 'max';
  private readonly o: EarlyStoppingOptions;
  private wait = 0;
  private best = 0;
  private bestWeights: tf.Tensor[] | null = null;
  private epoch = 0;
  /** 1-based epoch (the log's `epoch`) of the best figure in the last stage. */
  bestEpoch = 0;
  /** 1-based epoch (the log's `epoch`) at which the last stage stopped (0 when it ran to the end). */
  stoppedEpoch = 0;

  constructor(options: EarlyStoppingOptions = {}) {
    this.o = options;
    this.monitor = options.monitor ?? 'valLoss';
    if (!['loss', 'accuracy', 'valLoss', 'valAccuracy'].includes(this.monitor)) {
      throw new TransferKitError('E_BAD_OPTION', `EarlyStopping: unknown monitor. Received: monitor=${String(this.monitor)}. Choose loss, accuracy, valLoss or valAccuracy.`);
    }
    this.mode = options.mode ?? (this.monitor.toLowerCase().includes('accuracy') ? 'max' : 'min');
  }

  private improves(value: number, reference: number): boolean {
    const d = Math.abs(this.o.minDelta ?? 0);
    return this.mode === 'min' ? value + d < reference : value - d > reference;
  }

  private snapshot(ctx: TrainingContext): void {
    tf.dispose(this.bestWeights ?? []);
    this.bestWeights = ctx.model.model.getWeights().map((w) => tf.clone(w));
  }

  onTrainBegin(): void {
    this.wait = 0;
    this.epoch = 0;
    this.stoppedEpoch = 0;
    this.bestEpoch = 0;
    this.best = this.mode === 'min' ? Infinity : -Infinity;
    tf.dispose(this.bestWeights ?? []);
    this.bestWeights = null;
  }

  onEpochEnd(log: TrainingLog, ctx: TrainingContext): void {
    const epoch = this.epoch++;
    const current = log[this.monitor];
    if (current === undefined) {
      throw new TransferKitError('E_BAD_OPTION', `EarlyStopping monitors '${this.monitor}', which this run does not produce. Pass validation data to fineTune, or monitor 'loss' / 'accuracy'.`);
    }
    if (epoch < (this.o.startFromEpoch ?? 0)) return;
    if (this.o.restoreBestWeights && this.bestWeights === null) {
      this.snapshot(ctx);
      this.bestEpoch = log.epoch;
    }
    this.wait += 1;
    if (this.improves(current, this.best)) {
      this.best = current;
      this.bestEpoch = log.epoch;
      if (this.o.restoreBestWeights) this.snapshot(ctx);
      if (this.o.baseline === undefined || this.improves(current, this.o.baseline)) this.wait = 0;
      return;
    }
    if (this.wait >= (this.o.patience ?? 0) && epoch > 0) {
      this.stoppedEpoch = log.epoch;
      ctx.stopTraining = true;
    }
  }

  /** Frees the best-weights snapshot of a stage that ended early (interrupted or failed): nothing is restored. */
  dispose(): void {
    tf.dispose(this.bestWeights ?? []);
    this.bestWeights = null;
  }

  onTrainEnd(_history: TrainingLog[], ctx: TrainingContext): void {
    if (this.o.restoreBestWeights && this.bestWeights !== null) {
      ctx.model.model.setWeights(this.bestWeights);
      tf.dispose(this.bestWeights);
      this.bestWeights = null;
    }
  }
}
