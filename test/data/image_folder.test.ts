import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadImageFiles, loadImageFolder, streamImageFolder, trainValSplit, useBackend } from '../../src/index.js';
import { decodeImage, resizeCropImage } from '../../src/entries/io.js';

function solid(w: number, h: number, rgb: [number, number, number]): Uint8Array {
  const d = new Uint8Array(w * h * 4);
  for (let i = 0; i < w * h; i++) d.set([...rgb, 255], i * 4);
  return d;
}

function makeFolder(): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-img-'));
  fs.mkdirSync(path.join(root, 'red'));
  fs.mkdirSync(path.join(root, 'blue'));
  for (let i = 0; i < 5; i++) {
    fs.writeFileSync(path.join(root, 'red', `r${i}.jpg`), jpeg.encode({ data: solid(40, 30, [250, 10, 10]), width: 40, height: 30 }, 95).data);
    const png = new PNG({ width: 30, height: 40 });
    png.data = Buffer.from(solid(30, 40, [10, 10, 250]));
    fs.writeFileSync(path.join(root, 'blue', `b${i}.png`), PNG.sync.write(png));
  }
  fs.writeFileSync(path.join(root, 'red', 'imageNotFound.gif'), Buffer.from('GIF89a\x01\x00\x01\x00', 'latin1'));
  fs.writeFileSync(path.join(root, 'blue', 'notes.txt'), 'not an image');
  return root;
}

beforeAll(async () => {
  await useBackend('wasm');
});

