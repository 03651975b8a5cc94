/**
 * SGD with momentum, dampening and Nesterov, exactly `torch.optim.SGD`:
 *   g += wd * p
 *   buf = g (first step) | momentum * buf + (1 - dampening) * g
 *   g = g + momentum * buf (nesterov) | buf
 *   p -= lr * g
 *
 * Reference: PyTorch `_single_tensor_sgd`; Sutskever et al. 2013 (Nesterov momentum form).
 */
import * as tf from '@tensorflow/tfjs-core';
import { TransferKitError } from '../errors.js';
import { Optimizer, type ParamGroup } from './optimizer.js';

/** Options of {@link SGD}. */
export interface SGDOptions {
  /** Default 1e-2. */
  learningRate?: number;
  /** Default 0. */
  momentum?: number;
  /** Default 0. */
  dampening?: number;
  /** Default false; needs momentum > 0 and dampening 0 (as PyTorch). */
  nesterov?: boolean;
  /** L2 penalty added to the gradient (default 0). */
  weightDecay?: number;
}

/** Stochastic gradient descent, as `torch.optim.SGD`. */
export class SGD extends Optimizer {
  private mom: number;
  readonly dampening: number;
  readonly nesterov: boolean;

  constructor(params: tf.Variable[] | ParamGroup[], options: SGDOptions = {}) {
    super(params, options.learningRate ?? 1e-2, options.weightDecay ?? 0);
    this.mom = options.momentum ?? 0;
    this.dampening = options.dampening ?? 0;
    this.nesterov = options.nesterov ?? false;
    if (this.nesterov && (this.mom <= 0 || this.dampening !== 0)) {
      throw new TransferKitError('E_BAD_OPTION', `SGD: Nesterov momentum requires momentum > 0 and dampening 0 (as PyTorch). Received: momentum=${this.mom}, dampening=${this.dampening}.`);
    }
  }

  get momentum(): number {
    return this.mom;
  }

  setMomentum(m: number): void {
    this.mom = m;
  }

  protected update(p: tf.Variable, grad: tf.Tensor, lr: number, wd: number): void {
    let g = wd !== 0 ? tf.add(grad, tf.mul(p, wd)) : grad;
    if (this.mom !== 0) {
      const first = !this.hasSlot(p, 'momentum_buffer');
      const buf = this.slot(p, 'momentum_buffer');
      buf.assign(first ? g : tf.add(tf.mul(buf, this.mom), tf.mul(g, 1 - this.dampening)));
      g = this.nesterov ? tf.add(g, tf.mul(buf, this.mom)) : buf;
    }
    p.assign(tf.sub(p, tf.mul(g, lr)));
  }
}
