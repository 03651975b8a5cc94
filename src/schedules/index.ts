/**
 * Factory helpers so users write `schedules.cosine(1e-3, 500)` without importing each class.
 */
import { ConstantSchedule } from './constant.js';
import { CosineDecay } from './cosine_decay.js';
import { LinearWarmup } from './linear_warmup.js';
import type { LRSchedule } from './schedule.js';
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
} as const;
