import { checkArg, LRSchedule, type ScheduleConfig } from './schedule.js';

/**
 * Multi-step decay: `lr = initial * gamma ^ (number of milestones <= step)`.
 *
 * Reference: PyTorch `torch.optim.lr_scheduler.MultiStepLR(milestones, gamma=0.1)` (its
 * `bisect_right(milestones, step)`).
 */
export class MultiStepDecay extends LRSchedule {
  readonly milestones: readonly number[];

  /**
   * @param initialLearningRate - rate before the first milestone (>= 0).
   * @param milestones - increasing steps at which the rate is multiplied by `gamma`.
   * @param gamma - multiplier per milestone (> 0, default 0.1).
   */
  constructor(readonly initialLearningRate: number, milestones: number[], readonly gamma = 0.1) {
    super();
    checkArg('MultiStepDecay', 'initialLearningRate', initialLearningRate, (v) => v >= 0, '>= 0');
    checkArg('MultiStepDecay', 'gamma', gamma, (v) => v > 0, '> 0');
    milestones.forEach((m, i) => checkArg('MultiStepDecay', `milestones[${i}]`, m, (v) => Number.isInteger(v) && v >= 0 && (i === 0 || v > milestones[i - 1]), 'a strictly increasing integer >= 0'));
    this.milestones = [...milestones];
  }

  /** {@inheritDoc LRSchedule.at} */
  at(step: number): number {
    const passed = this.milestones.filter((m) => m <= step).length;
    return this.initialLearningRate * this.gamma ** passed;
  }

  /** {@inheritDoc LRSchedule.getConfig} */
  getConfig(): ScheduleConfig {
    return { className: 'MultiStepDecay', initialLearningRate: this.initialLearningRate, milestones: [...this.milestones], gamma: this.gamma };
  }
}
