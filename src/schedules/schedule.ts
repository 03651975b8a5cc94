/**
 * Learning-rate schedules: pure functions of the optimizer step (plus, for the few that react to
 * metrics, a small serialisable state).
 *
 * As Keras `LearningRateSchedule`: a schedule never touches the optimizer; the training loop
 * asks it for the rate (and, for one-cycle, the momentum) at each step. `step` counts optimizer
 * updates from 0.
 */
import { TransferKitError } from '../errors.js';

/** Serialisable description of a schedule: its class name and constructor arguments. */
export interface ScheduleConfig {
  /** The schedule's class name (key of {@link scheduleFromConfig}). */
  className: string;
  [key: string]: unknown;
}

/** A learning rate as a function of the 0-based optimizer step. */
export abstract class LRSchedule {
  /** The learning rate at optimizer step `step` (0-based). */
  abstract at(step: number): number;
  /** The constructor arguments, for logs, run reports and {@link scheduleFromConfig}. */
  abstract getConfig(): ScheduleConfig;

  /**
   * Momentum (Adam's beta1 / SGD's momentum) at `step`, for schedules that cycle it (fastai's
   * one-cycle); `undefined` leaves the optimizer's own value alone.
   */
  momentumAt(step: number): number | undefined {
    void step;
    return undefined;
  }

  /** Mutable state a resumed run needs (empty for pure functions of the step). */
  getState(): Record<string, unknown> {
    return {};
  }

  /** Restores what {@link LRSchedule.getState} returned. */
  setState(state: Record<string, unknown>): void {
    void state;
  }

  /** Rates for steps 0..n-1, e.g. to plot the schedule. */
  sample(n: number): number[] {
    return Array.from({ length: n }, (_, i) => this.at(i));
  }

  /**
   * Piecewise schedule: each segment runs its schedule for `steps` optimizer steps, counting from
   * 0 inside the segment; the last segment may omit `steps` and runs on (as PyTorch
   * `SequentialLR`, with segment-local steps).
   * @example
   * ```ts
   * LRSchedule.compose([{ schedule: new ConstantSchedule(1e-3), steps: 100 }, { schedule: new CosineDecay(1e-3, 900) }]);
   * ```
   */
  static compose(segments: ScheduleSegment[]): LRSchedule {
    return new PiecewiseSchedule(segments);
  }
}

/** One piece of {@link LRSchedule.compose}. */
export interface ScheduleSegment {
  schedule: LRSchedule;
  /** Steps this segment lasts (omit on the last segment). */
  steps?: number;
}

/**
 * The schedule {@link LRSchedule.compose} returns. It lives in this module because a static
 * factory on the base class cannot import a subclass from another module without a cycle.
 */
export class PiecewiseSchedule extends LRSchedule {
  readonly segments: readonly ScheduleSegment[];

  constructor(segments: ScheduleSegment[]) {
    super();
    if (segments.length === 0) throw new TransferKitError('E_BAD_OPTION', 'LRSchedule.compose: needs at least one segment. Received: segments=[].');
    segments.forEach((s, i) => {
      const last = i === segments.length - 1;
      if (!last || s.steps !== undefined) {
        checkArg('LRSchedule.compose', `segments[${i}].steps`, s.steps as number, (v) => Number.isInteger(v) && v > 0, 'an integer > 0 (only the last segment may omit it)');
      }
    });
    this.segments = segments;
  }

  private locate(step: number): [ScheduleSegment, number] {
    let start = 0;
    for (let i = 0; i < this.segments.length - 1; i++) {
      const s = this.segments[i];
      if (step < start + (s.steps as number)) return [s, step - start];
      start += s.steps as number;
    }
    return [this.segments[this.segments.length - 1], step - start];
  }

  /** {@inheritDoc LRSchedule.at} */
  at(step: number): number {
    const [s, local] = this.locate(step);
    return s.schedule.at(local);
  }

  /** {@inheritDoc LRSchedule.momentumAt} */
  override momentumAt(step: number): number | undefined {
    const [s, local] = this.locate(step);
    return s.schedule.momentumAt(local);
  }

  /** {@inheritDoc LRSchedule.getState} */
  override getState(): Record<string, unknown> {
    return { segments: this.segments.map((s) => s.schedule.getState()) };
  }

  /** {@inheritDoc LRSchedule.setState} */
  override setState(state: Record<string, unknown>): void {
    const parts = (state.segments ?? []) as Record<string, unknown>[];
    this.segments.forEach((s, i) => s.schedule.setState(parts[i] ?? {}));
  }

  /** {@inheritDoc LRSchedule.getConfig} */
  getConfig(): ScheduleConfig {
    return { className: 'PiecewiseSchedule', segments: this.segments.map((s) => ({ schedule: s.schedule.getConfig(), steps: s.steps })) };
  }
}

/** Throws a coded error unless `value` is a finite number satisfying `ok`. */
export function checkArg(schedule: string, name: string, value: number, ok: (v: number) => boolean, constraint: string): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || !ok(value)) {
    throw new TransferKitError('E_BAD_OPTION', `${schedule}: argument \`${name}\` must be ${constraint}. Received: ${name}=${String(value)}.`);
  }
}
