/**
 * Rebuilds a schedule from its `getConfig()` output (for checkpoints and run reports).
 */
import { TransferKitError } from '../errors.js';
import { ConstantSchedule } from './constant.js';
import { CosineDecay } from './cosine_decay.js';
import { CosineDecayRestarts } from './cosine_decay_restarts.js';
import { CosineScheduleWithWarmup } from './cosine_schedule_with_warmup.js';
import { ExponentialDecay } from './exponential_decay.js';
import { InverseDecay } from './inverse_decay.js';
import { LinearScheduleWithWarmup } from './linear_schedule_with_warmup.js';
import { LinearWarmup } from './linear_warmup.js';
import { MultiStepDecay } from './multi_step_decay.js';
import { OneCycle, type OneCycleOptions } from './one_cycle.js';
import { PolynomialDecay } from './polynomial_decay.js';
import { ReduceLROnPlateau, type ReduceLROnPlateauOptions } from './reduce_lr_on_plateau.js';
import { PiecewiseSchedule, type LRSchedule, type ScheduleConfig } from './schedule.js';
import { StepDecay } from './step_decay.js';

type C = Record<string, unknown>;
const n = (c: C, k: string) => c[k] as number;

const FACTORIES: Record<string, (c: C) => LRSchedule> = {
  ConstantSchedule: (c) => new ConstantSchedule(n(c, 'learningRate')),
  StepDecay: (c) => new StepDecay(n(c, 'initialLearningRate'), n(c, 'stepSize'), n(c, 'gamma')),
  MultiStepDecay: (c) => new MultiStepDecay(n(c, 'initialLearningRate'), c.milestones as number[], n(c, 'gamma')),
  ExponentialDecay: (c) => new ExponentialDecay(n(c, 'initialLearningRate'), n(c, 'decaySteps'), n(c, 'decayRate'), c.staircase as boolean),
  PolynomialDecay: (c) => new PolynomialDecay(n(c, 'initialLearningRate'), n(c, 'decaySteps'), n(c, 'endLearningRate'), n(c, 'power'), c.cycle as boolean),
  CosineDecay: (c) => new CosineDecay(n(c, 'initialLearningRate'), n(c, 'decaySteps'), n(c, 'alpha')),
  CosineDecayRestarts: (c) => new CosineDecayRestarts(n(c, 'initialLearningRate'), n(c, 'firstDecaySteps'), n(c, 'tMul'), n(c, 'mMul'), n(c, 'alpha')),
  InverseDecay: (c) => new InverseDecay(n(c, 'initialLearningRate'), n(c, 'gamma'), n(c, 'power')),
  LinearWarmup: (c) => new LinearWarmup(scheduleFromConfig(c.after as ScheduleConfig), n(c, 'warmupSteps')),
  LinearScheduleWithWarmup: (c) => new LinearScheduleWithWarmup(n(c, 'learningRate'), n(c, 'warmupSteps'), n(c, 'trainingSteps')),
  CosineScheduleWithWarmup: (c) => new CosineScheduleWithWarmup(n(c, 'learningRate'), n(c, 'warmupSteps'), n(c, 'trainingSteps'), n(c, 'numCycles')),
  OneCycle: (c) => new OneCycle(c as unknown as OneCycleOptions),
  ReduceLROnPlateau: (c) => new ReduceLROnPlateau(c as unknown as ReduceLROnPlateauOptions),
  PiecewiseSchedule: (c) =>
    new PiecewiseSchedule((c.segments as { schedule: ScheduleConfig; steps?: number }[]).map((s) => ({ schedule: scheduleFromConfig(s.schedule), steps: s.steps ?? undefined }))),
};

/**
 * The schedule a `getConfig()` describes (state, if any, is restored separately with `setState`).
 * @example
 * ```ts
 * const again = scheduleFromConfig(JSON.parse(JSON.stringify(schedule.getConfig())));
 * again.setState(savedState);
 * ```
 */
export function scheduleFromConfig(config: ScheduleConfig): LRSchedule {
  const make = FACTORIES[config.className];
  if (make === undefined) {
    throw new TransferKitError('E_BAD_OPTION', `Unknown schedule class. Received: className=${String(config.className)}. Known: ${Object.keys(FACTORIES).join(', ')}.`);
  }
  const { className: _ignored, ...args } = config;
  void _ignored;
  return make(args);
}
