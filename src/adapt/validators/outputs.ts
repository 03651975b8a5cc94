/**
 * Inference helper shared by the validators and the adapter: a model's feature-layer output and
 * its predictions, in batches, without training-mode behaviour.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { LabeledData } from '../../data/dataset.js';
import { runLayers } from '../../train/graph_executor.js';

/** Features (flattened to [n, d]) and output probabilities [n, k] of `xs`. */
export function featuresAndProbs(model: tfl.LayersModel, featureIndex: number, xs: tf.Tensor, batchSize = 64): { features: tf.Tensor2D; probs: tf.Tensor2D } {
  const last = model.layers.length - 1;
  const fs: tf.Tensor[] = [];
  const ps: tf.Tensor[] = [];
  for (let i = 0; i < xs.shape[0]; i += batchSize) {
    const [f, p] = tf.tidy(() => {
      const x = tf.slice(xs, i, Math.min(batchSize, xs.shape[0] - i));
      const feat = runLayers(model, 0, x, featureIndex, false);
      const prob = runLayers(model, featureIndex, feat, last, false);
      return [tf.reshape(feat, [feat.shape[0], -1]), prob];
    });
    fs.push(f);
    ps.push(p);
  }
  const features = tf.concat(fs, 0) as tf.Tensor2D;
  const probs = tf.concat(ps, 0) as tf.Tensor2D;
  tf.dispose([...fs, ...ps]);
  return { features, probs };
}

/** Accuracy of `lm` on labelled data (inference mode, batches of 256). */
export async function accuracyOf(lm: tfl.LayersModel, d: LabeledData): Promise<number> {
  let hits = 0;
  const n = d.xs.shape[0];
  for (let i = 0; i < n; i += 256) {
    const b = Math.min(256, n - i);
    const pred = tf.tidy(() => tf.argMax(runLayers(lm, 0, tf.slice(d.xs, i, b), lm.layers.length - 1, false), -1));
    const p = await pred.data();
    pred.dispose();
    for (let j = 0; j < b; j++) if (p[j] === d.labels[i + j]) hits++;
  }
  return hits / n;
}
