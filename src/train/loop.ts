/**
 * The one training loop of transferkit. Every path that trains runs on it: each stage of
 * `fineTune`'s recipes, the Hugging Face text recipe (`fineTuneText`), masked-LM pretraining and
 * every loss-based `DomainAdapter` phase. What differs between them is a {@link TrainingTask}
 * (how an epoch's batches are drawn, what one step computes, what an epoch log holds); what they
 * share lives here once:
 *
 * - the schedule: the learning rate (and cycled momentum) is set before every step;
 * - the NaN guard: a non-finite loss stops the run with `E_TRAINING_DIVERGED`;
 * - callbacks (Keras' hook order: train begin, epoch begin, batch end, epoch end, train end) and
 *   `stopTraining` (early stopping with best-weights restore is the `EarlyStopping` callback);
 * - progress events (`'batch'` after every step, `'epoch'` after every epoch);
 * - checkpoints every `everyEpochs` epochs / `everySteps` steps and at the end of the stage,
 *   written atomically with the weights, optimizer slots, schedule and RNG state, the epoch's
 *   example order and running sums, and the task's own state, so a resumed run equals an
 *   uninterrupted one;
 * - `signal`: an abort lands after the current *step* (the loop yields to the event loop after
 *   every step so a SIGINT handler can run), and that step is checkpointed.
 *
 * Gradient clipping and accumulation belong to a task's step (they act on its gradients), with
 * the shared pieces in `optimizers/clip_grad_norm.ts` and `train/train_step.ts`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { TransferKitError } from '../errors.js';
import type { Optimizer } from '../optimizers/optimizer.js';
import type { LRSchedule } from '../schedules/schedule.js';
import type { SeededRandom } from '../utils/random.js';
import type { BatchLog, Callback, TrainingContext, TrainingLog } from '../callbacks/callback.js';
import type { ProgressEvent } from '../callbacks/progress.js';
import type { CheckpointState, CheckpointTarget } from './checkpoint.js';

// Checkpoints use node:fs: loaded on first use so the browser build never pulls them in.
const checkpoints = () => import('./checkpoint.js');

/** What one optimizer step reports (already read back from the device). */
export interface StepFigures {
  /** The step's mean loss. */
  loss: number;
  /** Examples in the step (weights the loss in the epoch's mean). */
  examples: number;
  /** Figures summed over the step's examples (e.g. correct predictions), added up over the epoch. */
  sums?: Record<string, number>;
}

/** The batches of one epoch. */
export interface EpochBatches<B> {
  batches: AsyncIterable<B> | Iterable<B>;
  /**
   * The epoch's example order as JSON (read after the first batch), so a checkpoint taken in the
   * middle of the epoch resumes it exactly; null when the data has no order (streams) or the
   * task keeps its position in {@link TrainingTask.getState}.
   */
  order(): unknown;
}

/** What an epoch log is built from. */
export interface EpochFigures {
  stage: string;
  /** 1-based epoch within the stage. */
  epoch: number;
  /** Optimizer steps in the epoch. */
  steps: number;
  /** Mean loss over the epoch's examples. */
  loss: number;
  /** Examples seen in the epoch. */
  examples: number;
  /** The epoch's summed figures ({@link StepFigures.sums}). */
  sums: Record<string, number>;
  /** Learning rate at the epoch's last step. */
  learningRate: number;
  /** Wall-clock seconds of the epoch's steps. */
  seconds: number;
}

/**
 * One kind of training, as the loop sees it. A task owns its data, its forward/backward pass and
 * its update; the loop owns everything around the steps.
 */
