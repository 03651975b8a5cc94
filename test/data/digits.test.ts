/**
 * MNIST's IDX format and MNIST-M generation (Ganin & Lempitsky 2015).
 */
import { gzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { loadMnist, makeMnistM, parseIdx } from '../../src/entries/datasets.js';
import { asset } from '../helpers/assets.js';

function idx(shape: number[], data: number[]): Uint8Array {
  const head = new Uint8Array(4 + 4 * shape.length);
  const v = new DataView(head.buffer);
  head[2] = 0x08;
  head[3] = shape.length;
  shape.forEach((d, i) => v.setUint32(4 + 4 * i, d, false));
  const out = new Uint8Array(head.length + data.length);
  out.set(head);
  out.set(data, head.length);
  return out;
}

describe('parseIdx', () => {
  it('reads shape and bytes, gzipped or not, and rejects truncation and other types', () => {
    const raw = idx([2, 2, 2], [1, 2, 3, 4, 5, 6, 7, 8]);
    for (const bytes of [raw, gzipSync(raw)]) {
      const a = parseIdx(bytes);
      expect(a.shape).toEqual([2, 2, 2]);
      expect(Array.from(a.data)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    }
    expect(() => parseIdx(raw.subarray(0, raw.length - 1), 'cut.idx')).toThrow(/cut\.idx.*truncated/);
    const f32 = raw.slice();
    f32[2] = 0x0d;
    expect(() => parseIdx(f32, 'f.idx')).toThrow(/0xd is not supported/);
  });
  it('reads the real MNIST test set (10,000 digits; the first labels are 7 2 1 0 4 1 4 9 5 9)', async () => {
    const imgs = asset('data/mnist/t10k-images-idx3-ubyte.gz');
    const labs = asset('data/mnist/t10k-labels-idx1-ubyte.gz');
    if (imgs === null || labs === null) return;
    const m = await loadMnist(imgs, labs);
    expect(m.count).toBe(10000);
    expect(m.size).toBe(28);
    expect(Array.from(m.labels.slice(0, 10))).toEqual([7, 2, 1, 0, 4, 1, 4, 9, 5, 9]);
  });
});

describe('makeMnistM', () => {
  // A 4x3 "photo" whose pixel (x, y) channel c is 10 * (y * 4 + x) + c.
  const photo = { width: 4, height: 3, data: Uint8Array.from({ length: 36 }, (_, i) => 10 * Math.floor(i / 3) + (i % 3)) };
  const digit = Uint8Array.from([0, 128, 255, 0]); // 2x2

  it('every pixel channel is |patch - digit| with the digit binarised to {0, 255}, from a crop inside the photo', () => {
    const out = makeMnistM(digit, 1, [photo], { size: 2, seed: 3 });
    // Recover the crop origin from the first (digit 0) pixel: its value is the photo's own.
    const v0 = out[0];
    const x0 = (v0 / 10) % 4;
    const y0 = Math.floor(v0 / 10 / 4);
    expect(x0).toBeLessThanOrEqual(2);
    expect(y0).toBeLessThanOrEqual(1);
    for (let y = 0; y < 2; y++) {
      for (let x = 0; x < 2; x++) {
        const d = digit[y * 2 + x] > 0 ? 255 : 0;
        for (let c = 0; c < 3; c++) {
          const p = photo.data[((y0 + y) * 4 + (x0 + x)) * 3 + c];
          expect(out[(y * 2 + x) * 3 + c]).toBe(Math.abs(p - d));
        }
      }
    }
    // Grey digits when binarize is false.
    const grey = makeMnistM(digit, 1, [photo], { size: 2, seed: 3, binarize: false });
    expect(grey[3]).toBe(Math.abs(photo.data[((y0) * 4 + x0 + 1) * 3] - 128));
  });

  it('is seeded: same seed, same images; another seed, other crops', () => {
    const many = Uint8Array.from({ length: 4 * 20 }, (_, i) => (i % 3 === 0 ? 255 : 0));
    const a = makeMnistM(many, 20, [photo], { size: 2, seed: 1 });
    expect(makeMnistM(many, 20, [photo], { size: 2, seed: 1 })).toEqual(a);
    expect(makeMnistM(many, 20, [photo], { size: 2, seed: 2 })).not.toEqual(a);
  });

  it('rejects missing or too-small photos with a clear message', () => {
    expect(() => makeMnistM(digit, 1, [], { size: 2 })).toThrow(/BSDS500/);
    expect(() => makeMnistM(digit, 1, [{ width: 1, height: 1, data: new Uint8Array(3) }], { size: 2 })).toThrow(/at least 2x2/);
  });
});
