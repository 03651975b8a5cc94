/**
 * Adam and AdamW with PyTorch's exact update (`torch.optim.Adam` / `torch.optim.AdamW`, amsgrad
 * off). Per parameter at step t, with g the gradient:
 *   Adam:  g += wd * p                                (L2 penalty, coupled)
 *   AdamW: p *= 1 - lr * wd                           (decoupled weight decay)
 *   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
 *   p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 *
 * Reference: Kingma & Ba, https://arxiv.org/abs/1412.6980; Loshchilov & Hutter, "Decoupled
 * Weight Decay Regularization", https://arxiv.org/abs/1711.05101; PyTorch `_single_tensor_adam`.
 * Divergence from Keras: eps defaults to 1e-8 (PyTorch) and is added after the bias correction.
 */
import * as tf from '@tensorflow/tfjs-core';
import { TransferKitError } from '../errors.js';
import { adamStep } from '../ops/adam_step.js';
import { Optimizer, type ParamGroup } from './optimizer.js';

/** Options of {@link Adam} and {@link AdamW}. */
export interface AdamOptions {
  /** Default 1e-3. */
  learningRate?: number;
  /** Default [0.9, 0.999]. */
  betas?: [number, number];
  /** Default 1e-8. */
  epsilon?: number;
  /** Default 0 for Adam (L2 penalty), 1e-2 for AdamW (decoupled). */
  weightDecay?: number;
}

class AdamBase extends Optimizer {
  private beta1: number;
  readonly beta2: number;
  readonly epsilon: number;

  constructor(params: tf.Variable[] | ParamGroup[], options: AdamOptions, private readonly decoupled: boolean) {
    super(params, options.learningRate ?? 1e-3, options.weightDecay ?? (decoupled ? 1e-2 : 0));
    const [b1, b2] = options.betas ?? [0.9, 0.999];
    for (const [name, b] of [['betas[0]', b1], ['betas[1]', b2]] as const) {
      if (!(b >= 0 && b < 1)) throw new TransferKitError('E_BAD_OPTION', `${decoupled ? 'AdamW' : 'Adam'}: ${name} must be in [0, 1). Received: ${name}=${b}.`);
    }
    this.beta1 = b1;
    this.beta2 = b2;
    this.epsilon = options.epsilon ?? 1e-8;
  }

  get momentum(): number {
    return this.beta1;
  }

  setMomentum(m: number): void {
    this.beta1 = m;
  }

  protected update(p: tf.Variable, grad: tf.Tensor, lr: number, wd: number, t: number): void {
    const m = this.slot(p, 'exp_avg');
    const v = this.slot(p, 'exp_avg_sq');
    const [p1, m1, v1] = adamStep(p, grad, m, v, { lr, beta1: this.beta1, beta2: this.beta2, epsilon: this.epsilon, weightDecay: wd, decoupled: this.decoupled, t });
    m.assign(m1);
    v.assign(v1);
    p.assign(p1);
  }
}

/** Adam (L2 weight decay coupled into the gradient), as `torch.optim.Adam`. */
export class Adam extends AdamBase {
  constructor(params: tf.Variable[] | ParamGroup[], options: AdamOptions = {}) {
    super(params, options, false);
  }
}

/** AdamW (decoupled weight decay, default 1e-2), as `torch.optim.AdamW`. */
export class AdamW extends AdamBase {
  constructor(params: tf.Variable[] | ParamGroup[], options: AdamOptions = {}) {
    super(params, options, true);
  }
}
