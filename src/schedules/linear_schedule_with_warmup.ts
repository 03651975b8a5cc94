import { checkArg, LRSchedule, type ScheduleConfig } from './schedule.js';

/**
 * Linear warmup from 0 to `learningRate` over `warmupSteps`, then linear decay to 0 at
 * `trainingSteps`: multiplier `step / max(1, W)` for `step < W`, else
 * `max(0, (T - step) / max(1, T - W))`.
 *
 * Reference: Hugging Face `transformers.get_linear_schedule_with_warmup(optimizer,
 * num_warmup_steps, num_training_steps)` (the fine-tuning default of `Trainer`).
 */
export class LinearScheduleWithWarmup extends LRSchedule {
  /**
   * @param learningRate - peak rate, reached at the end of warmup (>= 0).
   * @param warmupSteps - warmup length (integer >= 0).
   * @param trainingSteps - total steps; the rate is 0 from here on (integer >= warmupSteps).
   */
  constructor(readonly learningRate: number, readonly warmupSteps: number, readonly trainingSteps: number) {
    super();
    checkArg('LinearScheduleWithWarmup', 'learningRate', learningRate, (v) => v >= 0, '>= 0');
    checkArg('LinearScheduleWithWarmup', 'warmupSteps', warmupSteps, (v) => Number.isInteger(v) && v >= 0, 'an integer >= 0');
    checkArg('LinearScheduleWithWarmup', 'trainingSteps', trainingSteps, (v) => Number.isInteger(v) && v >= warmupSteps, `an integer >= warmupSteps (${warmupSteps})`);
  }

  /** {@inheritDoc LRSchedule.at} */
  at(step: number): number {
    const w = this.warmupSteps;
    const t = this.trainingSteps;
    if (step < w) return (this.learningRate * step) / Math.max(1, w);
    return this.learningRate * Math.max(0, (t - step) / Math.max(1, t - w));
  }

  /** {@inheritDoc LRSchedule.getConfig} */
  getConfig(): ScheduleConfig {
    return { className: 'LinearScheduleWithWarmup', learningRate: this.learningRate, warmupSteps: this.warmupSteps, trainingSteps: this.trainingSteps };
  }
}
