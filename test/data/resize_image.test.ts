/**
 * resizeCropImage: antialiased resizing equals torch's `interpolate(mode='bilinear',
 * antialias=True)` (PIL's filter, torchvision `Resize`'s default) followed by a centre crop; the
 * `antialias: false` path equals TF.js's `resizeBilinear(alignCorners=true)` + slice.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { resizeCropImage } from '../../src/data/resize_image.js';
import type { RgbImage } from '../../src/data/decode_image.js';
import { mulberry32 } from '../../src/utils/random.js';
import { runPython, torchAvailable } from '../helpers/torch.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function randomImage(height: number, width: number, seed: number): RgbImage {
  const rand = mulberry32(seed);
  return { height, width, data: Uint8Array.from({ length: height * width * 3 }, () => Math.floor(rand() * 256)) };
}

/** The resize geometry resizeCropImage documents: shorter side's crop window -> output. */
function geometry(img: RgbImage, [oh, ow]: [number, number], crop: number) {
  const s = Math.max(oh / (img.height * crop), ow / (img.width * crop));
  const rh = Math.max(oh, Math.round(img.height * s));
  const rw = Math.max(ow, Math.round(img.width * s));
  return { rh, rw, top: Math.floor((rh - oh) / 2), left: Math.floor((rw - ow) / 2) };
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

const CASES: { name: string; h: number; w: number; size: [number, number]; crop: number }[] = [
  { name: 'downscale 2.6x, crop 0.875 (torchvision eval)', h: 375, w: 500, size: [128, 128], crop: 0.875 },
  { name: 'downscale, squash to another aspect ratio', h: 97, w: 211, size: [40, 56], crop: 1 },
  { name: 'upscale', h: 23, w: 31, size: [48, 64], crop: 1 },
  { name: 'downscale one axis, upscale the other', h: 120, w: 20, size: [30, 40], crop: 1 },
];

describe('resizeCropImage', () => {
  it('antialiased output equals torch interpolate(bilinear, antialias=True) + centre crop', async (ctx) => {
    if (!(await torchAvailable())) return ctx.skip();
    const script = `
import json, sys, torch
c = json.load(sys.stdin)
out = []
for k in c:
    x = torch.tensor(k['data'], dtype=torch.float64).reshape(k['h'], k['w'], 3).permute(2, 0, 1)[None]
    y = torch.nn.functional.interpolate(x, size=(k['rh'], k['rw']), mode='bilinear', antialias=True, align_corners=False)[0]
    y = y[:, k['top']:k['top'] + k['oh'], k['left']:k['left'] + k['ow']].permute(1, 2, 0)
    out.append(y.reshape(-1).tolist())
print(json.dumps(out))`;
    const images = CASES.map((c, i) => randomImage(c.h, c.w, i + 1));
    const input = CASES.map((c, i) => ({ h: c.h, w: c.w, oh: c.size[0], ow: c.size[1], data: Array.from(images[i].data), ...geometry(images[i], c.size, c.crop) }));
    const expected = await runPython<number[][]>(script, input);
    CASES.forEach((c, i) => {
      const got = resizeCropImage(images[i], c.size, { cropFraction: c.crop });
      expect(maxAbsDiff(got, expected[i]), c.name).toBeLessThan(2e-3);
    });
  });

  it('antialias: false equals tf.image.resizeBilinear(alignCorners=true) then the centre slice', () => {
    for (const [i, c] of CASES.entries()) {
      const img = randomImage(c.h, c.w, 10 + i);
      const { rh, rw, top, left } = geometry(img, c.size, c.crop);
      const ref = tf.tidy(() => tf.slice(tf.image.resizeBilinear(tf.cast(tf.tensor3d(img.data, [c.h, c.w, 3], 'int32'), 'float32') as tf.Tensor3D, [rh, rw], true), [top, left, 0], [c.size[0], c.size[1], 3]));
      const got = resizeCropImage(img, c.size, { cropFraction: c.crop, antialias: false });
      expect(maxAbsDiff(got, ref.dataSync()), c.name).toBeLessThan(1e-3);
      ref.dispose();
    }
  });

  it('antialiasing removes the aliasing plain bilinear sampling leaves (one-pixel stripes downscaled 5x)', () => {
    // Alternating black and white columns average to mid-grey; sampling 2 of every 5 columns
    // without a wide filter turns them into coarse stripes instead.
    const h = 50;
    const w = 250;
    const data = new Uint8Array(h * w * 3);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.fill(x % 2 === 0 ? 255 : 0, (y * w + x) * 3, (y * w + x) * 3 + 3);
    const img = { height: h, width: w, data };
    const spread = (a: Float32Array) => Math.max(...a) - Math.min(...a);
    const smooth = resizeCropImage(img, [10, 50], { cropFraction: 1 });
    const aliased = resizeCropImage(img, [10, 50], { cropFraction: 1, antialias: false });
    expect(spread(smooth)).toBeLessThan(60);
    expect(spread(aliased)).toBeGreaterThan(200);
  });

  it('keeps an image already at the output size unchanged', () => {
    const img = randomImage(16, 24, 7);
    const got = resizeCropImage(img, [16, 24], { cropFraction: 1 });
    expect(maxAbsDiff(got, img.data)).toBeLessThan(1e-3);
  });

  it('refuses a bad size, crop fraction or pixel buffer by name', () => {
    const img = randomImage(8, 8, 3);
    expect(() => resizeCropImage(img, [0, 4])).toThrow(/size must be two integers > 0.*\[0, 4\]/);
    expect(() => resizeCropImage(img, [4, 4], { cropFraction: 1.5 })).toThrow(/cropFraction must be in \(0, 1\].*1\.5/);
    expect(() => resizeCropImage({ ...img, width: 9 }, [4, 4])).toThrow(/9 x 8 x 3 = 216\) or x 4 RGBA bytes \(288\); it holds 192/);
  });

  it('reads canvas ImageData (RGBA) exactly as the same RGB pixels, ignoring alpha', () => {
    const img = randomImage(37, 53, 5);
    const rgba = new Uint8ClampedArray(37 * 53 * 4);
    for (let i = 0; i < 37 * 53; i++) rgba.set([img.data[3 * i], img.data[3 * i + 1], img.data[3 * i + 2], (i * 7) % 256], 4 * i);
    const a = resizeCropImage(img, [16, 20]);
    const b = resizeCropImage({ width: 53, height: 37, data: rgba }, [16, 20]);
    expect(Array.from(b)).toEqual(Array.from(a));
  });
});
