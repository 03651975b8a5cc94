/**
 * MNIST-M (Ganin & Lempitsky 2015): MNIST digits blended over random patches of BSDS500 photos,
 * the target domain of the classic digits adaptation benchmark.
 *
 * Each output pixel channel is `|patch - digit|`, where `patch` is a random 28x28 crop of a
 * randomly chosen photo and `digit` is the MNIST image scaled to {0, 255} (binarised: `x > 0`,
 * as the generator script released with DANN implementations, e.g. pumpikano/tf-dann
 * `create_mnistm.py`) or kept grey (`binarize: false`). Seeded: the same seed gives the same set.
 */
import { TransferKitError } from '../../errors.js';
import { mulberry32 } from '../../utils/random.js';
import type { RgbImage } from '../decode_image.js';

/** Options of {@link makeMnistM}. */
export interface MnistMOptions {
  /** Seed of the photo and crop choices (default 0). */
  seed?: number;
  /** Binarise the digit to {0, 255} first (default true, as the reference generator). */
  binarize?: boolean;
}

/**
 * Blends `count` digits (`digits` holds them back to back, `size * size` bytes each) with crops
 * of `photos`. Returns `count * size * size * 3` bytes (NHWC).
 */
export function makeMnistM(digits: Uint8Array, count: number, photos: RgbImage[], options: MnistMOptions & { size?: number } = {}): Uint8Array {
  const size = options.size ?? 28;
  const binarize = options.binarize ?? true;
  if (photos.length === 0) throw new TransferKitError('E_DATA', 'makeMnistM: no background photos given (MNIST-M needs BSDS500 photos).');
  if (digits.length < count * size * size) throw new TransferKitError('E_DATA', `makeMnistM: ${count} digits of ${size}x${size} need ${count * size * size} bytes; got ${digits.length}.`);
  for (const [i, p] of photos.entries()) {
    if (p.width < size || p.height < size || p.data.length !== p.width * p.height * 3) {
      throw new TransferKitError('E_DATA', `makeMnistM: photo ${i} is ${p.width}x${p.height} with ${p.data.length} bytes; it must be RGB and at least ${size}x${size}.`);
    }
  }
  const rand = mulberry32(options.seed ?? 0);
  const out = new Uint8Array(count * size * size * 3);
  for (let n = 0; n < count; n++) {
    const photo = photos[Math.floor(rand() * photos.length)];
    const x0 = Math.floor(rand() * (photo.width - size + 1));
    const y0 = Math.floor(rand() * (photo.height - size + 1));
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const d0 = digits[n * size * size + y * size + x];
        const d = binarize ? (d0 > 0 ? 255 : 0) : d0;
        const src = ((y0 + y) * photo.width + (x0 + x)) * 3;
        const dst = ((n * size + y) * size + x) * 3;
        for (let c = 0; c < 3; c++) out[dst + c] = Math.abs(photo.data[src + c] - d);
      }
    }
  }
  return out;
}
