import { checkArg, LRSchedule, type ScheduleConfig } from './schedule.js';

/**
 * Inverse-power decay: `lr = initial * (1 + gamma * step) ^ (-power)`.
 *
 * This is the learning-rate annealing of domain-adversarial training: Ganin et al. (JMLR 2016,
 * section 5.2.2) use `mu_p = mu_0 / (1 + 10 p) ^ 0.75` with `p = step / totalSteps` — that is
 * `gamma = 10 / totalSteps`, `power = 0.75` ({@link InverseDecay.dann}); tllib's examples use the
 * same form per iteration, `lr * (1 + 0.001 i) ^ -0.75` (`gamma = 1e-3`).
 *
 * Reference: Ganin et al. 2016, https://jmlr.org/papers/v17/15-239.html ; tllib
 * `examples/domain_adaptation/image_classification/dann.py` (`LambdaLR` with `lr_gamma`, `lr_decay`).
 */
export class InverseDecay extends LRSchedule {
  /**
   * @param initialLearningRate - rate at step 0 (>= 0).
   * @param gamma - decay speed per step (>= 0).
   * @param power - exponent (>= 0, default 0.75).
   */
  constructor(readonly initialLearningRate: number, readonly gamma: number, readonly power = 0.75) {
    super();
    checkArg('InverseDecay', 'initialLearningRate', initialLearningRate, (v) => v >= 0, '>= 0');
    checkArg('InverseDecay', 'gamma', gamma, (v) => v >= 0, '>= 0');
    checkArg('InverseDecay', 'power', power, (v) => v >= 0, '>= 0');
  }

  /** Ganin et al.'s annealing over a run of `totalSteps`: `lr / (1 + 10 p) ^ 0.75`, `p = step / totalSteps`. */
  static dann(initialLearningRate: number, totalSteps: number): InverseDecay {
    checkArg('InverseDecay.dann', 'totalSteps', totalSteps, (v) => v > 0, '> 0');
    return new InverseDecay(initialLearningRate, 10 / totalSteps, 0.75);
  }

  /** {@inheritDoc LRSchedule.at} */
  at(step: number): number {
    return this.initialLearningRate * (1 + this.gamma * step) ** -this.power;
  }

  /** {@inheritDoc LRSchedule.getConfig} */
  getConfig(): ScheduleConfig {
    return { className: 'InverseDecay', initialLearningRate: this.initialLearningRate, gamma: this.gamma, power: this.power };
  }
}
