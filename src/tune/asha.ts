/**
 * Asynchronous successive halving (ASHA; Li et al. 2020, https://arxiv.org/abs/1810.05934), as
 * Ray Tune's `ASHAScheduler(grace_period, max_t, reduction_factor=3)`: rungs at resources
 * `grace * eta^k` up to `maxResource`; when a trial reports its metric at a rung, it continues only
 * if the metric is in the top `1/eta` of all metrics recorded at that rung so far (Ray's cutoff: the
 * `(1 - 1/eta)` quantile of the recorded values); otherwise it is stopped. No trial waits for
 * others, so workers never idle.
 */
import { TransferKitError } from '../errors.js';

/** Options of {@link Asha}. */
export interface AshaOptions {
  /** Resource (e.g. epochs) of the first rung (Ray `grace_period`; default 1). */
  minResource?: number;
  /** Resource at which a trial ends (Ray `max_t`). */
  maxResource: number;
  /** Keep the top 1/eta at each rung (default 3). */
  reductionFactor?: number;
  /** 'max' (accuracy) or 'min' (loss). */
  mode: 'max' | 'min';
}

/** Linear-interpolated quantile, as numpy's default `percentile`. */
export function quantile(values: readonly number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

/** The rung bookkeeping of one ASHA bracket. */
export class Asha {
  /** Rung resources, ascending (`grace * eta^k < maxResource`). */
  readonly rungs: number[];
  private readonly recorded = new Map<number, number[]>();
  readonly eta: number;

  constructor(readonly options: AshaOptions) {
    const grace = options.minResource ?? 1;
    this.eta = options.reductionFactor ?? 3;
    if (!(this.eta > 1)) throw new TransferKitError('E_BAD_OPTION', `ASHA reductionFactor must be > 1. Received: ${this.eta}.`);
    if (!(grace > 0 && options.maxResource >= grace)) throw new TransferKitError('E_BAD_OPTION', `ASHA needs 0 < minResource <= maxResource. Received: minResource=${grace}, maxResource=${options.maxResource}.`);
    this.rungs = [];
    for (let r = grace; r < options.maxResource; r *= this.eta) this.rungs.push(r);
  }

  /**
   * Records `value` reported at `resource` and says whether the trial continues. Only rung
   * milestones decide; other reports always continue.
   */
  report(resource: number, value: number): 'continue' | 'stop' {
    if (resource >= this.options.maxResource) return 'stop';
    if (!this.rungs.includes(resource)) return 'continue';
    const v = this.options.mode === 'max' ? value : -value;
    const rung = this.recorded.get(resource) ?? [];
    rung.push(Number.isFinite(v) ? v : -Infinity);
    this.recorded.set(resource, rung);
    const cutoff = quantile(rung, 1 - 1 / this.eta);
    return v >= cutoff ? 'continue' : 'stop';
  }

  /** Values recorded at each rung (for reports). */
  get rungValues(): Map<number, number[]> {
    return new Map([...this.recorded].map(([r, vs]) => [r, this.options.mode === 'max' ? [...vs] : vs.map((v) => -v)]));
  }
}
