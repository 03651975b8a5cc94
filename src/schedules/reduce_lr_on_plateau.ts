import { TransferKitError } from '../errors.js';
import { checkArg, LRSchedule, type ScheduleConfig } from './schedule.js';

/** Options of {@link ReduceLROnPlateau}. */
export interface ReduceLROnPlateauOptions {
  /** Starting learning rate. */
  learningRate: number;
  /** `'min'` (default) for losses, `'max'` for accuracies. */
  mode?: 'min' | 'max';
  /** Multiplier on a plateau (in (0, 1), default 0.1). */
  factor?: number;
  /** Epochs without improvement before reducing (default 10). */
  patience?: number;
  /** Smallest change that counts as improvement (default 1e-4). */
  minDelta?: number;
  /** Epochs to wait after a reduction before counting again (default 0). */
  cooldown?: number;
  /** Floor of the learning rate (default 0). */
  minLearningRate?: number;
}

/**
 * Reduces the learning rate when a monitored metric stops improving. The training loop calls
 * {@link ReduceLROnPlateau.observe} once per epoch with the metric; `at(step)` returns the current
 * rate. State (best, wait, cooldown, rate) survives checkpoints through getState/setState.
 *
 * Reference: Keras `keras.callbacks.ReduceLROnPlateau(monitor, factor=0.1, patience=10,
 * mode, min_delta=1e-4, cooldown=0, min_lr=0)`; identical update rule (improvement is
 * `current < best - minDelta` in min mode, `current > best + minDelta` in max mode).
 * Divergence: a schedule object rather than a callback, and `mode` has no `'auto'`.
 */
export class ReduceLROnPlateau extends LRSchedule {
  readonly options: Required<ReduceLROnPlateauOptions>;
  private lr: number;
  private best: number;
  private wait = 0;
  private cooldownCounter = 0;

  constructor(options: ReduceLROnPlateauOptions) {
    super();
    const o: Required<ReduceLROnPlateauOptions> = { mode: 'min', factor: 0.1, patience: 10, minDelta: 1e-4, cooldown: 0, minLearningRate: 0, ...options };
    checkArg('ReduceLROnPlateau', 'learningRate', o.learningRate, (v) => v >= 0, '>= 0');
    checkArg('ReduceLROnPlateau', 'factor', o.factor, (v) => v > 0 && v < 1, 'in (0, 1) (Keras rejects factor >= 1)');
    checkArg('ReduceLROnPlateau', 'patience', o.patience, (v) => Number.isInteger(v) && v >= 0, 'an integer >= 0');
    checkArg('ReduceLROnPlateau', 'minDelta', o.minDelta, (v) => v >= 0, '>= 0');
    checkArg('ReduceLROnPlateau', 'cooldown', o.cooldown, (v) => Number.isInteger(v) && v >= 0, 'an integer >= 0');
    checkArg('ReduceLROnPlateau', 'minLearningRate', o.minLearningRate, (v) => v >= 0, '>= 0');
    if (o.mode !== 'min' && o.mode !== 'max') {
      throw new TransferKitError('E_BAD_OPTION', `ReduceLROnPlateau: mode must be 'min' or 'max'. Received: mode=${String(o.mode)}.`);
    }
    this.options = o;
    this.lr = o.learningRate;
    this.best = o.mode === 'min' ? Infinity : -Infinity;
  }

  /** {@inheritDoc LRSchedule.at} */
  at(): number {
    return this.lr;
  }

  /**
   * Feeds one epoch's metric. Returns true when the rate was reduced.
   */
  observe(current: number): boolean {
    const o = this.options;
    if (this.cooldownCounter > 0) {
      this.cooldownCounter -= 1;
      this.wait = 0;
    }
    const improved = o.mode === 'min' ? current < this.best - o.minDelta : current > this.best + o.minDelta;
    if (improved) {
      this.best = current;
      this.wait = 0;
      return false;
    }
    if (this.cooldownCounter > 0) return false;
    this.wait += 1;
    // Keras compares the old rate with min_lr as float32.
    if (this.wait >= o.patience && Math.fround(this.lr) > Math.fround(o.minLearningRate)) {
      this.lr = Math.max(this.lr * o.factor, o.minLearningRate);
      this.cooldownCounter = o.cooldown;
      this.wait = 0;
      return true;
    }
    return false;
  }

  /** {@inheritDoc LRSchedule.getState} */
  override getState(): Record<string, unknown> {
    // JSON has no Infinity: an untouched `best` is stored as null and restored from the mode.
    return { lr: this.lr, best: Number.isFinite(this.best) ? this.best : null, wait: this.wait, cooldownCounter: this.cooldownCounter };
  }

  /** {@inheritDoc LRSchedule.setState} */
  override setState(state: Record<string, unknown>): void {
    this.lr = state.lr as number;
    this.best = state.best === null || state.best === undefined ? (this.options.mode === 'min' ? Infinity : -Infinity) : (state.best as number);
    this.wait = state.wait as number;
    this.cooldownCounter = state.cooldownCounter as number;
  }

  /** {@inheritDoc LRSchedule.getConfig} */
  getConfig(): ScheduleConfig {
    return { className: 'ReduceLROnPlateau', ...this.options };
  }
}
