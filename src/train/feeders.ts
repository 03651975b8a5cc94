/**
 * Where each step's (inputs, targets) come from, one interface for both kinds of data:
 * - in memory: the frozen prefix's outputs are cached once (activation caching), shuffled with
 *   the run's seeded generator, flipped per example;
 * - streamed: batches arrive from the user's source; the frozen prefix runs in inference mode on
 *   each batch (no cache: the data is not all there), training resumes at the same cut, so the
 *   frozen layers still cost no backward pass.
 * Both yield identical updates for identical batches (the prefix is deterministic in inference mode).
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { isStreaming, type Batch, type LabeledData, type StreamingData, type TrainData } from '../data/dataset.js';
import { TransferKitError } from '../errors.js';
import { checkClassLabels } from '../data/labels.js';
import type { HeadTask } from '../models/pretrained_model.js';
import { permutation } from '../utils/random.js';
import { augmentBatch, flipSome, hasRandomAugment, type AugmentOptions } from '../data/augment.js';
import { batchInputs, computeCache, disposeCache, type Cache } from './activation_cache.js';
import { runLayers } from './graph_executor.js';

/** One step's inputs (the output of layer `from - 1`, or the model input) and targets. The consumer disposes both. */
export interface FedBatch {
  x: tf.Tensor;
  y: tf.Tensor;
  count: number;
}

/** A data source for the loop. */
export interface Feeder {
  /** Steps per epoch. */
  steps: number;
  /** Examples per epoch, when known before the epoch runs. */
  examples: number | null;
  /**
   * One epoch of batches; `rand` draws shuffles and flips (null: in order, no flips). `resume`
   * continues an interrupted epoch: its example order (in memory) and the steps already done.
   */
  epoch(rand: (() => number) | null, resume?: { order?: Int32Array; start: number }): AsyncGenerator<FedBatch>;
  /** The example order of the epoch in progress (in-memory data only). */
  currentOrder(): Int32Array | null;
  dispose(): void;
}

/** Feeder options. */
export interface FeederOptions {
  model: tfl.LayersModel;
  /** Index of the first layer the loop runs (0 = the whole model). */
  from: number;
  batchSize: number;
  /** Random horizontal flips (images only). */
  flip: boolean;
  task: HeadTask;
  numClasses: number;
  /** What the data is called in errors (`'train'`, `'validation'`). */
  name: string;
  /** Where cached activations live (in-memory data with a cut only). Default `'memory'`. */
  cacheStore?: 'memory' | 'disk';
  /** Parent folder of an on-disk cache (default the OS temp folder). */
  cacheDir?: string;
  /** Random augmentations beyond flips (images only; they make the prefix run per batch). */
  augment?: AugmentOptions;
}

function checkTargets(task: HeadTask, numClasses: number, hasTargets: boolean, name: string, shape?: number[]): void {
  if (task !== 'multiclass' && !hasTargets) {
    throw new TransferKitError('E_DATA', `The ${name} data has no \`targets\`; a '${task}' head trains on targets [N, ${numClasses}] (${task === 'multilabel' ? 'multi-hot rows of 0/1' : 'real values'}), not class labels.`);
  }
  if (shape !== undefined && (shape.length !== 2 || shape[1] !== numClasses)) {
    throw new TransferKitError('E_DATA', `The ${name} targets have shape [${shape.join(', ')}]; the head has ${numClasses} outputs, so targets must be [N, ${numClasses}].`);
  }
}

/** Bytes the cache of `data` would hold: rows × floats per row of layer `from - 1`'s output × 4 (× 2 with flips). */
export function cacheBytes(model: tfl.LayersModel, from: number, examples: number, withFlip: boolean): number {
  if (from === 0) return 0;
  const shape = model.layers[from - 1].outputShape as number[];
  return examples * shape.slice(1).reduce((a, c) => a * (c ?? 1), 1) * 4 * (withFlip ? 2 : 1);
}

