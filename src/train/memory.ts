/**
 * Training-memory estimate for the wasm backend, whose heap stops at 4 GB (wasm32): exceeding it
 * aborts the whole module, so the micro-batch is chosen *before* the first step.
 *
 * Measured in this repository (docs/performance.md): the peak wasm heap of a full training step is
 * 3.5–3.7x the sum of the trained layers' output sizes (float32) per example, for MobileNetV2
 * alpha 0.35 at 224 px (141 MB/example), alpha 1.0 at 224 px (318 MB) and at 96 px (56 MB).
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

/** Peak bytes per example ≈ this factor x the summed output sizes (upper end of the measurements). */
export const PEAK_FACTOR = 3.8;
/** Heap budget for one (micro-)batch, leaving room for weights, caches and fragmentation. */
export const WASM_BUDGET_BYTES = 2.5e9;

/** Estimated peak training bytes per example when layers from+1..end are run. */
export function trainingBytesPerExample(model: tfl.LayersModel, from: number): number {
  let elements = 0;
  model.layers.forEach((l, i) => {
    if (i <= from) return;
    const shapes = (Array.isArray((l.outputShape as unknown[])[0]) ? l.outputShape : [l.outputShape]) as (number | null)[][];
    for (const s of shapes) elements += s.slice(1).reduce((a: number, b) => a * (b ?? 1), 1);
  });
  return PEAK_FACTOR * 4 * elements;
}

/**
 * A micro-batch size that keeps the estimated peak under the wasm budget, or undefined when the
 * whole batch fits (or the backend is not wasm).
 */
export function autoMicroBatch(model: tfl.LayersModel, from: number, batchSize: number): number | undefined {
  if (tf.getBackend() !== 'wasm') return undefined;
  const per = trainingBytesPerExample(model, from);
  const fit = Math.max(1, Math.floor(WASM_BUDGET_BYTES / per));
  return fit >= batchSize ? undefined : fit;
}
