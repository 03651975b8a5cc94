import { checkArg, LRSchedule, type ScheduleConfig } from './schedule.js';

/**
 * Step decay: `lr = initial * gamma ^ floor(step / stepSize)`.
 *
 * Reference: PyTorch `torch.optim.lr_scheduler.StepLR(step_size, gamma=0.1)`; Keras
 * `ExponentialDecay(decay_steps=stepSize, decay_rate=gamma, staircase=True)` is the same curve.
 */
export class StepDecay extends LRSchedule {
  /**
   * @param initialLearningRate - rate of steps 0..stepSize-1 (>= 0).
   * @param stepSize - steps between decays (integer > 0).
   * @param gamma - multiplier per decay (> 0, default 0.1).
   */
  constructor(readonly initialLearningRate: number, readonly stepSize: number, readonly gamma = 0.1) {
    super();
    checkArg('StepDecay', 'initialLearningRate', initialLearningRate, (v) => v >= 0, '>= 0');
    checkArg('StepDecay', 'stepSize', stepSize, (v) => Number.isInteger(v) && v > 0, 'an integer > 0');
    checkArg('StepDecay', 'gamma', gamma, (v) => v > 0, '> 0');
  }
  /** {@inheritDoc LRSchedule.at} */
  at(step: number): number {
    return this.initialLearningRate * this.gamma ** Math.floor(step / this.stepSize);
  }
  /** {@inheritDoc LRSchedule.getConfig} */
  getConfig(): ScheduleConfig {
    return { className: 'StepDecay', initialLearningRate: this.initialLearningRate, stepSize: this.stepSize, gamma: this.gamma };
  }
}