async function memoryFeeder(data: LabeledData, o: FeederOptions): Promise<Feeder> {
  const n = data.xs.shape[0];
  if (data.targets !== undefined && data.targets.shape[0] !== n) {
    throw new TransferKitError('E_DATA', `The ${o.name} data has ${n} inputs but ${data.targets.shape[0]} target rows.`);
  }
  checkTargets(o.task, o.numClasses, data.targets !== undefined, o.name, data.targets?.shape);
  // Random augmentations change every epoch's inputs: keep the raw inputs, augment each batch,
  // then run the frozen prefix on it (still no backward pass through the frozen layers).
  const augment = hasRandomAugment(o.augment) && data.xs.rank === 4 ? (o.augment as AugmentOptions) : null;
  const cacheFrom = augment !== null ? 0 : o.from;
  const onDisk = o.cacheStore === 'disk' && cacheFrom > 0;
  const disk = onDisk ? await import('./disk_cache.js') : null;
  const diskCache = disk !== null ? await disk.computeDiskCache(o.model, cacheFrom, data.xs, o.flip, o.batchSize, o.cacheDir) : null;
  const cache: Cache | null = diskCache === null ? computeCache(o.model, cacheFrom, data.xs, o.flip, o.batchSize) : null;
  let current: Int32Array | null = null;
  const targetsOf = (idx: Int32Array) =>
    data.targets !== undefined ? tf.gather(data.targets, tf.tensor1d(idx, 'int32')) : tf.oneHot(tf.tensor1d(Int32Array.from(idx, (k) => data.labels[k]), 'int32'), o.numClasses);
  return {
    steps: Math.ceil(n / o.batchSize),
    examples: n,
    async *epoch(rand, resume) {
      const order = resume?.order ?? (rand !== null ? permutation(n, rand) : Int32Array.from({ length: n }, (_, i) => i));
      current = order;
      for (let s = resume?.start ?? 0; s * o.batchSize < n; s++) {
        const idx = order.subarray(s * o.batchSize, Math.min(n, (s + 1) * o.batchSize));
        const flips = o.flip && rand !== null ? Array.from(idx, () => rand() < 0.5) : null;
        let x = diskCache !== null && disk !== null ? disk.readRows(diskCache, idx, flips) : tf.tidy(() => batchInputs(cache as Cache, idx, flips));
        // Nothing was cached: augment (training passes only) and run the frozen prefix here.
        if (augment !== null && (rand !== null || o.from > 0)) {
          const raw = x;
          x = tf.tidy(() => {
            const a = rand !== null ? augmentBatch(raw as tf.Tensor4D, augment, rand) : raw;
            return o.from === 0 ? a : runLayers(o.model, 0, a, o.from, false);
          });
          raw.dispose();
        }
        const y = tf.tidy(() => targetsOf(idx));
        yield { x, y, count: idx.length };
      }
    },
    currentOrder: () => current,
    dispose: () => {
      disposeCache(cache);
      if (disk !== null) disk.disposeDiskCache(diskCache);
    },
  };
}

async function countBatches(data: StreamingData): Promise<number> {
  let k = 0;
  for await (const b of data.batches()) {
    tf.dispose([b.xs, ...(b.targets ? [b.targets] : [])]);
    k++;
  }
  return k;
}

async function streamFeeder(data: StreamingData, o: FeederOptions): Promise<Feeder> {
  const steps = data.stepsPerEpoch ?? (await countBatches(data));
  if (!(Number.isInteger(steps) && steps > 0)) {
    throw new TransferKitError('E_DATA', `The ${o.name} stream yields no batches (stepsPerEpoch=${steps}). Check that batches() returns a fresh iterable on every call.`);
  }
  return {
    steps,
    examples: null,
    async *epoch(rand, resume) {
      let s = 0;
      const skip = resume?.start ?? 0;
      for await (const b of data.batches() as AsyncIterable<Batch>) {
        if (s < skip) {
          // Resuming mid-epoch: the source replays its batches; the ones already trained are dropped.
          tf.dispose([b.xs, ...(b.targets ? [b.targets] : [])]);
          s++;
          continue;
        }
        if (s === steps) {
          tf.dispose([b.xs, ...(b.targets ? [b.targets] : [])]);
          break; // as Keras steps_per_epoch: the epoch ends after `steps` batches
        }
        const count = b.xs.shape[0];
        if (b.targets === undefined && b.labels === undefined) {
          throw new TransferKitError('E_DATA', `Batch ${s} of the ${o.name} stream has neither \`labels\` nor \`targets\`.`);
        }
        checkTargets(o.task, o.numClasses, b.targets !== undefined, o.name, b.targets?.shape);
        if (b.targets === undefined) {
          // tf.oneHot turns -1, NaN or K into an all-zero row without a word: check each batch at the door.
          try {
            checkClassLabels(`The ${o.name} stream, batch ${s}`, b.labels as ArrayLike<number>, o.numClasses, { rowName: 'example' });
          } catch (err) {
            b.xs.dispose();
            throw err;
          }
        }
        const flips = o.flip && rand !== null && b.xs.rank === 4 ? Array.from({ length: count }, () => rand() < 0.5) : null;
        const x = tf.tidy(() => {
          let input = flips !== null && flips.some((f) => f) ? flipSome(b.xs, flips) : b.xs;
          if (rand !== null && b.xs.rank === 4 && hasRandomAugment(o.augment)) input = augmentBatch(input as tf.Tensor4D, o.augment as AugmentOptions, rand);
          return o.from === 0 ? tf.clone(input) : runLayers(o.model, 0, input, o.from, false);
        });
        const y = b.targets !== undefined ? b.targets : tf.tidy(() => tf.oneHot(tf.tensor1d(Int32Array.from(b.labels as ArrayLike<number>), 'int32'), o.numClasses));
        b.xs.dispose();
        yield { x, y, count };
        s++;
      }
      if (s < steps && s === 0) throw new TransferKitError('E_DATA', `The ${o.name} stream yielded no batches this epoch; batches() must return a fresh iterable on every call.`);
    },
    currentOrder: () => null,
    dispose: () => undefined,
  };
}

/** The feeder for `data` (in memory: cached; streamed: prefix per batch). */
export async function makeFeeder(data: TrainData, o: FeederOptions): Promise<Feeder> {
  return isStreaming(data) ? streamFeeder(data, o) : memoryFeeder(data, o);
}
