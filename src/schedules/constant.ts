import { checkArg, LRSchedule, type ScheduleConfig } from './schedule.js';

/** A constant learning rate (as PyTorch `ConstantLR` with factor 1, or a plain float in Keras). */
export class ConstantSchedule extends LRSchedule {
  constructor(readonly learningRate: number) {
    super();
    checkArg('ConstantSchedule', 'learningRate', learningRate, (v) => v >= 0, '>= 0');
  }
  at(): number {
    return this.learningRate;
  }
  getConfig(): ScheduleConfig {
    return { className: 'ConstantSchedule', learningRate: this.learningRate };
  }
}
