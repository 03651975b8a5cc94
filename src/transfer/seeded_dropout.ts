/**
 * Reproducible dropout. TF.js's Dropout draws its masks from an unseeded generator (or, given a
 * `seed`, repeats the SAME mask at every call), so two runs with the same transferkit seed used to
 * differ. While `fineTune` runs, each Dropout call here draws a fresh seed from the run's seeded
 * stream: different masks every step, the same sequence every run, and a checkpoint's RNG state
 * covers them (resume stays exact with dropout).
 *
 * As with BatchNorm, the layer *instance*'s `call` is patched; its class and config stay stock.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

type Kwargs = Record<string, unknown>;
type Callable = (inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs) => tf.Tensor | tf.Tensor[];

const patched = new WeakSet<tfl.layers.Layer>();
let seedSource: (() => number) | null = null;

/** Routes every patched Dropout call through seeds from `source` while `fn` runs. */
export async function withDropoutSeeds<T>(source: () => number, fn: () => Promise<T>): Promise<T> {
  const previous = seedSource;
  seedSource = source;
  try {
    return await fn();
  } finally {
    seedSource = previous;
  }
}

/** Patches the Dropout layers of `model` (idempotent); outside `withDropoutSeeds` they behave as stock. */
export function applySeededDropout(model: tfl.LayersModel): void {
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'Dropout' || patched.has(layer)) continue;
    const original = (layer as unknown as { call: Callable }).call.bind(layer) as Callable;
    const rate = (layer as unknown as { rate: number }).rate;
    (layer as unknown as { call: Callable }).call = (inputs, kwargs) => {
      if (seedSource === null || kwargs.training !== true || !(rate > 0 && rate < 1)) return original(inputs, kwargs);
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      const noiseShape = (layer as unknown as { noiseShape?: number[] }).noiseShape;
      return tf.dropout(x, rate, noiseShape, seedSource());
    };
    patched.add(layer);
  }
}

/**
 * A seed for a dropout mask drawn inside a custom layer (attention probabilities): from the
 * run's seeded stream inside `withDropoutSeeds`, else undefined (TF.js's unseeded generator).
 */
export function nextDropoutSeed(): number | undefined {
  return seedSource === null ? undefined : seedSource();
}
