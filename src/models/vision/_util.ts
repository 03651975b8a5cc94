/**
 * Shared pieces of the zoo's builders: the symbolic-tensor type and Keras' `_make_divisible`.
 */
import type * as tfl from '@tensorflow/tfjs-layers';

export type Sym = tfl.SymbolicTensor;

/** Options every zoo builder takes (as Keras applications' arguments). */
export interface BuildOptions {
  /** Keep the ImageNet classifier (default true, as Keras). */
  includeTop?: boolean;
  /** Input shape [H, W, 3] (default the model's pretrained size). */
  inputShape?: [number, number, number];
  /** Classes of the top (default 1000). */
  classes?: number;
  /** Global pooling when `includeTop` is false: `'avg'`, `'max'` or none (default: none, a feature map). */
  pooling?: 'avg' | 'max' | null;
  /** Seed of the weight initialisers (default unseeded). */
  seed?: number;
}

/**
 * Keras applications' `_make_divisible` (from the TF-slim MobileNet code): round `v` to the
 * nearest multiple of `divisor`, at least `divisor`, never more than 10 % below `v`.
 */
export function makeDivisible(v: number, divisor = 8, minValue?: number): number {
  const min = minValue ?? divisor;
  let n = Math.max(min, Math.floor((v + divisor / 2) / divisor) * divisor);
  if (n < 0.9 * v) n += divisor;
  return n;
}
