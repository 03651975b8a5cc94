/**
 * Resizing decoded images to a network's input: resize so a centre window of the shorter side
 * maps to the output, then crop that window (torchvision's `Resize(round(size / crop_pct))` +
 * `CenterCrop(size)`, timm's `crop_pct`).
 *
 * Downscaling a photo by 2x or more with plain bilinear interpolation (TF.js's
 * `tf.image.resizeBilinear`, TF's `tf.image.resize` without `antialias`) samples 4 of the source
 * pixels per output pixel and drops the rest, so fine texture aliases into noise. PIL — and with
 * it torchvision's `Resize`, whose `antialias` defaults to true — widens the bilinear (triangle)
 * filter by the scale factor so every source pixel contributes. Pretrained features are
 * measurably better on antialiased inputs (ants/bees linear probe, docs/results.md), so
 * antialiased resizing is the default here.
 */
import { TransferKitError } from '../errors.js';
import { checkLimit } from '../utils/limits.js';
// eslint-disable-next-line @typescript-eslint/no-unused-vars -- the target of {@link RgbImage} below
import type { RgbImage } from './decode_image.js';

/** How {@link resizeCropImage} (and the image loaders built on it) resize. */
export interface ImageResizeOptions {
  /**
   * Fraction of the shorter side kept by the centre crop after resizing (timm's `crop_pct`;
   * 0.875 = torchvision's resize-256-crop-224). 1 squashes the whole image to `size`.
   */
  cropFraction?: number;
  /**
   * Widen the bilinear filter when downscaling, as PIL's `Image.resize(BILINEAR)` and
   * torchvision's `Resize(antialias=True)` (default `true`). `false` samples with TF.js's
   * `resizeBilinear(alignCorners=true)` (equal within 1e-3 of 255): transferkit's resizing until
   * 2026-11-29, which the figures measured before then used.
   */
  antialias?: boolean;
}

/** Row-major sparse filter: for output index i, weights `w[i]` over source indices `start[i]..`. */
interface Filter {
  start: Int32Array;
  count: Int32Array;
  weights: Float32Array[];
}

/**
 * PIL's bilinear resampling filter for one axis (the triangle `max(0, 1 - |x|)` stretched by
 * the scale factor when downscaling), for the outputs `first .. first + n - 1` of a resize from
 * `inSize` to `outSize` samples. Weights are normalised to sum to 1, as PIL and torch do.
 */
function antialiasFilter(inSize: number, outSize: number, first: number, n: number): Filter {
  const scale = inSize / outSize;
  const support = scale >= 1 ? scale : 1;
  const inv = scale >= 1 ? 1 / scale : 1;
  const start = new Int32Array(n);
  const count = new Int32Array(n);
  const weights: Float32Array[] = [];
  for (let k = 0; k < n; k++) {
    const center = (first + k + 0.5) * scale;
    const lo = Math.max(Math.floor(center - support + 0.5), 0);
    const hi = Math.min(Math.floor(center + support + 0.5), inSize);
    const w = new Float32Array(Math.max(hi - lo, 0));
    let total = 0;
    for (let j = lo; j < hi; j++) {
      const v = Math.max(0, 1 - Math.abs((j - center + 0.5) * inv));
      w[j - lo] = v;
      total += v;
    }
    if (total > 0) for (let j = 0; j < w.length; j++) w[j] /= total;
    start[k] = lo;
    count[k] = w.length;
    weights.push(w);
  }
  return { start, count, weights };
}

/**
 * Bilinear sampling with aligned corners (`tf.image.resizeBilinear(..., alignCorners=true)`)
 * as a filter of at most two taps, so both modes share one separable loop.
 */
function alignCornersFilter(inSize: number, outSize: number, first: number, n: number): Filter {
  const ratio = outSize > 1 ? (inSize - 1) / (outSize - 1) : 0;
  const start = new Int32Array(n);
  const count = new Int32Array(n);
  const weights: Float32Array[] = [];
  for (let k = 0; k < n; k++) {
    const x = (first + k) * ratio;
    const lo = Math.floor(x);
    const hi = Math.min(lo + 1, inSize - 1);
    const f = x - lo;
    start[k] = lo;
    if (hi === lo) {
      count[k] = 1;
      weights.push(Float32Array.of(1));
    } else {
      count[k] = 2;
      weights.push(Float32Array.of(1 - f, f));
    }
  }
  return { start, count, weights };
}

