/**
 * Keras' BatchNormalization freezing rule, enforced on TF.js models.
 *
 * Keras: a BatchNormalization layer with `trainable = false` runs in inference mode — it
 * normalises with its moving mean/variance and never updates them — so fine-tuning a frozen
 * base does not wreck its statistics. TF.js 4.22 does not do this: a frozen BN layer inside
 * `fit` or `apply(x, {training: true})` still uses batch statistics and still updates its moving
 * averages (see shared/NOTES-runtime.md). We patch each BN layer *instance*'s `call` (its class
 * and serialised config stay stock `BatchNormalization`) so the mode follows a policy.
 *
 * Reference: Keras guide "Transfer learning & fine-tuning", section on BatchNormalization.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { batchNormMovingUpdateComposed, batchNormTrain, canFuseBatchNormActivation } from '../ops/batch_norm_train.js';
import { fusedActivationAfter, passThroughAt } from './fold_batch_norm.js';

/**
 * How a BatchNorm layer behaves while training.
 * - `'frozen'`: inference mode; moving statistics never change; gamma/beta get no updates (Keras frozen BN).
 * - `'train-affine'`: inference-mode statistics, but gamma/beta train (fastai's `train_bn` applied to a frozen body).
 * - `'train'`: batch statistics, moving averages update, gamma/beta train.
 */
export type BatchNormMode = 'frozen' | 'train-affine' | 'train';

type Kwargs = Record<string, unknown>;
type Callable = (inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs) => tf.Tensor | tf.Tensor[];

const modes = new WeakMap<tfl.layers.Layer, BatchNormMode>();
const patched = new WeakSet<tfl.layers.Layer>();
let fused = true;

/**
 * Whether training-mode BN uses transferkit's fused, memory-lean op (default) or tfjs-layers'
 * own composition. Both compute the same function; the switch exists for comparison tests.
 */
export function useFusedBatchNorm(enabled: boolean): void {
  fused = enabled;
}

/** The fields of tfjs-layers' BatchNormalization transferkit reads (TS-private there). */
export interface BnInternals {
  axis: number;
  momentum: number;
  epsilon: number;
  center: boolean;
  scale: boolean;
  gamma: tfl.LayerVariable;
  beta: tfl.LayerVariable;
  movingMean: tfl.LayerVariable;
  movingVariance: tfl.LayerVariable;
}

/** Training-mode forward through the fused op, with tfjs-layers' moving-average update. */
function fusedTrainingCall(layer: tfl.layers.Layer, input: tf.Tensor): tf.Tensor | null {
  const bn = layer as unknown as BnInternals;
  const lastAxis = bn.axis === -1 || bn.axis === input.rank - 1;
  if (!fused || !lastAxis || !bn.center || !bn.scale) return null;
  // BN → ReLU/ReLU6 as one kernel where the backend has it (webgpu, wasm): the activation layer that
  // follows then passes this output through (the plan of fold_batch_norm.ts says which layer).
  const act = canFuseBatchNormActivation() ? fusedActivationAfter(layer) : null;
  const moving = { mean: bn.movingMean.read(), variance: bn.movingVariance.read(), momentum: bn.momentum };
  const { y, mean, variance, moving: updated, activated } = batchNormTrain(input, bn.gamma.read() as tf.Tensor1D, bn.beta.read() as tf.Tensor1D, bn.epsilon, moving, act?.max);
  if (act !== null && activated) passThroughAt(y, act.layer);
  // Same update as tfjs-layers (and Keras): moving -= (moving - batch) * (1 - momentum); in the
  // forward kernel where the backend does it there (webgpu), else here.
  tf.tidy(() => {
    const [mm, mv] = updated !== undefined ? [updated.mean, updated.variance] : batchNormMovingUpdateComposed(bn.movingMean.read(), bn.movingVariance.read(), mean, variance, bn.momentum);
    bn.movingMean.write(mm);
    bn.movingVariance.write(mv);
  });
  tf.dispose([mean, variance, ...(updated !== undefined ? [updated.mean, updated.variance] : [])]);
  return y;
}

/** True for TF.js BatchNormalization layers. */
export function isBatchNorm(layer: tfl.layers.Layer): boolean {
  return layer.getClassName() === 'BatchNormalization';
}

/** The mode a BN layer trains in now: an explicit policy, else Keras' rule from `trainable`. */
export function batchNormMode(layer: tfl.layers.Layer): BatchNormMode {
  return modes.get(layer) ?? (layer.trainable ? 'train' : 'frozen');
}

/** Sets an explicit mode for one BN layer (and its trainability to match). */
export function setBatchNormMode(layer: tfl.layers.Layer, mode: BatchNormMode): void {
  modes.set(layer, mode);
  layer.trainable = mode !== 'frozen';
}

/** Clears an explicit mode, so the layer follows Keras' rule again. */
export function clearBatchNormMode(layer: tfl.layers.Layer): void {
  modes.delete(layer);
}

/** Patches every BN layer of `model` so its training mode follows {@link batchNormMode}. Idempotent. */
export function applyKerasBatchNormSemantics(model: tfl.LayersModel): void {
  for (const layer of model.layers) {
    if (!isBatchNorm(layer) || patched.has(layer)) continue;
    const original = (layer as unknown as { call: Callable }).call.bind(layer) as Callable;
    (layer as unknown as { call: Callable }).call = (inputs, kwargs) => {
      const training = batchNormMode(layer) === 'train' ? kwargs.training === true : false;
      if (training) {
        const input = Array.isArray(inputs) ? inputs[0] : inputs;
        const y = fusedTrainingCall(layer, input);
        if (y !== null) return y;
      }
      return original(inputs, { ...kwargs, training });
    };
    patched.add(layer);
  }
}
