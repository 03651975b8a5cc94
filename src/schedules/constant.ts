import { checkArg, LRSchedule, type ScheduleConfig } from './schedule.js';

/** A constant learning rate (as PyTorch `ConstantLR` with factor 1, or a plain float in Keras). */
export class ConstantSchedule extends LRSchedule {
  /** @param learningRate - the rate at every step (>= 0). */
  constructor(readonly learningRate: number) {
    super();
    checkArg('ConstantSchedule', 'learningRate', learningRate, (v) => v >= 0, '>= 0');
  }
  /** {@inheritDoc LRSchedule.at} */
  at(): number {
    return this.learningRate;
  }
  /** {@inheritDoc LRSchedule.getConfig} */
  getConfig(): ScheduleConfig {
    return { className: 'ConstantSchedule', learningRate: this.learningRate };
  }
}
