/**
 * JPEG decoding in worker threads and batches decoded ahead (streamImageFolder's `prefetch`):
 * the pixels equal main-thread decoding exactly, corrupt and non-JPEG files still get their usual
 * messages, and the decoding of the next batch really overlaps the consumer's work on the current
 * one (measured as the time the consumer waits for batches).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import jpeg from 'jpeg-js';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadImageFolder, streamImageFolder, useBackend, type Batch } from '../../src/index.js';
import { JpegDecodePool } from '../../src/data/decode_pool.js';
import { decodeImage } from '../../src/data/decode_image.js';
import { asset, HYMENOPTERA } from '../helpers/assets.js';

const pre = { scale: 1 / 127.5, offset: -1 };

/** A folder of noisy (so not trivially compressible) JPEGs, one corrupt JPEG and one PNG-named text file. */
function jpegFolder(perClass: number, w = 320, h = 240): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-prefetch-'));
  let seed = 1;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 255;
  for (const cls of ['a', 'b']) {
    fs.mkdirSync(path.join(root, cls));
    for (let i = 0; i < perClass; i++) {
      const d = new Uint8Array(w * h * 4).map((_, k) => (k % 4 === 3 ? 255 : rnd()));
      fs.writeFileSync(path.join(root, cls, `${cls}${i}.jpg`), jpeg.encode({ data: d, width: w, height: h }, 90).data);
    }
  }
  fs.writeFileSync(path.join(root, 'a', 'broken.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]));
  return root;
}

async function collect(stream: { batches: () => AsyncIterable<Batch> | Iterable<Batch> }): Promise<{ xs: Float32Array[]; labels: number[][] }> {
  const xs: Float32Array[] = [];
  const labels: number[][] = [];
  for await (const b of stream.batches() as AsyncIterable<Batch>) {
    xs.push(Float32Array.from(b.xs.dataSync()));
    labels.push(Array.from(b.labels as ArrayLike<number>));
    b.xs.dispose();
  }
  return { xs, labels };
}

beforeAll(async () => {
  await useBackend('wasm');
});

describe('JPEG decode workers and prefetch', () => {
  it('workers decode real photos to exactly the main thread pixels; non-JPEG and corrupt files come back unhandled', async () => {
    const dir = asset(HYMENOPTERA);
    if (dir === null) console.log('[decode workers] ../shared absent: checking the generated JPEGs only');
    const photos = dir === null ? [] : ['ants', 'bees'].flatMap((c) => fs.readdirSync(path.join(dir, c)).filter((f) => f.endsWith('.jpg')).sort().slice(0, 6).map((f) => path.join(dir, c, f)));
    const root = jpegFolder(3);
    const generated = ['a', 'b'].flatMap((c) => fs.readdirSync(path.join(root, c)).filter((f) => f !== 'broken.jpg').map((f) => path.join(root, c, f)));
    const all = [...photos, ...generated];
    const pool = await JpegDecodePool.create(2);
    expect(pool).not.toBeNull();
    try {
      for (const f of all) {
        const got = await pool!.decode(f);
        const ref = decodeImage(new Uint8Array(fs.readFileSync(f)), f);
        expect(got, f).not.toBeNull();
        expect([got!.width, got!.height]).toEqual([ref.width, ref.height]);
        expect(Buffer.from(got!.data).equals(Buffer.from(ref.data)), f).toBe(true);
      }
      expect(await pool!.decode(path.join(root, 'a', 'broken.jpg'))).toBeNull();
      const png = path.join(root, 'x.png');
      fs.writeFileSync(png, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0]));
      expect(await pool!.decode(png)).toBeNull();
    } finally {
      await pool!.close();
    }
  });

  it('loadImageFolder and streamImageFolder give identical tensors with and without workers and prefetch; a corrupt JPEG is still named', async () => {
    const root = jpegFolder(5, 64, 48);
    const opts = { size: [24, 24] as [number, number], preprocessing: pre };
    const w0: string[] = [];
    const w2: string[] = [];
    const a = await loadImageFolder(root, { ...opts, decodeWorkers: 0, onWarning: (m) => w0.push(m) });
    const b = await loadImageFolder(root, { ...opts, decodeWorkers: 2, onWarning: (m) => w2.push(m) });
    expect(Array.from(b.xs.dataSync())).toEqual(Array.from(a.xs.dataSync()));
    expect(b.files).toEqual(a.files);
    expect(w2).toEqual(w0);
    expect(w0.length).toBe(1);
    expect(w0[0]).toMatch(/broken\.jpg.*corrupt JPEG/);
    tf.dispose([a.xs, b.xs]);
    const plain = await collect(await streamImageFolder(root, { ...opts, batchSize: 3, shuffleSeed: 4, decodeWorkers: 0, prefetch: 0, onWarning: () => undefined }));
    const ahead = await collect(await streamImageFolder(root, { ...opts, batchSize: 3, shuffleSeed: 4, decodeWorkers: 2, prefetch: 2, onWarning: () => undefined }));
    expect(ahead.labels).toEqual(plain.labels);
    expect(ahead.xs).toEqual(plain.xs);
    await expect(streamImageFolder(root, { ...opts, batchSize: 3, decodeWorkers: -1 })).rejects.toThrow(/streamImageFolder: decodeWorkers must be an integer >= 0.*Received: -1/);
    await expect(streamImageFolder(root, { ...opts, batchSize: 3, prefetch: 1.5 })).rejects.toThrow(/prefetch must be an integer >= 0.*Received: 1.5/);
    await expect(loadImageFolder(root, { ...opts, decodeWorkers: 2.5 })).rejects.toThrow(/loadImageFiles: decodeWorkers must be an integer/);
  });

  it('the next batch is decoded while the consumer works on the current one', async () => {
    const root = jpegFolder(12, 640, 480); // 24 photos, 4 batches of 6
    const opts = { size: [32, 32] as [number, number], preprocessing: pre, batchSize: 6, onWarning: () => undefined };
    /** Seconds the consumer waited for batches 2.., doing 250 ms of blocking work (like a training step) per batch. */
    const waited = async (decodeWorkers: number, prefetch: number): Promise<number> => {
      const stream = await streamImageFolder(root, { ...opts, decodeWorkers, prefetch });
      const it = (stream.batches() as AsyncIterable<Batch>)[Symbol.asyncIterator]();
      let wait = 0;
      for (let k = 0; ; k++) {
        const t0 = performance.now();
        const r = await it.next();
        if (k > 0) wait += performance.now() - t0;
        if (r.done) break;
        r.value.xs.dispose();
        const end = performance.now() + 250;
        while (performance.now() < end); // the main thread is busy, as during a wasm training step
      }
      return wait / 1000;
    };
    const sequential = await waited(0, 0);
    const overlapped = await waited(1, 1);
    console.log(`[prefetch] consumer waited ${sequential.toFixed(3)} s without workers/prefetch, ${overlapped.toFixed(3)} s with 1 worker + prefetch 1`);
    expect(sequential).toBeGreaterThan(0.15); // decoding 18 photos at 640x480 is measurable
    expect(overlapped).toBeLessThan(sequential * 0.5);
  });
});
