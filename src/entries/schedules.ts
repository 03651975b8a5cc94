/**
 * `transferkit/schedules`: Learning-rate schedules, one class per schedule (Keras, PyTorch, HF and fastai formulas), composition and configs.
 * @packageDocumentation
 */
export { LRSchedule, PiecewiseSchedule, type ScheduleConfig, type ScheduleSegment } from '../schedules/schedule.js';
export { schedules } from '../schedules/index.js';
export { ConstantSchedule } from '../schedules/constant.js';
export { StepDecay } from '../schedules/step_decay.js';
export { MultiStepDecay } from '../schedules/multi_step_decay.js';
export { ExponentialDecay } from '../schedules/exponential_decay.js';
export { PolynomialDecay } from '../schedules/polynomial_decay.js';
export { CosineDecay } from '../schedules/cosine_decay.js';
export { CosineDecayRestarts } from '../schedules/cosine_decay_restarts.js';
export { LinearWarmup } from '../schedules/linear_warmup.js';
export { LinearScheduleWithWarmup } from '../schedules/linear_schedule_with_warmup.js';
export { CosineScheduleWithWarmup } from '../schedules/cosine_schedule_with_warmup.js';
export { InverseDecay } from '../schedules/inverse_decay.js';
export { OneCycle, type OneCycleOptions } from '../schedules/one_cycle.js';
export { ReduceLROnPlateau, type ReduceLROnPlateauOptions } from '../schedules/reduce_lr_on_plateau.js';
export { scheduleFromConfig } from '../schedules/registry.js';
