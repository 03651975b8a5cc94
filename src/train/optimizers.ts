/**
 * Optimizer construction and per-step learning-rate updates for TF.js optimizers.
 */
import * as tf from '@tensorflow/tfjs-core';
import { TransferKitError } from '../errors.js';

/** Built-in optimizers (TF.js implementations, Keras defaults). */
export type OptimizerName = 'adam' | 'sgd' | 'momentum' | 'rmsprop';

/** Creates an optimizer with Keras' default hyper-parameters. */
export function createOptimizer(name: OptimizerName, learningRate: number): tf.Optimizer {
  switch (name) {
    case 'adam':
      return tf.train.adam(learningRate, 0.9, 0.999, 1e-7);
    case 'sgd':
      return tf.train.sgd(learningRate);
    case 'momentum':
      return tf.train.momentum(learningRate, 0.9);
    case 'rmsprop':
      return tf.train.rmsprop(learningRate, 0.9, 0, 1e-7);
    default:
      throw new TransferKitError('E_BAD_OPTION', `Unknown optimizer. Received: optimizer=${String(name)}. Choose adam, sgd, momentum or rmsprop.`);
  }
}

/**
 * Sets the learning rate an optimizer uses from its next update on.
 * TF.js optimizers keep the rate in a (TypeScript-protected) `learningRate` field that
 * `applyGradients` reads each step; SGD and momentum also cache it as a tensor, which
 * `setLearningRate` refreshes.
 */
export function setLearningRate(optimizer: tf.Optimizer, lr: number): void {
  const o = optimizer as unknown as { learningRate: number; setLearningRate?: (lr: number) => void };
  if (o.learningRate === lr) return;
  if (typeof o.setLearningRate === 'function') o.setLearningRate(lr);
  else o.learningRate = lr;
}
