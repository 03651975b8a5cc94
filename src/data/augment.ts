/**
 * Random image augmentations applied on the fly to each training batch, drawn from the run's
 * seeded generator (so a seed reproduces the run), with torchvision's semantics:
 * - `randomResizedCrop`: `RandomResizedCrop.get_params` — a crop of `scale` × the area and a
 *   log-uniform aspect ratio in `ratio` (10 tries, then a centre crop of the clamped ratio),
 *   resized back to the input size (bilinear);
 * - `rotation`: `RandomRotation(degrees)` — an angle uniform in [-degrees, degrees], zero fill;
 * - `colorJitter`: `ColorJitter(brightness, contrast, saturation)` factors uniform in
 *   [max(0, 1 - v), 1 + v], applied in that fixed order (torchvision shuffles the order) and on the
 *   model-input values (after preprocessing), contrast and saturation blending with the grey image.
 * Flips are handled by the loop itself (and cached); any of these makes each epoch's inputs new,
 * so the frozen prefix runs per batch instead of from a cache.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Random augmentations of training images (see the module comment for their exact semantics). */
export interface AugmentOptions {
  /** Random horizontal flips (default true for images). */
  flip?: boolean;
  /** torchvision `RandomResizedCrop` (true: scale [0.08, 1], ratio [3/4, 4/3]). */
  randomResizedCrop?: boolean | { scale?: [number, number]; ratio?: [number, number] };
  /** Maximum rotation in degrees (torchvision `RandomRotation(degrees)`). */
  rotation?: number;
  /** torchvision `ColorJitter` strengths. */
  colorJitter?: { brightness?: number; contrast?: number; saturation?: number };
}

/** True when `a` asks for anything beyond flips (what invalidates an activation cache). */
export function hasRandomAugment(a: AugmentOptions | undefined): boolean {
  return a !== undefined && (Boolean(a.randomResizedCrop) || (a.rotation ?? 0) > 0 || Object.values(a.colorJitter ?? {}).some((v) => (v ?? 0) > 0));
}

/** torchvision's `RandomResizedCrop.get_params`: [top, left, height, width] in pixels. */
export function resizedCropParams(h: number, w: number, scale: [number, number], ratio: [number, number], rand: () => number): [number, number, number, number] {
  const area = h * w;
  const logR = [Math.log(ratio[0]), Math.log(ratio[1])];
  for (let i = 0; i < 10; i++) {
    const target = area * (scale[0] + (scale[1] - scale[0]) * rand());
    const aspect = Math.exp(logR[0] + (logR[1] - logR[0]) * rand());
    const cw = Math.round(Math.sqrt(target * aspect));
    const ch = Math.round(Math.sqrt(target / aspect));
    if (cw > 0 && cw <= w && ch > 0 && ch <= h) {
      const top = Math.floor(rand() * (h - ch + 1));
      const left = Math.floor(rand() * (w - cw + 1));
      return [top, left, ch, cw];
    }
  }
  // Fallback: the whole image, cropped centrally to the nearest allowed aspect ratio.
  const inRatio = w / h;
  let cw = w;
  let ch = h;
  if (inRatio < Math.min(...ratio)) ch = Math.round(w / Math.min(...ratio));
  else if (inRatio > Math.max(...ratio)) cw = Math.round(h * Math.max(...ratio));
  return [Math.floor((h - ch) / 2), Math.floor((w - cw) / 2), ch, cw];
}

/** Mirrors (reverses the width axis of) the examples of `x` [B, H, W, ...] whose entry in `flips` is true. */
export function flipSome(x: tf.Tensor, flips: boolean[]): tf.Tensor {
  return tf.tidy(() => {
    const mask = tf.tensor1d(flips.map((f) => (f ? 1 : 0)), 'bool');
    return tf.where(tf.reshape(mask, [flips.length, ...new Array(x.rank - 1).fill(1)]), tf.reverse(x, 2), x);
  });
}

/** Applies the random augmentations of `a` to an image batch [B, H, W, C] (flips excluded). */
export function augmentBatch(x: tf.Tensor4D, a: AugmentOptions, rand: () => number): tf.Tensor4D {
  return tf.tidy(() => {
    const [b, h, w] = x.shape;
    let y = x;
    if (a.randomResizedCrop) {
      const o = typeof a.randomResizedCrop === 'object' ? a.randomResizedCrop : {};
      const boxes: number[][] = [];
      for (let i = 0; i < b; i++) {
        const [top, left, ch, cw] = resizedCropParams(h, w, o.scale ?? [0.08, 1], o.ratio ?? [3 / 4, 4 / 3], rand);
        // cropAndResize boxes are [y1, x1, y2, x2] normalised so that 0 and 1 are the first and last pixel centres.
        boxes.push([top / (h - 1), left / (w - 1), (top + ch - 1) / (h - 1), (left + cw - 1) / (w - 1)]);
      }
      y = tf.image.cropAndResize(y, tf.tensor2d(boxes), tf.range(0, b, 1, 'int32'), [h, w], 'bilinear');
    }
    if ((a.rotation ?? 0) > 0) {
      const deg = a.rotation as number;
      const parts = tf.split(y, b, 0).map((img) => tf.image.rotateWithOffset(img as tf.Tensor4D, ((2 * rand() - 1) * deg * Math.PI) / 180, 0));
      y = tf.concat(parts, 0);
    }
    const j = a.colorJitter ?? {};
    const factors = (v: number | undefined) => (v !== undefined && v > 0 ? Array.from({ length: b }, () => Math.max(0, 1 - v) + (1 + v - Math.max(0, 1 - v)) * rand()) : null);
    const column = (f: number[]) => tf.tensor4d(f, [b, 1, 1, 1]);
    const grey = (t: tf.Tensor4D) => tf.sum(tf.mul(t, tf.tensor1d([0.299, 0.587, 0.114])), -1, true);
    const bf = factors(j.brightness);
    if (bf !== null) y = tf.mul(y, column(bf));
    const cf = factors(j.contrast);
    if (cf !== null) {
      const mean = tf.mean(grey(y as tf.Tensor4D), [1, 2, 3], true);
      y = tf.add(tf.mul(y, column(cf)), tf.mul(mean, tf.sub(1, column(cf))));
    }
    const sf = factors(j.saturation);
    if (sf !== null) y = tf.add(tf.mul(y, column(sf)), tf.mul(grey(y as tf.Tensor4D), tf.sub(1, column(sf))));
    return y as tf.Tensor4D;
  });
}
