/**
 * Reproducible dropout. TF.js's Dropout draws its masks from an unseeded generator (or, given a
 * `seed`, repeats the SAME mask at every call), so two runs with the same transferkit seed used to
 * differ. While a run trains a model, each of its Dropout calls draws a fresh seed from the run's seeded
 * stream: different masks every step, the same sequence every run, and a checkpoint's RNG state
 * covers them (resume stays exact with dropout).
 *
 * A step split into micro-batches (gradient accumulation) draws the same masks as the whole
 * batch would: inside {@link withBatchRows} the k-th Dropout call of every micro-batch takes the
 * step's k-th seed and its rows of one full-batch mask. So a step's update does not depend on the
 * micro-batch size, which on wasm is chosen from memory (the activation-cached and uncached paths
 * of the same run split differently).
 *
 * As with BatchNorm, the layer *instance*'s `call` is patched; its class and config stay stock.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

type Kwargs = Record<string, unknown>;
type Callable = (inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs) => tf.Tensor | tf.Tensor[];

const patched = new WeakSet<tfl.layers.Layer>();
/**
 * The seed stream of each layer while a run trains it. Per layer, not one module-wide "current
 * run": two runs in one process (in-process tune trials, a discriminator beside its model) keep
 * their own streams even when their steps interleave at every await.
 */
const sources = new WeakMap<tfl.layers.Layer, () => number>();

/** One optimizer step's dropout draws: its batch size and the seeds of its Dropout calls, in call order. */
export interface StepDropout {
  rows: number;
  seeds: number[];
}

/** The micro-batch running now: its first row within the step's batch, and how many Dropout calls it made. */
let microBatch: { step: StepDropout; offset: number; call: number } | null = null;

/** Runs one micro-batch (rows offset.. of `step.rows`) so that its Dropout masks are its rows of the step's masks. */
export function withBatchRows<T>(step: StepDropout, offset: number, fn: () => T): T {
  const previous = microBatch;
  microBatch = { step, offset, call: 0 };
  try {
    return fn();
  } finally {
    microBatch = previous;
  }
}

/** tf.dropout's noise shape: `noiseShape` with null axes taken from `x` (tfjs-core getNoiseShape). */
function noiseShapeOf(x: tf.Tensor, noiseShape: (number | null)[] | undefined): number[] {
  if (noiseShape == null) return x.shape.slice();
  if (noiseShape.length !== x.rank) return noiseShape as number[];
  return noiseShape.map((d, i) => (d == null ? x.shape[i] : d));
}

/**
 * tf.dropout(x, rate, noiseShape, seed) computed as rows `offset..` of the mask for a batch of
 * `rows` (the same ops, so with offset 0 and rows = the batch it is tf.dropout exactly).
 */
function windowedDropout(x: tf.Tensor, rate: number, noiseShape: (number | null)[] | undefined, seed: number, offset: number, rows: number): tf.Tensor {
  const noise = noiseShapeOf(x, noiseShape);
  // A noise shape shared across the batch (axis 0 of 1) is the same for every micro-batch.
  const split = noise[0] === x.shape[0] && rows !== x.shape[0];
  let u: tf.Tensor = tf.randomUniform(split ? [rows, ...noise.slice(1)] : noise, 0, 1, 'float32', seed);
  if (split) u = tf.slice(u, offset, x.shape[0]);
  const keep = 1 - rate;
  return tf.mul(x, tf.div(tf.floor(tf.add(u, keep)), keep));
}

/** Routes the patched Dropout calls of `models`' layers through seeds from `source` while `fn` runs. */
export async function withDropoutSeeds<T>(models: tfl.LayersModel | readonly tfl.LayersModel[], source: () => number, fn: () => Promise<T>): Promise<T> {
  const layers = (Array.isArray(models) ? models : [models]).flatMap((m: tfl.LayersModel) => m.layers);
  const previous = layers.map((l) => sources.get(l));
  for (const l of layers) sources.set(l, source);
  try {
    return await fn();
  } finally {
    layers.forEach((l, i) => {
      const p = previous[i];
      if (p === undefined) sources.delete(l);
      else sources.set(l, p);
    });
  }
}

/** Patches the Dropout layers of `model` (idempotent); outside `withDropoutSeeds` they behave as stock. */
export function applySeededDropout(model: tfl.LayersModel): void {
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'Dropout' || patched.has(layer)) continue;
    const original = (layer as unknown as { call: Callable }).call.bind(layer) as Callable;
    const rate = (layer as unknown as { rate: number }).rate;
    (layer as unknown as { call: Callable }).call = (inputs, kwargs) => {
      const seedSource = sources.get(layer);
      if (seedSource === undefined || kwargs.training !== true || !(rate > 0 && rate < 1)) return original(inputs, kwargs);
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      const noiseShape = (layer as unknown as { noiseShape?: number[] }).noiseShape;
      if (microBatch === null) return tf.dropout(x, rate, noiseShape, seedSource());
      const { step, offset } = microBatch;
      const k = microBatch.call++;
      if (step.seeds[k] === undefined) step.seeds[k] = seedSource();
      return windowedDropout(x, rate, noiseShape, step.seeds[k], offset, step.rows);
    };
    patched.add(layer);
  }
}

/**
 * A seed for a dropout mask drawn inside a custom layer (attention probabilities, LoRA): from the
 * stream of the run training `layer` (inside `withDropoutSeeds`), else undefined (TF.js's unseeded generator).
 */
export function nextDropoutSeed(layer: tfl.layers.Layer): number | undefined {
  return sources.get(layer)?.();
}
