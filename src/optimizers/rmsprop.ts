/**
 * RMSprop, exactly `torch.optim.RMSprop` (alpha 0.99, eps 1e-8 outside the square root):
 *   g += wd * p
 *   sq = alpha sq + (1 - alpha) g^2
 *   avg = sqrt(sq - ga^2) + eps with ga = alpha ga + (1 - alpha) g (centered) | sqrt(sq) + eps
 *   buf = momentum buf + g / avg; p -= lr buf (momentum > 0) | p -= lr g / avg
 *
 * Reference: PyTorch `_single_tensor_rmsprop`; Hinton, Coursera lecture 6e.
 * Divergence from Keras: Keras' RMSprop uses rho 0.9 and eps 1e-7 inside its own formula.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Optimizer, type ParamGroup } from './optimizer.js';

/** Options of {@link RMSprop}. */
export interface RMSpropOptions {
  /** Default 1e-2 (PyTorch). */
  learningRate?: number;
  /** Smoothing constant (default 0.99). */
  alpha?: number;
  /** Default 1e-8. */
  epsilon?: number;
  /** Default 0. */
  momentum?: number;
  /** Normalise by the estimated variance (default false). */
  centered?: boolean;
  /** L2 penalty added to the gradient (default 0). */
  weightDecay?: number;
}

/** RMSprop, as `torch.optim.RMSprop`. */
export class RMSprop extends Optimizer {
  private mom: number;
  readonly alpha: number;
  readonly epsilon: number;
  readonly centered: boolean;

  constructor(params: tf.Variable[] | ParamGroup[], options: RMSpropOptions = {}) {
    super(params, options.learningRate ?? 1e-2, options.weightDecay ?? 0);
    this.alpha = options.alpha ?? 0.99;
    this.epsilon = options.epsilon ?? 1e-8;
    this.mom = options.momentum ?? 0;
    this.centered = options.centered ?? false;
  }

  get momentum(): number {
    return this.mom;
  }

  setMomentum(m: number): void {
    this.mom = m;
  }

  protected update(p: tf.Variable, grad: tf.Tensor, lr: number, wd: number): void {
    const a = this.alpha;
    const g = wd !== 0 ? tf.add(grad, tf.mul(p, wd)) : grad;
    const sq = this.slot(p, 'square_avg');
    sq.assign(tf.add(tf.mul(sq, a), tf.mul(tf.square(g), 1 - a)));
    let avg: tf.Tensor;
    if (this.centered) {
      const ga = this.slot(p, 'grad_avg');
      ga.assign(tf.add(tf.mul(ga, a), tf.mul(g, 1 - a)));
      avg = tf.add(tf.sqrt(tf.sub(sq, tf.square(ga))), this.epsilon);
    } else {
      avg = tf.add(tf.sqrt(sq), this.epsilon);
    }
    if (this.mom > 0) {
      const buf = this.slot(p, 'momentum_buffer');
      buf.assign(tf.add(tf.mul(buf, this.mom), tf.div(g, avg)));
      p.assign(tf.sub(p, tf.mul(buf, lr)));
    } else {
      p.assign(tf.sub(p, tf.mul(tf.div(g, avg), lr)));
    }
  }
}
