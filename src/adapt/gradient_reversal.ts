/**
 * The gradient reversal layer of domain-adversarial training: identity on the forward pass, the
 * incoming gradient times `-coeff` on the backward pass, so the feature extractor below it is
 * trained to *confuse* the domain discriminator above it while the discriminator learns to tell
 * the domains apart.
 *
 * Reference: Ganin & Lempitsky 2015, https://arxiv.org/abs/1409.7495 (section 3.2);
 * tllib `tllib.modules.grl.GradientReverseFunction` / `WarmStartGradientReverseLayer`.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { TransferKitError } from '../errors.js';

/** `x` forward; `-coeff * dy` backward. */
export function gradientReverse<T extends tf.Tensor>(x: T, coeff = 1): T {
  if (!Number.isFinite(coeff)) throw new TransferKitError('E_BAD_OPTION', `gradientReverse: coeff must be a finite number. Received: coeff=${coeff}.`);
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
    // A fresh tensor (not `input` itself): customGrad records the op's output on the tape.
    value: tf.clone(args[0] as tf.Tensor),
    gradFunc: (dy: tf.Tensor) => tf.mul(dy, -coeff),
  }));
  return op(x) as T;
}

/** Parameters of tllib's warm-start coefficient. */
export interface WarmStartOptions {
  /** Steepness α (default 1, as tllib; Ganin et al. use 10 with `maxIters` = the run's steps). */
  alpha?: number;
  /** Value at step 0 (default 0). */
  lo?: number;
  /** Value approached at the end (default 1). */
  hi?: number;
  /** N, the iteration scale (default 1000, as tllib). */
  maxIters?: number;
}

/**
 * tllib's `WarmStartGradientReverseLayer` coefficient at iteration `i`:
 * `2 (hi - lo) / (1 + exp(-alpha i / N)) - (hi - lo) + lo`. With `alpha = 10`, `lo = 0`, `hi = 1`,
 * `N = total steps` this is Ganin et al.'s `lambda_p = 2 / (1 + exp(-10 p)) - 1`.
 */
export function warmStartCoefficient(i: number, options: WarmStartOptions = {}): number {
  const { alpha = 1, lo = 0, hi = 1, maxIters = 1000 } = options;
  if (!(maxIters > 0)) throw new TransferKitError('E_BAD_OPTION', `warmStartCoefficient: maxIters must be > 0. Received: maxIters=${maxIters}.`);
  return (2 * (hi - lo)) / (1 + Math.exp((-alpha * i) / maxIters)) - (hi - lo) + lo;
}

/**
 * A tfjs-layers layer wrapping {@link gradientReverse}, for users who wire a discriminator into
 * their own functional model. `coeff` may be changed between steps (e.g. from
 * {@link warmStartCoefficient}). Serialises as `GradientReversal` with its current `coeff`.
 */
export class GradientReversal extends tfl.layers.Layer {
  static readonly className = 'GradientReversal';
  /** The current backward multiplier (the gradient is multiplied by `-coeff`). */
  coeff: number;

  constructor(args: { coeff?: number; name?: string } = {}) {
    super({ name: args.name });
    this.coeff = args.coeff ?? 1;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    return gradientReverse(x, this.coeff);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), coeff: this.coeff };
  }
}
tf.serialization.registerClass(GradientReversal);
