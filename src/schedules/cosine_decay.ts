import { checkArg, LRSchedule, type ScheduleConfig } from './schedule.js';

/**
 * Cosine decay from `initial` to `initial * alpha` over `decaySteps`, then flat:
 * `lr = initial * ((1 - alpha) * 0.5 * (1 + cos(pi * min(step, decaySteps) / decaySteps)) + alpha)`.
 *
 * Reference: Keras `keras.optimizers.schedules.CosineDecay(initial_learning_rate, decay_steps, alpha=0.0)`
 * (without its warmup arguments: wrap in {@link LinearWarmup} instead); Loshchilov & Hutter,
 * "SGDR", https://arxiv.org/abs/1608.03983.
 */
export class CosineDecay extends LRSchedule {
  /**
   * @param initialLearningRate - rate at step 0 (>= 0).
   * @param decaySteps - steps of the cosine (> 0); the rate stays at `initial * alpha` afterwards.
   * @param alpha - final rate as a fraction of the initial one (in [0, 1], default 0).
   */
  constructor(readonly initialLearningRate: number, readonly decaySteps: number, readonly alpha = 0) {
    super();
    checkArg('CosineDecay', 'initialLearningRate', initialLearningRate, (v) => v >= 0, '>= 0');
    checkArg('CosineDecay', 'decaySteps', decaySteps, (v) => v > 0, '> 0');
    checkArg('CosineDecay', 'alpha', alpha, (v) => v >= 0 && v <= 1, 'in [0, 1]');
  }
  /** {@inheritDoc LRSchedule.at} */
  at(step: number): number {
    const s = Math.min(step, this.decaySteps);
    const cosine = 0.5 * (1 + Math.cos((Math.PI * s) / this.decaySteps));
    return this.initialLearningRate * ((1 - this.alpha) * cosine + this.alpha);
  }
  /** {@inheritDoc LRSchedule.getConfig} */
  getConfig(): ScheduleConfig {
    return { className: 'CosineDecay', initialLearningRate: this.initialLearningRate, decaySteps: this.decaySteps, alpha: this.alpha };
  }
}
