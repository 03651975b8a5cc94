import { checkArg, LRSchedule, type ScheduleConfig } from './schedule.js';

/**
 * Exponential decay: `lr = initial * decayRate ^ (step / decaySteps)`, with the exponent floored
 * when `staircase`.
 *
 * Reference: Keras `keras.optimizers.schedules.ExponentialDecay(initial_learning_rate,
 * decay_steps, decay_rate, staircase=False)`.
 */
export class ExponentialDecay extends LRSchedule {
  /**
   * @param initialLearningRate - rate at step 0 (>= 0).
   * @param decaySteps - steps per factor of `decayRate` (> 0).
   * @param decayRate - multiplier per `decaySteps` (> 0).
   * @param staircase - decay in discrete jumps (default false).
   */
  constructor(readonly initialLearningRate: number, readonly decaySteps: number, readonly decayRate: number, readonly staircase = false) {
    super();
    checkArg('ExponentialDecay', 'initialLearningRate', initialLearningRate, (v) => v >= 0, '>= 0');
    checkArg('ExponentialDecay', 'decaySteps', decaySteps, (v) => v > 0, '> 0');
    checkArg('ExponentialDecay', 'decayRate', decayRate, (v) => v > 0, '> 0');
  }

  /** {@inheritDoc LRSchedule.at} */
  at(step: number): number {
    const p = step / this.decaySteps;
    return this.initialLearningRate * this.decayRate ** (this.staircase ? Math.floor(p) : p);
  }

  /** {@inheritDoc LRSchedule.getConfig} */
  getConfig(): ScheduleConfig {
    return { className: 'ExponentialDecay', initialLearningRate: this.initialLearningRate, decaySteps: this.decaySteps, decayRate: this.decayRate, staircase: this.staircase };
  }
}
