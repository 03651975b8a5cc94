import { checkArg, LRSchedule, type ScheduleConfig } from './schedule.js';

/**
 * Linear warmup from 0, then cosine decay: for `step >= W`, with
 * `progress = (step - W) / max(1, T - W)`, multiplier
 * `max(0, 0.5 * (1 + cos(pi * numCycles * 2 * progress)))` (numCycles 0.5 = one half-cosine to 0).
 *
 * Reference: Hugging Face `transformers.get_cosine_schedule_with_warmup(optimizer,
 * num_warmup_steps, num_training_steps, num_cycles=0.5)`.
 */
export class CosineScheduleWithWarmup extends LRSchedule {
  /**
   * @param learningRate - peak rate (>= 0).
   * @param warmupSteps - warmup length (integer >= 0).
   * @param trainingSteps - total steps (integer >= warmupSteps).
   * @param numCycles - cosine waves after warmup (> 0, default 0.5).
   */
  constructor(readonly learningRate: number, readonly warmupSteps: number, readonly trainingSteps: number, readonly numCycles = 0.5) {
    super();
    checkArg('CosineScheduleWithWarmup', 'learningRate', learningRate, (v) => v >= 0, '>= 0');
    checkArg('CosineScheduleWithWarmup', 'warmupSteps', warmupSteps, (v) => Number.isInteger(v) && v >= 0, 'an integer >= 0');
    checkArg('CosineScheduleWithWarmup', 'trainingSteps', trainingSteps, (v) => Number.isInteger(v) && v >= warmupSteps, `an integer >= warmupSteps (${warmupSteps})`);
    checkArg('CosineScheduleWithWarmup', 'numCycles', numCycles, (v) => v > 0, '> 0');
  }

  /** {@inheritDoc LRSchedule.at} */
  at(step: number): number {
    const w = this.warmupSteps;
    if (step < w) return (this.learningRate * step) / Math.max(1, w);
    const progress = (step - w) / Math.max(1, this.trainingSteps - w);
    return this.learningRate * Math.max(0, 0.5 * (1 + Math.cos(Math.PI * this.numCycles * 2 * progress)));
  }

  /** {@inheritDoc LRSchedule.getConfig} */
  getConfig(): ScheduleConfig {
    return { className: 'CosineScheduleWithWarmup', learningRate: this.learningRate, warmupSteps: this.warmupSteps, trainingSteps: this.trainingSteps, numCycles: this.numCycles };
  }
}
