/**
 * The in-memory labelled data set the training loop consumes.
 */
import type * as tf from '@tensorflow/tfjs-core';

/** Preprocessed inputs with integer class labels. */
export interface LabeledData {
  /** Inputs, batch first (e.g. [N, 224, 224, 3] already preprocessed). */
  xs: tf.Tensor;
  /** Class index per example, in [0, numClasses). */
  labels: Int32Array;
  /** Class names, index = label. */
  classNames: string[];
}
