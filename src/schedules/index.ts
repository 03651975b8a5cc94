/**
 * Factory helpers so users write `schedules.cosine(1e-3, 500)` without importing each class.
 */
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
import { LRSchedule, type ScheduleSegment } from './schedule.js';
import { StepDecay } from './step_decay.js';

/** Short constructors for the built-in schedules. */
export const schedules = {
  /** {@link ConstantSchedule} */
  constant: (learningRate: number): LRSchedule => new ConstantSchedule(learningRate),
  /** {@link StepDecay} (PyTorch StepLR) */
  step: (initialLearningRate: number, stepSize: number, gamma = 0.1): LRSchedule => new StepDecay(initialLearningRate, stepSize, gamma),
  /** {@link CosineDecay} (Keras CosineDecay) */
  cosine: (initialLearningRate: number, decaySteps: number, alpha = 0): LRSchedule => new CosineDecay(initialLearningRate, decaySteps, alpha),
  /** {@link LinearWarmup} in front of `after` */
  warmup: (after: LRSchedule, warmupSteps: number): LRSchedule => new LinearWarmup(after, warmupSteps),
  /** {@link MultiStepDecay} (PyTorch MultiStepLR) */
  multiStep: (initialLearningRate: number, milestones: number[], gamma = 0.1): LRSchedule => new MultiStepDecay(initialLearningRate, milestones, gamma),
  /** {@link ExponentialDecay} (Keras ExponentialDecay) */
  exponential: (initialLearningRate: number, decaySteps: number, decayRate: number, staircase = false): LRSchedule => new ExponentialDecay(initialLearningRate, decaySteps, decayRate, staircase),
  /** {@link PolynomialDecay} (Keras PolynomialDecay) */
  polynomial: (initialLearningRate: number, decaySteps: number, endLearningRate = 1e-4, power = 1, cycle = false): LRSchedule => new PolynomialDecay(initialLearningRate, decaySteps, endLearningRate, power, cycle),
  /** {@link CosineDecayRestarts} (SGDR, Keras CosineDecayRestarts) */
  cosineRestarts: (initialLearningRate: number, firstDecaySteps: number, tMul = 2, mMul = 1, alpha = 0): LRSchedule => new CosineDecayRestarts(initialLearningRate, firstDecaySteps, tMul, mMul, alpha),
  /** {@link LinearScheduleWithWarmup} (HF get_linear_schedule_with_warmup) */
  linearWithWarmup: (learningRate: number, warmupSteps: number, trainingSteps: number): LRSchedule => new LinearScheduleWithWarmup(learningRate, warmupSteps, trainingSteps),
  /** {@link CosineScheduleWithWarmup} (HF get_cosine_schedule_with_warmup) */
  cosineWithWarmup: (learningRate: number, warmupSteps: number, trainingSteps: number, numCycles = 0.5): LRSchedule => new CosineScheduleWithWarmup(learningRate, warmupSteps, trainingSteps, numCycles),
  /** {@link InverseDecay} (Ganin et al.'s DANN annealing, tllib's `lr_gamma`/`lr_decay`) */
  inverse: (initialLearningRate: number, gamma: number, power = 0.75): LRSchedule => new InverseDecay(initialLearningRate, gamma, power),
  /** {@link OneCycle} (fastai fit_one_cycle) */
  oneCycle: (options: OneCycleOptions): OneCycle => new OneCycle(options),
  /** {@link ReduceLROnPlateau} (Keras ReduceLROnPlateau) */
  reduceOnPlateau: (options: ReduceLROnPlateauOptions): ReduceLROnPlateau => new ReduceLROnPlateau(options),
  /** {@link LRSchedule.compose} */
  compose: (segments: ScheduleSegment[]): LRSchedule => LRSchedule.compose(segments),
} as const;