describe('image folders', () => {
  it('loads JPEG and PNG, skips the rest with a warning naming each file', async () => {
    const root = makeFolder();
    const warnings: string[] = [];
    const data = await loadImageFolder(root, { size: [8, 8], preprocessing: { scale: 1 / 127.5, offset: -1 }, onWarning: (m) => warnings.push(m) });
    expect(data.classNames).toEqual(['blue', 'red']);
    expect(data.xs.shape).toEqual([10, 8, 8, 3]);
    expect(Array.from(data.labels)).toEqual([0, 0, 0, 0, 0, 1, 1, 1, 1, 1]);
    expect(data.skipped.map((s) => path.basename(s.file)).sort()).toEqual(['imageNotFound.gif', 'notes.txt']);
    expect(warnings.some((w) => w.includes('imageNotFound.gif') && w.includes('GIF'))).toBe(true);
    // Preprocessing applied: red pixel 250 -> 250/127.5 - 1 ≈ 0.96 in channel 0.
    const px = tf.slice(data.xs, [5, 4, 4, 0], [1, 1, 1, 3]).dataSync();
    expect(px[0]).toBeGreaterThan(0.9);
    expect(px[2]).toBeLessThan(-0.8);
  });

  it('resizes with antialiasing by default (as resizeCropImage), and antialias: false restores plain bilinear sampling', async () => {
    // One-pixel black/white columns (PNG, so pixels are exact): a 6x downscale averages them to
    // grey with antialiasing and leaves stripes without.
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-img-aa-'));
    fs.mkdirSync(path.join(root, 'stripes'));
    const [w, h] = [96, 48];
    const png = new PNG({ width: w, height: h });
    const rgba = new Uint8Array(w * h * 4);
    for (let i = 0; i < w * h; i++) rgba.set([...(i % 2 === 0 ? [255, 255, 255] : [0, 0, 0]), 255], i * 4);
    png.data = Buffer.from(rgba);
    const file = path.join(root, 'stripes', 's.png');
    fs.writeFileSync(file, PNG.sync.write(png));
    const opts = { size: [8, 16] as [number, number], preprocessing: { scale: 1, offset: 0 }, cropFraction: 1 };
    const smooth = await loadImageFiles([file], opts);
    const plain = await loadImageFiles([file], { ...opts, antialias: false });
    const want = resizeCropImage(decodeImage(new Uint8Array(fs.readFileSync(file))), [8, 16], { cropFraction: 1 });
    const got = smooth.xs.dataSync();
    expect(Math.max(...got.map((v, i) => Math.abs(v - want[i])))).toBeLessThan(1e-4);
    const spread = (a: ArrayLike<number>) => Math.max(...Array.from(a)) - Math.min(...Array.from(a));
    expect(spread(got)).toBeLessThan(60);
    expect(spread(plain.xs.dataSync())).toBeGreaterThan(200);
    tf.dispose([smooth.xs, plain.xs]);
  });

  it("channelOrder 'BGR' swaps red and blue before the per-channel preprocessing (Keras 'caffe' mode)", async () => {
    const root = makeFolder();
    // caffe offsets in BGR order: B -103.939, G -116.779, R -123.68.
    const data = await loadImageFolder(root, { size: [8, 8], preprocessing: { scale: 1, offset: [-103.939, -116.779, -123.68] }, channelOrder: 'BGR', onWarning: () => undefined });
    const px = tf.slice(data.xs, [5, 4, 4, 0], [1, 1, 1, 3]).dataSync(); // a red image: B low, R high
    const rgb = await loadImageFolder(root, { size: [8, 8], preprocessing: { scale: 1, offset: 0 }, onWarning: () => undefined });
    const raw = tf.slice(rgb.xs, [5, 4, 4, 0], [1, 1, 1, 3]).dataSync();
    expect(px[0]).toBeCloseTo(raw[2] - 103.939, 3);
    expect(px[2]).toBeCloseTo(raw[0] - 123.68, 3);
    expect(raw[0]).toBeGreaterThan(200);
  });

  it('streamImageFolder yields the same preprocessed pixels batch by batch, warns once per bad file, shuffles per epoch by seed', async () => {
    const root = makeFolder();
    const warnings: string[] = [];
    const opts = { size: [8, 8] as [number, number], preprocessing: { scale: 1 / 127.5, offset: -1 }, onWarning: (m: string) => warnings.push(m) };
    const whole = await loadImageFolder(root, { ...opts, onWarning: () => undefined });
    const stream = await streamImageFolder(root, { ...opts, batchSize: 4 });
    const xs: tf.Tensor[] = [];
    const labels: number[] = [];
    for await (const b of stream.batches()) {
      xs.push(b.xs);
      labels.push(...(b.labels as number[]));
    }
    const all = tf.concat(xs);
    expect(all.shape).toEqual(whole.xs.shape);
    expect(tf.max(tf.abs(tf.sub(all, whole.xs))).dataSync()[0]).toBeLessThan(1e-6);
    expect(labels).toEqual(Array.from(whole.labels));
    expect(stream.stepsPerEpoch).toBe(3); // 12 files (two undecodable) in batches of 4
    for await (const b of stream.batches()) b.xs.dispose();
    expect(warnings.filter((w) => w.includes('notes.txt'))).toHaveLength(1);
    const order = async (seed: number) => {
      const st = await streamImageFolder(root, { ...opts, batchSize: 20, shuffleSeed: seed });
      const epochs: number[][] = [];
      for (let e = 0; e < 2; e++) for await (const b of st.batches()) {
        epochs.push(Array.from(tf.sum(b.xs, [1, 2, 3]).dataSync()));
        b.xs.dispose();
      }
      return epochs;
    };
    const [a, b] = [await order(3), await order(3)];
    expect(a).toEqual(b);
    expect(a[0]).not.toEqual(a[1]);
  });

  it('explains a folder without class sub-folders', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-img-'));
    await expect(loadImageFolder(root, { size: [8, 8], preprocessing: { scale: 1, offset: 0 } })).rejects.toMatchObject({ code: 'E_DATA', message: expect.stringContaining('one sub-folder per class') });
    await expect(loadImageFolder(path.join(root, 'missing'), { size: [8, 8], preprocessing: { scale: 1, offset: 0 } })).rejects.toMatchObject({ code: 'E_DATA' });
  });

  it('decodeImage names a corrupt file', () => {
    expect(() => decodeImage(new Uint8Array([0xff, 0xd8, 1, 2, 3]), 'broken.jpg')).toThrow(/broken.jpg: corrupt JPEG/);
  });

  it('trainValSplit is stratified and reproducible from the seed', async () => {
    const data = await loadImageFolder(makeFolder(), { size: [4, 4], preprocessing: { scale: 1, offset: 0 }, onWarning: () => undefined });
    const [tr, va] = trainValSplit(data, 0.4, 7);
    expect(Array.from(va.labels).filter((l) => l === 0)).toHaveLength(2);
    expect(Array.from(va.labels).filter((l) => l === 1)).toHaveLength(2);
    expect(tr.labels.length + va.labels.length).toBe(10);
    const [, va2] = trainValSplit(data, 0.4, 7);
    expect(Array.from(va2.xs.dataSync())).toEqual(Array.from(va.xs.dataSync()));
  });
});
