import { checkArg, LRSchedule, type ScheduleConfig } from './schedule.js';

/** fastai `SchedCos(start, end)(pos)`: a half-cosine from `start` (pos 0) to `end` (pos 1). */
export function schedCos(start: number, end: number, pos: number): number {
  return start + ((1 + Math.cos(Math.PI * (1 - pos))) * (end - start)) / 2;
}

/**
 * fastai `combined_cos(pct, start, middle, end)(pos)`: `SchedCos(start, middle)` over the first
 * `pct` of training, then `SchedCos(middle, end)`, with `combine_scheds`' segment lookup
 * (the last segment also serves pos >= 1).
 */
export function combinedCos(pct: number, start: number, middle: number, end: number, pos: number): number {
  const cum = [0, pct, 1];
  let idx = 0;
  for (let i = 0; i < cum.length; i++) if (pos >= cum[i]) idx = i;
  idx = Math.min(idx, cum.length - 2);
  const local = (pos - cum[idx]) / (cum[idx + 1] - cum[idx]);
  return idx === 0 ? schedCos(start, middle, local) : schedCos(middle, end, local);
}

/** Options of {@link OneCycle}. */
export interface OneCycleOptions {
  /** Peak learning rate. */
  maxLearningRate: number;
  /** Total optimizer steps of the cycle (epochs x batches per epoch). */
  totalSteps: number;
  /** Fraction of the steps spent rising (default 0.25, fastai's `fit_one_cycle`). */
  pctStart?: number;
  /** Start rate = max / div (default 25). */
  div?: number;
  /** Final rate = max / divFinal (default 1e5). */
  divFinal?: number;
  /** Momentum (Adam beta1 / SGD momentum) at start, peak-LR point and end (default [0.95, 0.85, 0.95]). */
  moms?: [number, number, number];
}

/**
 * The 1cycle policy, exactly as fastai's `Learner.fit_one_cycle`: with `pos = step / totalSteps`,
 * `lr = combined_cos(pctStart, max/div, max, max/divFinal)(pos)` and momentum
 * `combined_cos(pctStart, moms[0], moms[1], moms[2])(pos)` — the momentum moves opposite to the
 * learning rate.
 *
 * Reference: fastai `fastai/callback/schedule.py` (`fit_one_cycle`, `combined_cos`,
 * `combine_scheds`, `SchedCos`); Smith, "A disciplined approach to neural network
 * hyper-parameters", https://arxiv.org/abs/1803.09820.
 */
export class OneCycle extends LRSchedule {
  readonly maxLearningRate: number;
  readonly totalSteps: number;
  readonly pctStart: number;
  readonly div: number;
  readonly divFinal: number;
  readonly moms: readonly [number, number, number];

  constructor(options: OneCycleOptions) {
    super();
    const { maxLearningRate, totalSteps, pctStart = 0.25, div = 25, divFinal = 1e5, moms = [0.95, 0.85, 0.95] } = options;
    checkArg('OneCycle', 'maxLearningRate', maxLearningRate, (v) => v >= 0, '>= 0');
    checkArg('OneCycle', 'totalSteps', totalSteps, (v) => Number.isInteger(v) && v > 0, 'an integer > 0');
    checkArg('OneCycle', 'pctStart', pctStart, (v) => v >= 0 && v < 1, 'in [0, 1)');
    checkArg('OneCycle', 'div', div, (v) => v > 0, '> 0');
    checkArg('OneCycle', 'divFinal', divFinal, (v) => v > 0, '> 0');
    moms.forEach((m, i) => checkArg('OneCycle', `moms[${i}]`, m, (v) => v >= 0 && v < 1, 'in [0, 1)'));
    this.maxLearningRate = maxLearningRate;
    this.totalSteps = totalSteps;
    this.pctStart = pctStart;
    this.div = div;
    this.divFinal = divFinal;
    this.moms = [...moms] as [number, number, number];
  }

  /** {@inheritDoc LRSchedule.at} */
  at(step: number): number {
    const m = this.maxLearningRate;
    return combinedCos(this.pctStart, m / this.div, m, m / this.divFinal, step / this.totalSteps);
  }

  /** {@inheritDoc LRSchedule.momentumAt} */
  override momentumAt(step: number): number {
    const [a, b, c] = this.moms;
    return combinedCos(this.pctStart, a, b, c, step / this.totalSteps);
  }

  /** {@inheritDoc LRSchedule.getConfig} */
  getConfig(): ScheduleConfig {
    return { className: 'OneCycle', maxLearningRate: this.maxLearningRate, totalSteps: this.totalSteps, pctStart: this.pctStart, div: this.div, divFinal: this.divFinal, moms: [...this.moms] };
  }
}