export interface TrainingTask<B, L extends TrainingLog> {
  /** Optimizer steps per epoch. */
  readonly stepsPerEpoch: number;
  /**
   * The batches of one epoch, drawn from `rand` (the run's seeded stream). `resume` continues an
   * epoch interrupted after `start` steps, with the order {@link EpochBatches.order} reported.
   */
  epoch(rand: () => number, resume?: { start: number; order?: unknown }): EpochBatches<B>;
  /**
   * One optimizer step on `batch` (forward, backward, update) at 0-based step `step` of the
   * stage. `null` when the batch gave nothing to learn from (masked-LM: no token selected): no
   * step is counted.
   */
  trainStep(batch: B, step: number): Promise<StepFigures | null>;
  /** The epoch's log (validation runs here). */
  epochLog(figures: EpochFigures): Promise<L>;
  /** Summed figure shown as the progress bar's metric (divided by examples); default none. */
  readonly progressMetric?: string;
  /** JSON state the task keeps across steps (samplers, extra RNG streams), for checkpoints. */
  getState?(): Record<string, unknown>;
  /** Restores what {@link TrainingTask.getState} returned. */
  setState?(state: Record<string, unknown>): void;
}

/** Where a stage sits in its run (checkpoints record it so a resume finds its place). */
export interface StagePosition {
  /** The run's recipe (a resume must use the same one). */
  recipe: string;
  /** Index of this stage among the run's stages. */
  stageIndex: number;
  /** The optimizer lives on into the next stage, so its state is checkpointed at the stage's end. */
  keepOptimizer?: boolean;
}

/** Everything {@link runLoop} needs. */
export interface LoopArgs<B, L extends TrainingLog> {
  task: TrainingTask<B, L>;
  /** Name of the stage in logs, progress and checkpoints. */
  stage: string;
  epochs: number;
  /** Stop after this many optimizer steps of the stage (the last epoch may end early). */
  maxSteps?: number;
  optimizer: Optimizer;
  schedule: LRSchedule;
  /** The run's seeded stream (batch order, augmentation, dropout when the task draws from it). */
  rng: SeededRandom;
  /** The run's history across stages; the stage's logs are appended. */
  history: L[];
  callbacks?: Callback[];
  /** What callbacks see (`stopTraining` ends the stage after the current epoch). */
  context: TrainingContext;
  /** Called before each epoch (0-based within the stage), before the callbacks' `onEpochBegin`. */
  onEpochBegin?: (epochInStage: number, optimizer: Optimizer) => void;
  progress?: ((e: ProgressEvent) => void) | null;
  signal?: AbortSignal;
  checkpoint?: { dir: string; everyEpochs?: number; everySteps?: number };
  /** The weights a checkpoint holds. */
  target: CheckpointTarget;
  position: StagePosition;
  /** The checkpoint this stage resumes from (null: a fresh stage). */
  resume: CheckpointState | null;
}

/** How a stage ended. */
export interface LoopResult {
  /** `signal` stopped it (the last checkpoint resumes it). */
  interrupted: boolean;
  /** Optimizer steps the stage took in total (resumed steps included). */
  steps: number;
}

/**
 * Runs one stage of training: `epochs` epochs of `task` steps (see the module doc for what the
 * loop adds around each step).
 */
