import { checkArg, LRSchedule, type ScheduleConfig } from './schedule.js';

/**
 * Linear warmup in front of any schedule: for `step < warmupSteps` the rate is
 * `after.at(0) * step / warmupSteps` (0 at step 0, as Hugging Face's warmup multiplier
 * `step / W`), then `after.at(step - warmupSteps)`, so `after` is sized for the steps left.
 *
 * Reference: HF `transformers.optimization.get_linear_schedule_with_warmup` (its warmup
 * phase); Goyal et al., "Accurate, Large Minibatch SGD", https://arxiv.org/abs/1706.02677.
 */
export class LinearWarmup extends LRSchedule {
  /**
   * @param after - the schedule that follows the warmup (its step 0 is the first step after it).
   * @param warmupSteps - steps of linear warmup (integer >= 0).
   */
  constructor(readonly after: LRSchedule, readonly warmupSteps: number) {
    super();
    checkArg('LinearWarmup', 'warmupSteps', warmupSteps, (v) => Number.isInteger(v) && v >= 0, 'an integer >= 0');
  }
  /** {@inheritDoc LRSchedule.at} */
  at(step: number): number {
    if (step < this.warmupSteps) return (this.after.at(0) * step) / this.warmupSteps;
    return this.after.at(step - this.warmupSteps);
  }
  /** {@inheritDoc LRSchedule.getConfig} */
  getConfig(): ScheduleConfig {
    return { className: 'LinearWarmup', warmupSteps: this.warmupSteps, after: this.after.getConfig() };
  }
}
