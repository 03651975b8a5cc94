import { checkArg, LRSchedule, type ScheduleConfig } from './schedule.js';

/**
 * Cosine decay with warm restarts (SGDR). The first period lasts `firstDecaySteps`; each next
 * period is `tMul` times longer and starts at `mMul` times the previous peak:
 * with f = step / firstDecaySteps, restart i = floor(log(1 - f (1 - tMul)) / log tMul)
 * (or floor(f) when tMul = 1), position within the period
 * p = (f - (1 - tMul^i) / (1 - tMul)) / tMul^i, and
 * `lr = initial * ((1 - alpha) * 0.5 * mMul^i * (1 + cos(pi p)) + alpha)`.
 *
 * Reference: Keras `keras.optimizers.schedules.CosineDecayRestarts(initial_learning_rate,
 * first_decay_steps, t_mul=2.0, m_mul=1.0, alpha=0.0)`; Loshchilov & Hutter, "SGDR",
 * https://arxiv.org/abs/1608.03983.
 */
export class CosineDecayRestarts extends LRSchedule {
  /**
   * @param initialLearningRate - peak of the first period (>= 0).
   * @param firstDecaySteps - length of the first period (> 0).
   * @param tMul - period length multiplier (> 0, default 2).
   * @param mMul - peak multiplier per restart (> 0, default 1).
   * @param alpha - floor as a fraction of the initial rate (in [0, 1], default 0).
   */
  constructor(
    readonly initialLearningRate: number,
    readonly firstDecaySteps: number,
    readonly tMul = 2,
    readonly mMul = 1,
    readonly alpha = 0,
  ) {
    super();
    checkArg('CosineDecayRestarts', 'initialLearningRate', initialLearningRate, (v) => v >= 0, '>= 0');
    checkArg('CosineDecayRestarts', 'firstDecaySteps', firstDecaySteps, (v) => v > 0, '> 0');
    checkArg('CosineDecayRestarts', 'tMul', tMul, (v) => v > 0, '> 0');
    checkArg('CosineDecayRestarts', 'mMul', mMul, (v) => v > 0, '> 0');
    checkArg('CosineDecayRestarts', 'alpha', alpha, (v) => v >= 0 && v <= 1, 'in [0, 1]');
  }

  /** {@inheritDoc LRSchedule.at} */
  at(step: number): number {
    let f = step / this.firstDecaySteps;
    let i: number;
    if (this.tMul === 1) {
      i = Math.floor(f);
      f -= i;
    } else {
      i = Math.floor(Math.log(1 - f * (1 - this.tMul)) / Math.log(this.tMul));
      const before = (1 - this.tMul ** i) / (1 - this.tMul);
      f = (f - before) / this.tMul ** i;
    }
    const cosine = 0.5 * this.mMul ** i * (1 + Math.cos(Math.PI * f));
    return this.initialLearningRate * ((1 - this.alpha) * cosine + this.alpha);
  }

  /** {@inheritDoc LRSchedule.getConfig} */
  getConfig(): ScheduleConfig {
    return { className: 'CosineDecayRestarts', initialLearningRate: this.initialLearningRate, firstDecaySteps: this.firstDecaySteps, tMul: this.tMul, mMul: this.mMul, alpha: this.alpha };
  }
}
