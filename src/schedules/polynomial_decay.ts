import { checkArg, LRSchedule, type ScheduleConfig } from './schedule.js';

/**
 * Polynomial decay from `initial` to `end` over `decaySteps`:
 * `lr = (initial - end) * (1 - min(step, T) / T) ^ power + end`; with `cycle`, T becomes the
 * first multiple of `decaySteps` that is >= step (1 x decaySteps at step 0).
 *
 * Reference: Keras `keras.optimizers.schedules.PolynomialDecay(initial_learning_rate,
 * decay_steps, end_learning_rate=0.0001, power=1.0, cycle=False)`.
 */
export class PolynomialDecay extends LRSchedule {
  /**
   * @param initialLearningRate - rate at step 0 (>= 0).
   * @param decaySteps - steps to reach `endLearningRate` (> 0).
   * @param endLearningRate - final rate (>= 0, default 1e-4 as Keras).
   * @param power - exponent (> 0, default 1: linear).
   * @param cycle - restart the decay after each `decaySteps` (default false).
   */
  constructor(
    readonly initialLearningRate: number,
    readonly decaySteps: number,
    readonly endLearningRate = 1e-4,
    readonly power = 1,
    readonly cycle = false,
  ) {
    super();
    checkArg('PolynomialDecay', 'initialLearningRate', initialLearningRate, (v) => v >= 0, '>= 0');
    checkArg('PolynomialDecay', 'decaySteps', decaySteps, (v) => v > 0, '> 0');
    checkArg('PolynomialDecay', 'endLearningRate', endLearningRate, (v) => v >= 0, '>= 0');
    checkArg('PolynomialDecay', 'power', power, (v) => v > 0, '> 0');
  }

  /** {@inheritDoc LRSchedule.at} */
  at(step: number): number {
    let s = step;
    let t = this.decaySteps;
    if (this.cycle) t = this.decaySteps * (s === 0 ? 1 : Math.ceil(s / this.decaySteps));
    else s = Math.min(s, t);
    return (this.initialLearningRate - this.endLearningRate) * (1 - s / t) ** this.power + this.endLearningRate;
  }

  /** {@inheritDoc LRSchedule.getConfig} */
  getConfig(): ScheduleConfig {
    return { className: 'PolynomialDecay', initialLearningRate: this.initialLearningRate, decaySteps: this.decaySteps, endLearningRate: this.endLearningRate, power: this.power, cycle: this.cycle };
  }
}