export async function runLoop<B, L extends TrainingLog>(a: LoopArgs<B, L>): Promise<LoopResult> {
  const { task, optimizer, schedule, rng, stage, epochs } = a;
  const rand = () => rng.next();
  const callbacks = a.callbacks ?? [];
  const ctx = a.context;
  const stageHistory: L[] = [];
  const resume = a.resume;
  const everySteps = a.checkpoint?.everySteps;
  if (everySteps !== undefined && !(Number.isInteger(everySteps) && everySteps > 0)) {
    throw new TransferKitError('E_BAD_OPTION', `checkpoint.everySteps must be an integer > 0. Received: ${everySteps}.`);
  }
  const everyEpochs = a.checkpoint?.everyEpochs ?? 1;
  if (!(Number.isInteger(everyEpochs) && everyEpochs > 0)) {
    throw new TransferKitError('E_BAD_OPTION', `checkpoint.everyEpochs must be an integer > 0. Received: ${everyEpochs}.`);
  }
  const maxSteps = a.maxSteps ?? Infinity;
  let step = resume?.step ?? 0;
  if (resume !== null) {
    const { namedState } = await checkpoints();
    if (resume.optimizer !== null) optimizer.setState(namedState(resume.optimizer, a.target));
    if (resume.schedule !== null) schedule.setState(resume.schedule);
    if (resume.task !== undefined) task.setState?.(resume.task);
    rng.state = resume.rng;
  }
  const save = async (extra: Partial<CheckpointState> & Pick<CheckpointState, 'stageIndex' | 'epochsDone' | 'step'>, withOptimizer: boolean, withSchedule: boolean): Promise<void> => {
    if (a.checkpoint === undefined) return;
    const { writeCheckpoint, positionalState } = await checkpoints();
    const state: CheckpointState = {
      version: 1,
      recipe: a.position.recipe,
      optimizer: withOptimizer ? positionalState(await optimizer.getState(), a.target) : null,
      schedule: withSchedule ? schedule.getState() : null,
      rng: rng.state,
      history: a.history,
      ...(task.getState !== undefined ? { task: task.getState() } : {}),
      ...extra,
    };
    await writeCheckpoint(a.checkpoint.dir, a.target, state);
  };

  // Aborted before the stage began: no step is taken (the previous checkpoint stands).
  // A function, not a property read: TypeScript would narrow `aborted` for the rest of the function.
  const aborted = (): boolean => a.signal?.aborted === true;
  if (aborted()) return { interrupted: true, steps: step };
  for (const cb of callbacks) await cb.onTrainBegin?.(ctx);
  let completed = false;
  let interrupted = false;
  try {
    let midEpoch = resume?.stepInEpoch !== undefined ? resume : null;
    for (let epoch = (resume?.epochsDone ?? 0) + 1; epoch <= epochs && !ctx.stopTraining && step < maxSteps; epoch++) {
      // An epoch resumed mid-way already ran its begin hooks (their effects are in the optimizer state).
      if (midEpoch === null) {
        a.onEpochBegin?.(epoch - 1, optimizer);
        for (const cb of callbacks) await cb.onEpochBegin?.(epoch, ctx);
      }
      const t0 = performance.now();
      let lossSum = midEpoch?.partial?.lossSum ?? 0;
      let seen = midEpoch?.partial?.seen ?? 0;
      const sums: Record<string, number> = { ...(midEpoch?.partial?.sums ?? {}) };
      let lr = schedule.at(Math.max(0, step - 1));
      // Batches drawn in the epoch (a batch a task skips is drawn but is no step).
      let s = midEpoch?.stepInEpoch ?? 0;
      const run = task.epoch(rand, midEpoch !== null ? { start: s, ...(midEpoch.order !== undefined ? { order: midEpoch.order } : {}) } : undefined);
      midEpoch = null;
      for await (const batch of run.batches) {
        if (step >= maxSteps) break;
        lr = schedule.at(step);
        optimizer.setLearningRate(lr);
        const mom = schedule.momentumAt(step);
        if (mom !== undefined) optimizer.setMomentum(mom);
        const f = await task.trainStep(batch, step);
        s++;
        if (f === null) continue;
        if (!Number.isFinite(f.loss)) {
          throw new TransferKitError(
            'E_TRAINING_DIVERGED',
            `The loss became ${f.loss} at step ${step} (stage '${stage}', epoch ${epoch}, learning rate ${lr.toExponential(3)}). ` +
              'Lower the learning rate, clip the gradient norm, or check the inputs for NaN/Inf values.',
          );
        }
        const metricKey = task.progressMetric;
        const batchMetric = metricKey !== undefined ? (f.sums?.[metricKey] ?? 0) / f.examples : NaN;
        const batchLog: BatchLog = { step, loss: f.loss, accuracy: batchMetric, learningRate: lr };
        for (const cb of callbacks) await cb.onBatchEnd?.(batchLog, ctx);
        lossSum += f.loss * f.examples;
        seen += f.examples;
        for (const [k, v] of Object.entries(f.sums ?? {})) sums[k] = (sums[k] ?? 0) + v;
        step++;
        a.progress?.({ type: 'batch', stage, epoch, epochs, step: s, steps: task.stepsPerEpoch, loss: lossSum / seen, metric: metricKey !== undefined ? (sums[metricKey] ?? 0) / seen : NaN, learningRate: lr });
        // On cpu/wasm a step's awaits settle as microtasks, so without a turn of the event loop a
        // SIGINT handler or a timer calling abort() would only run at the epoch's end.
        await nextTurn();
        const more = s < task.stepsPerEpoch && step < maxSteps;
        const stop = aborted() && more;
        if (more && ((everySteps !== undefined && step % everySteps === 0) || stop)) {
          await save({ stageIndex: a.position.stageIndex, epochsDone: epoch - 1, step, stepInEpoch: s, ...orderOf(run), partial: { lossSum, seen, sums: { ...sums } } }, true, true);
        }
        if (stop) {
          // Interrupted (signal): the step just taken is in the checkpoint; resume continues from it.
          interrupted = true;
          break;
        }
      }
      if (interrupted) break;
      const log = await task.epochLog({ stage, epoch, steps: s, loss: seen > 0 ? lossSum / seen : 0, examples: seen, sums, learningRate: lr, seconds: (performance.now() - t0) / 1000 });
      // Wall-clock of the whole epoch, validation included (the task's own figures used the steps' time).
      log.seconds = (performance.now() - t0) / 1000;
      log.numTensors = tf.memory().numTensors;
      a.history.push(log);
      stageHistory.push(log);
      a.progress?.({ type: 'epoch', log });
      const last = epoch === epochs || step >= maxSteps;
      if (last) {
        // The stage is done: the checkpoint points at the next stage.
        await save({ stageIndex: a.position.stageIndex + 1, epochsDone: 0, step: 0 }, a.position.keepOptimizer === true, false);
      } else if (epoch % everyEpochs === 0) {
        await save({ stageIndex: a.position.stageIndex, epochsDone: epoch, step }, true, true);
      }
      for (const cb of callbacks) await cb.onEpochEnd?.(log, ctx);
      if (aborted() && !last) {
        interrupted = true;
        break;
      }
    }
    if (!interrupted) for (const cb of callbacks) await cb.onTrainEnd?.(stageHistory, ctx);
    completed = !interrupted;
  } finally {
    // A stage that ends without onTrainEnd (interrupted, or an error) lets callbacks free what they hold.
    if (!completed) for (const cb of callbacks) cb.dispose?.();
  }
  return { interrupted, steps: step };
}