/**
 * Pixels to resize: a decoded {@link RgbImage} (3 bytes per pixel) or a canvas `ImageData`
 * (4 bytes per pixel, RGBA; alpha is ignored), so a browser resizes exactly as training did.
 */
export interface ResizableImage {
  width: number;
  height: number;
  data: Uint8Array | Uint8ClampedArray;
}

/**
 * Resizes `img` so that `cropFraction` of its shorter side becomes the output's, and returns the
 * centred `size` window as float RGB in [0, 255], row-major `[height, width, 3]`. Only the
 * window is computed (separably: columns, then rows).
 */
export function resizeCropImage(img: ResizableImage, size: readonly [number, number], options: ImageResizeOptions = {}): Float32Array {
  const { cropFraction = 0.875, antialias = true } = options;
  const [oh, ow] = size;
  if (!(Number.isInteger(oh) && Number.isInteger(ow) && oh > 0 && ow > 0)) throw new TransferKitError('E_BAD_OPTION', `resize: size must be two integers > 0 ([height, width]). Received: [${size.join(', ')}].`);
  // The output is allocated as oh x ow x 3 floats: refuse a size no image could have, coded.
  checkLimit('maxImagePixels', oh * ow, `resize: the output size [${oh}, ${ow}] is ${oh} x ${ow} pixels`);
  if (!(cropFraction > 0 && cropFraction <= 1)) throw new TransferKitError('E_BAD_OPTION', `resize: cropFraction must be in (0, 1] (0.875 = torchvision's resize-256-crop-224; 1 squashes the whole image). Received: ${cropFraction}.`);
  const pixels = img.width * img.height;
  const channels = img.data.length === pixels * 3 ? 3 : img.data.length === pixels * 4 ? 4 : 0;
  if (!(img.width > 0 && img.height > 0 && channels > 0)) throw new TransferKitError('E_DATA', `resize: the image must hold width x height x 3 RGB bytes (${img.width} x ${img.height} x 3 = ${pixels * 3}) or x 4 RGBA bytes (${pixels * 4}); it holds ${img.data.length}.`);
  const scale = Math.max(oh / (img.height * cropFraction), ow / (img.width * cropFraction));
  const rh = Math.max(oh, Math.round(img.height * scale));
  const rw = Math.max(ow, Math.round(img.width * scale));
  const top = Math.floor((rh - oh) / 2);
  const left = Math.floor((rw - ow) / 2);
  const make = antialias ? antialiasFilter : alignCornersFilter;
  const fy = make(img.height, rh, top, oh);
  const fx = make(img.width, rw, left, ow);
  // Source rows the window needs; the horizontal pass runs on those only.
  const y0 = fy.start[0];
  const y1 = fy.start[oh - 1] + fy.count[oh - 1];
  const src = img.data;
  const rowStride = img.width * channels;
  const tmp = new Float32Array((y1 - y0) * ow * 3);
  for (let y = y0; y < y1; y++) {
    const srow = y * rowStride;
    const trow = (y - y0) * ow * 3;
    for (let x = 0; x < ow; x++) {
      const w = fx.weights[x];
      let p = srow + fx.start[x] * channels;
      let r = 0;
      let g = 0;
      let b = 0;
      for (let j = 0; j < w.length; j++, p += channels) {
        r += w[j] * src[p];
        g += w[j] * src[p + 1];
        b += w[j] * src[p + 2];
      }
      tmp[trow + x * 3] = r;
      tmp[trow + x * 3 + 1] = g;
      tmp[trow + x * 3 + 2] = b;
    }
  }
  const out = new Float32Array(oh * ow * 3);
  const tstride = ow * 3;
  for (let y = 0; y < oh; y++) {
    const w = fy.weights[y];
    const base = (fy.start[y] - y0) * tstride;
    const orow = y * tstride;
    for (let j = 0; j < w.length; j++) {
      const wj = w[j];
      const trow = base + j * tstride;
      for (let i = 0; i < tstride; i++) out[orow + i] += wj * tmp[trow + i];
    }
  }
  return out;
}
