/**
 * AdaBN: adapt a network to a new domain by replacing every BatchNorm layer's moving statistics
 * with the statistics of its input on target data. No weight is trained.
 *
 * Li et al.'s algorithm computes each BN layer's statistics on the target responses of the
 * network whose *earlier* BN layers are already adapted, so the layers are re-estimated in
 * topological order, each from a fresh inference pass that stops at its input. The statistics
 * are the exact mean and (biased, as Keras' `moving_variance`) variance over every target
 * example and spatial position, accumulated in float64 across batches.
 *
 * Reference: Li et al., "Revisiting Batch Normalization For Practical Domain Adaptation",
 * ICLR-W 2017, https://arxiv.org/abs/1603.04779 (Algorithm 1).
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { TransferKitError } from '../errors.js';
import { inboundIndices, runLayers } from '../train/graph_executor.js';
import { isBatchNorm } from '../layers/batch_norm.js';
import { ensureBackend } from '../backends/backend.js';

interface BnVariables {
  axis: number;
  movingMean: tfl.LayerVariable;
  movingVariance: tfl.LayerVariable;
}

/** Options of {@link adaBN}. */
export interface AdaBNOptions {
  /** Examples per inference batch (default 64). */
  batchSize?: number;
  /** Only these BN layers (by name); default every BatchNormalization layer of the model. */
  layers?: string[];
}

/** What {@link adaBN} changed. */
export interface AdaBNReport {
  /** Names of the re-estimated BN layers, in the order they were updated. */
  layers: string[];
  /** Target examples the statistics came from. */
  examples: number;
}

/**
 * Re-estimates the moving mean and variance of the model's BatchNorm layers on `targetXs`
 * (preprocessed model inputs, batch first). Everything else is left bit-identical.
 */
export async function adaBN(model: tfl.LayersModel, targetXs: tf.Tensor, options: AdaBNOptions = {}): Promise<AdaBNReport> {
  await ensureBackend();
  const batch = options.batchSize ?? 64;
  const n = targetXs.shape[0];
  if (n < 2) throw new TransferKitError('E_DATA', `AdaBN needs at least 2 target examples to estimate statistics. Received: ${n}.`);
  const want = options.layers === undefined ? null : new Set(options.layers);
  const feeds = inboundIndices(model);
  const updated: string[] = [];
  for (let j = 0; j < model.layers.length; j++) {
    const layer = model.layers[j];
    if (!isBatchNorm(layer) || (want !== null && !want.has(layer.name))) continue;
    want?.delete(layer.name);
    const bn = layer as unknown as BnVariables;
    const src = feeds[j][0];
    const rank = (layer.inputSpec?.[0]?.ndim as number | undefined) ?? (layer.batchInputShape?.length ?? 0);
    const lastAxis = bn.axis === -1 || bn.axis === rank - 1 || rank === 0;
    if (!lastAxis) throw new TransferKitError('E_MODEL_TOPOLOGY', `AdaBN supports BatchNormalization over the last axis only. Layer '${layer.name}' normalises axis ${bn.axis}.`);
    let sum: Float64Array | null = null;
    let sumSq: Float64Array | null = null;
    let count = 0;
    for (let i = 0; i < n; i += batch) {
      const b = Math.min(batch, n - i);
      const [s, ss, rows] = tf.tidy(() => {
        const x = tf.slice(targetXs, i, b);
        const h = runLayers(model, 0, x, src, false);
        const c = h.shape[h.rank - 1] as number;
        const flat = tf.reshape(h, [-1, c]);
        return [tf.sum(flat, 0), tf.sum(tf.square(flat), 0), flat.shape[0]] as const;
      });
      const [sv, ssv] = await Promise.all([s.data(), ss.data()]);
      tf.dispose([s, ss]);
      if (sum === null || sumSq === null) {
        sum = new Float64Array(sv.length);
        sumSq = new Float64Array(sv.length);
      }
      for (let k = 0; k < sv.length; k++) {
        sum[k] += sv[k];
        sumSq[k] += ssv[k];
      }
      count += rows;
    }
    const s = sum as Float64Array;
    const ss = sumSq as Float64Array;
    const mean = new Float32Array(s.length);
    const variance = new Float32Array(s.length);
    for (let k = 0; k < s.length; k++) {
      mean[k] = s[k] / count;
      variance[k] = Math.max(ss[k] / count - (s[k] / count) ** 2, 0);
    }
    if (mean.length !== bn.movingMean.shape[0]) {
      throw new TransferKitError('E_MODEL_TOPOLOGY', `AdaBN: layer '${layer.name}' has ${bn.movingMean.shape[0]} channels but its input has ${mean.length}.`);
    }
    tf.tidy(() => {
      bn.movingMean.write(tf.tensor1d(mean));
      bn.movingVariance.write(tf.tensor1d(variance));
    });
    updated.push(layer.name);
  }
  if (want !== null && want.size > 0) {
    throw new TransferKitError('E_LAYER_NOT_FOUND', `AdaBN: no BatchNormalization layer named ${[...want].map((w) => `'${w}'`).join(', ')} in model '${model.name}'.`);
  }
  return { layers: updated, examples: n };
}