function orderOf(run: EpochBatches<unknown>): { order?: unknown } {
  const o = run.order();
  return o === null || o === undefined ? {} : { order: o };
}

type Immediate = (fn: () => void) => unknown;
const setImmediateFn = (globalThis as { setImmediate?: Immediate }).setImmediate;
let channel: { port1: { onmessage: (() => void) | null }; port2: { postMessage(m: unknown): void } } | null = null;
const waiting: (() => void)[] = [];

/**
 * Resolves after pending events (signals, timers, I/O) have had their turn. Node: two
 * `setImmediate`s, so that at least one poll phase (where signal handlers run) lies between the
 * step and the abort check; browsers: a MessageChannel message (a task, without setTimeout's 4 ms clamp).
 */
export function nextTurn(): Promise<void> {
  if (setImmediateFn !== undefined) return new Promise((resolve) => setImmediateFn(() => setImmediateFn(resolve)));
  const MC = (globalThis as { MessageChannel?: new () => NonNullable<typeof channel> }).MessageChannel;
  if (MC === undefined) return new Promise((resolve) => setTimeout(resolve, 0));
  if (channel === null) {
    channel = new MC();
    channel.port1.onmessage = () => waiting.shift()?.();
  }
  const c = channel;
  return new Promise((resolve) => {
    waiting.push(resolve);
    c.port2.postMessage(0);
  });
}
