/**
 * Pooling of token states into one row per input, shared by every encoder so the ONNX and TF.js
 * paths pool identically. Mean pooling is sentence-transformers' `Pooling(pooling_mode_mean_tokens)`:
 * sum of the states where the attention mask is 1, divided by max(count, 1e-9); normalisation is
 * `torch.nn.functional.normalize` (x / max(||x||, 1e-12)).
 */
import type { EncoderPooling } from '../models/frozen_encoder.js';

/**
 * Pools `hidden` [B, T, H] (row-major) with `mask` [B, T] (1 on real tokens; null: all real).
 * `prefixTokens` leading tokens are left out of the mean: 1 for ViT-style image encoders, whose
 * mean pooling averages the patch tokens only (timm's `global_pool='avg'`).
 * @returns B * H floats.
 */
export function poolTokenStates(hidden: ArrayLike<number>, mask: ArrayLike<number | bigint> | null, dims: readonly [number, number, number], pooling: EncoderPooling, normalize: boolean, prefixTokens = 0): Float32Array {
  const [b, t, h] = dims;
  const out = new Float32Array(b * h);
  for (let i = 0; i < b; i++) {
    const row = out.subarray(i * h, (i + 1) * h);
    if (pooling === 'cls') {
      for (let k = 0; k < h; k++) row[k] = hidden[i * t * h + k];
    } else {
      // Accumulate in float64: the mean of a few hundred states then rounds once to float32.
      const acc = new Float64Array(h);
      let count = 0;
      for (let j = prefixTokens; j < t; j++) {
        const m = mask === null ? 1 : Number(mask[i * t + j]);
        if (m === 0) continue;
        count += m;
        const base = (i * t + j) * h;
        for (let k = 0; k < h; k++) acc[k] += m * hidden[base + k];
      }
      const denom = Math.max(count, 1e-9);
      for (let k = 0; k < h; k++) row[k] = acc[k] / denom;
    }
    if (normalize) normalizeRow(row);
  }
  return out;
}

/** L2-normalises `row` in place, as `F.normalize(x, p=2, eps=1e-12)`. */
export function normalizeRow(row: Float32Array): void {
  let s = 0;
  for (let k = 0; k < row.length; k++) s += row[k] * row[k];
  const n = Math.max(Math.sqrt(s), 1e-12);
  for (let k = 0; k < row.length; k++) row[k] /= n;
}
