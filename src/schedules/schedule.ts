/**
 * Learning-rate schedules: pure functions of the optimizer step.
 *
 * As Keras `LearningRateSchedule`: a schedule never touches the optimizer; the training loop
 * asks it for the rate at each step. `step` counts optimizer updates from 0.
 */
import { TransferKitError } from '../errors.js';

/** Serialisable description of a schedule. */
export interface ScheduleConfig {
  /** The schedule's class name. */
  className: string;
  [key: string]: unknown;
}

/** A learning rate as a function of the 0-based optimizer step. */
export abstract class LRSchedule {
  /** The learning rate at optimizer step `step` (0-based). */
  abstract at(step: number): number;
  /** The constructor arguments, for logs and run reports. */
  abstract getConfig(): ScheduleConfig;

  /** Rates for steps 0..n-1, e.g. to plot the schedule. */
  sample(n: number): number[] {
    return Array.from({ length: n }, (_, i) => this.at(i));
  }
}

/** Throws a coded error unless `value` is a finite number satisfying `ok`. */
export function checkArg(schedule: string, name: string, value: number, ok: (v: number) => boolean, constraint: string): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || !ok(value)) {
    throw new TransferKitError('E_BAD_OPTION', `${schedule}: argument \`${name}\` must be ${constraint}. Received: ${name}=${String(value)}.`);
  }
}
