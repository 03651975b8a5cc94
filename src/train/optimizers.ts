/**
 * Optimizer construction for the training loop.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { TransferKitError } from '../errors.js';
import { Adam, AdamW } from '../optimizers/adam.js';
import type { Optimizer, ParamGroup } from '../optimizers/optimizer.js';
import { RMSprop } from '../optimizers/rmsprop.js';
import { SGD } from '../optimizers/sgd.js';

/**
 * Built-in optimizers, with PyTorch's update rules and defaults: `'adam'` (torch Adam),
 * `'adamw'` (decoupled weight decay, default 1e-2), `'sgd'`, `'momentum'` (SGD, momentum 0.9),
 * `'rmsprop'` (torch RMSprop) — or a factory building any {@link Optimizer} from the groups.
 */
export type OptimizerName = 'adam' | 'adamw' | 'sgd' | 'momentum' | 'rmsprop';

/** An optimizer choice: a name, or a factory receiving the parameter groups and peak rate. */
export type OptimizerSpec = OptimizerName | ((groups: ParamGroup[], learningRate: number) => Optimizer);

/** Creates the optimizer for `groups`. `weightDecay` overrides the optimizer's default when given. */
export function createOptimizer(spec: OptimizerSpec, groups: ParamGroup[] | tf.Variable[], learningRate: number, weightDecay?: number): Optimizer {
  const g = groups as ParamGroup[];
  if (typeof spec === 'function') return spec(g, learningRate);
  const wd = weightDecay === undefined ? {} : { weightDecay };
  switch (spec) {
    case 'adam':
      return new Adam(g, { learningRate, ...wd });
    case 'adamw':
      return new AdamW(g, { learningRate, ...wd });
    case 'sgd':
      return new SGD(g, { learningRate, ...wd });
    case 'momentum':
      return new SGD(g, { learningRate, momentum: 0.9, ...wd });
    case 'rmsprop':
      return new RMSprop(g, { learningRate, ...wd });
    default:
      throw new TransferKitError('E_BAD_OPTION', `Unknown optimizer. Received: optimizer=${String(spec)}. Choose adam, adamw, sgd, momentum, rmsprop, or pass a factory (groups, lr) => Optimizer.`);
  }
}
