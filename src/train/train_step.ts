/**
 * One optimizer update on a batch, optionally as several micro-batches whose gradients are
 * accumulated before the single update (as HF Trainer's `gradient_accumulation_steps`).
 *
 * Why: the wasm32 heap stops at 4 GB, and a full MobileNetV2 backward pass at 224 px keeps
 * ~300 MB per image alive, so batch 32 only fits as micro-batches. The update equals the
 * full-batch one except that training-mode BatchNorm normalises with each micro-batch's
 * statistics ("ghost batch norm").
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { clipGradNorm } from '../optimizers/clip_grad_norm.js';
import { Optimizer } from '../optimizers/optimizer.js';
import type { HeadTask } from '../models/pretrained_model.js';
import { withStepFilterCache } from '../backends/step_filter_cache.js';
import { withUnneededInputGradients } from '../backends/unneeded_input_gradients.js';
import { convFiltersOnConstantInputs, runLayers } from './graph_executor.js';
import { taskLoss, taskMetricSum, type LossOptions } from './losses.js';
import { withBatchRows, type StepDropout } from '../layers/seeded_dropout.js';

export { crossEntropy, type LossOptions } from './losses.js';

/** Inputs of {@link trainStep}. */
export interface TrainStepArgs {
  model: tfl.LayersModel;
  /** Index of the layer whose output `x` is (0 = the model input). */
  from: number;
  x: tf.Tensor;
  /** Targets: one-hot rows (multiclass), multi-hot rows (multilabel) or values (regression). */
  y: tf.Tensor;
  /** The head's task, which picks the loss and metric (default `'multiclass'`). */
  task?: HeadTask;
  vars: tf.Variable[];
  /** A transferkit optimizer (PyTorch semantics) or a TF.js one. */
  optimizer: Optimizer | tf.Optimizer;
  /** Split the batch into chunks of this size and accumulate gradients (default: no split). */
  microBatchSize?: number;
  /** Clip gradients to this global L2 norm before the update (as torch `clip_grad_norm_`). */
  clipNorm?: number;
  /** Loss options (label smoothing, class weights). */
  loss?: LossOptions;
}

/** Loss (batch mean) and metric sum of the step. */
export interface StepResult {
  loss: number;
  /** Correct predictions (multiclass); summed per-example binary accuracy (multilabel); summed per-example MAE (regression). */
  correct: number;
  /** Global gradient norm before clipping (only when `clipNorm` is set). */
  gradNorm?: number;
}

/** The step's figures as scalar tensors, not yet read back (the caller disposes them). */
export interface PendingStepResult {
  loss: tf.Scalar;
  correct: tf.Scalar;
  gradNorm?: tf.Scalar;
}

/**
 * Runs forward, backward and one optimizer update, and returns the loss and hit count as
 * tensors without reading them back.
 *
 * Why: a GPU→CPU read is a pipeline stall on GPU backends (and impossible synchronously on
 * WebGPU in Node), so the loop reads the figures once per step, asynchronously.
 */
export function trainStepPending(args: TrainStepArgs): PendingStepResult {
  const { model, from, x, y, vars, optimizer } = args;
  const task = args.task ?? 'multiclass';
  const last = model.layers.length - 1;
  const n = x.shape[0];
  const micro = Math.min(args.microBatchSize ?? n, n);
  let acc: tf.NamedTensorMap | null = null;
  let loss: tf.Scalar | null = null;
  let correct: tf.Scalar | null = null;
  // Running sums kept across the micro-batch tidies (each tidy frees everything else it made).
  const addKept = (prev: tf.Scalar | null, t: tf.Scalar): tf.Scalar => {
    if (prev === null) return tf.keep(t);
    const sum = tf.keep(tf.add(prev, t)) as tf.Scalar;
    prev.dispose();
    return sum;
  };
  // Convolutions whose input gradient the tape discards: skipped by the wasm kernels.
  const constantInputFilters = convFiltersOnConstantInputs(model, from, vars);
  // Rearranged filters of the backward kernels are built once for all micro-batches (weights change only after them).
  withStepFilterCache(() => {
    // Dropout masks are drawn per step, not per micro-batch (see withBatchRows).
    const dropoutStep: StepDropout = { rows: n, seeds: [] };
    for (let i = 0; i < n; i += micro) {
      const b = Math.min(micro, n - i);
      tf.tidy(() => {
        const xs = b === n ? x : tf.slice(x, i, b);
        const ys = b === n ? y : tf.slice(y, i, b);
        let h: tf.Scalar | null = null;
        // Each chunk's mean loss is weighted by its share, so the summed gradient is the batch mean's.
        const { value, grads } = withUnneededInputGradients(constantInputFilters, () => tf.variableGrads(() => {
          const probs = withBatchRows(dropoutStep, i, () => runLayers(model, from, xs, last, true));
          // variableGrads() disposes everything made in here but the loss: keep the hit count.
          h = tf.keep(taskMetricSum(task, probs, ys));
          const l = taskLoss(task, probs, ys, args.loss);
          return (b === n ? l : tf.mul(l, b / n)) as tf.Scalar;
        }, vars));
        loss = addKept(loss, value);
        const hit = h as unknown as tf.Scalar;
        correct = addKept(correct, hit);
        if (correct !== hit) hit.dispose(); // kept past variableGrads, so tidy() would not free it
        if (acc === null) acc = Object.fromEntries(Object.keys(grads).map((k) => [k, tf.keep(grads[k])]));
        else {
          const prev: tf.NamedTensorMap = acc;
          acc = Object.fromEntries(Object.keys(prev).map((k) => [k, tf.keep(tf.add(prev[k], grads[k]))]));
          tf.dispose(Object.values(prev));
        }
      });
    }
  });
  let grads = acc as unknown as tf.NamedTensorMap;
  const result: PendingStepResult = { loss: loss as unknown as tf.Scalar, correct: correct as unknown as tf.Scalar };
  if (args.clipNorm !== undefined) {
    const clipped = clipGradNorm(grads, args.clipNorm);
    tf.dispose(Object.values(grads));
    grads = clipped.grads;
    result.gradNorm = clipped.totalNorm;
  }
  if (optimizer instanceof Optimizer) optimizer.step(grads);
  else optimizer.applyGradients(grads);
  tf.dispose(Object.values(grads));
  return result;
}

function settle(p: PendingStepResult, read: (t: tf.Scalar) => number): StepResult {
  const r: StepResult = { loss: read(p.loss), correct: read(p.correct), ...(p.gradNorm ? { gradNorm: read(p.gradNorm) } : {}) };
  tf.dispose([p.loss, p.correct, ...(p.gradNorm ? [p.gradNorm] : [])]);
  return r;
}

/** Runs forward, backward and one optimizer update; reads the figures synchronously (cpu, wasm, tensorflow). */
export function trainStep(args: TrainStepArgs): StepResult {
  return settle(trainStepPending(args), (t) => t.dataSync()[0]);
}

/** As {@link trainStep}, reading the figures asynchronously: works on every backend, WebGPU included. */
export async function trainStepAsync(args: TrainStepArgs): Promise<StepResult> {
  const p = trainStepPending(args);
  const tensors = [p.loss, p.correct, ...(p.gradNorm ? [p.gradNorm] : [])];
  const values = await Promise.all(tensors.map(async (t) => (await t.data())[0]));
  return settle(p, (t) => values[tensors.indexOf(t)]);
}
