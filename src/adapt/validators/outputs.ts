/**
 * Inference helper shared by the validators and the adapter: a model's feature-layer output and
 * its predictions, in batches, without training-mode behaviour.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
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
