/**
 * The in-memory labelled data set the training loop consumes.
 */
import type * as tf from '@tensorflow/tfjs-core';

/** Preprocessed inputs with integer class labels. */
export interface LabeledData {
  /** Inputs, batch first (e.g. [N, 224, 224, 3] already preprocessed). */
  xs: tf.Tensor;
  /**
   * Class index per example: an integer in [0, numClasses). fineTune refuses any other value
   * (-1, NaN, a fraction, one past the head's classes) before training, with an `E_DATA` error
   * naming the row (src/data/labels.ts).
   */
  labels: Int32Array;
  /** Class names, index = label. */
  classNames: string[];
  /**
   * Targets [N, K] for heads that are not single-label: multi-hot rows in {0, 1} for
   * `'multilabel'`, real values for `'regression'`. When present they are trained on instead of
   * `labels` (which may then be empty or any per-example value used for splitting). They must be
   * finite (and in [0, 1] for classification heads); fineTune checks them before training.
   */
  targets?: tf.Tensor;
}

/** One batch of a streamed data set. The training loop takes ownership of its tensors (disposes them). */
export interface Batch {
  /** Inputs of the batch, batch first (already preprocessed). */
  xs: tf.Tensor;
  /** Class index per example (multiclass). */
  labels?: Int32Array | number[];
  /** Targets [B, K] (multilabel multi-hot rows, regression values), or one-hot rows for multiclass. */
  targets?: tf.Tensor;
}

/**
 * A data set read batch by batch, never held in memory as a whole (as Keras `fit` on a
 * generator or `tf.data.Dataset`). `batches()` is called once per epoch (and once more to count
 * the batches when `stepsPerEpoch` is absent), so an `async function*` works directly.
 * Shuffling is the source's job; the loop still applies its seeded flips to image batches.
 */
export interface StreamingData {
  batches: () => AsyncIterable<Batch> | Iterable<Batch>;
  /** Batches per epoch (schedules need the total step count). Counted with one pass when absent. */
  stepsPerEpoch?: number;
  /** Class names, index = label. */
  classNames?: string[];
}

/** What fineTune trains on: in-memory tensors or a stream of batches. */
export type TrainData = LabeledData | StreamingData;

/** True when `data` is a {@link StreamingData}. */
export function isStreaming(data: TrainData): data is StreamingData {
  return typeof (data as StreamingData).batches === 'function';
}

/** The element type a `tf.data.Dataset` of batches yields, and the iterator it returns. */
interface DatasetLike<T> {
  iterator(): Promise<{ next(): Promise<IteratorResult<T>> }>;
}

/**
 * Adapts a `tf.data.Dataset` of `{ xs, ys }` batches (ys: one-hot / multi-hot / values, or
 * `{ xs, labels }`) to {@link StreamingData}. Structural: @tensorflow/tfjs-data is not a dependency.
 * @example
 * ```ts
 * const data = fromTfDataset(tf.data.generator(gen).batch(32), { classNames: ['ants', 'bees'] });
 * ```
 */
export function fromTfDataset(dataset: DatasetLike<{ xs: tf.Tensor; ys?: tf.Tensor; labels?: Int32Array | number[] }>, options: { stepsPerEpoch?: number; classNames?: string[] } = {}): StreamingData {
  return {
    ...options,
    batches: async function* () {
      const it = await dataset.iterator();
      for (let r = await it.next(); !r.done; r = await it.next()) {
        const { xs, ys, labels } = r.value;
        yield { xs, ...(ys !== undefined ? { targets: ys } : {}), ...(labels !== undefined ? { labels } : {}) };
      }
    },
  };
}
