/**
 * JPEG decoding in worker threads and batches decoded ahead (streamImageFolder's `prefetch`):
 * the pixels equal main-thread decoding exactly, corrupt and non-JPEG files still get their usual
 * messages, and batches are handed to the workers ahead of the consumer (`prefetch`), checked by
 * the order of events; the time saved is measured by bench/stream-prefetch.ts, not here.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import jpeg from 'jpeg-js';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it, vi } from 'vitest';
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

  it('with prefetch, the next batches are handed to the decode workers before the consumer gets the current one', async () => {
    // Event order, not wall-clock time (timing is bench/stream-prefetch.ts's job): count the files
    // handed to the worker pool at the moment each batch reaches the consumer.
    const root = jpegFolder(12, 64, 48); // 24 photos + 1 corrupt JPEG: 5 batches of 6, 6, 6, 6, 1 files
    const opts = { size: [32, 32] as [number, number], preprocessing: pre, batchSize: 6, onWarning: () => undefined };
    const decodeCalls = vi.spyOn(JpegDecodePool.prototype, 'decode');
    const requestedAtDelivery = async (prefetch: number): Promise<number[]> => {
      decodeCalls.mockClear();
      const seen: number[] = [];
      for await (const b of (await streamImageFolder(root, { ...opts, decodeWorkers: 1, prefetch })).batches() as AsyncIterable<Batch>) {
        seen.push(decodeCalls.mock.calls.length);
        b.xs.dispose();
      }
      return seen;
    };
    try {
      // prefetch 0: each batch is decoded when asked for; 1 and 2: one and two batches ahead.
      const ahead = (p: number) => [0, 1, 2, 3, 4].map((i) => Math.min(25, 6 * (i + 1 + p)));
      expect(await requestedAtDelivery(0)).toEqual(ahead(0)); // [6, 12, 18, 24, 25]
      expect(await requestedAtDelivery(1)).toEqual(ahead(1)); // [12, 18, 24, 25, 25]
      expect(await requestedAtDelivery(2)).toEqual(ahead(2));
      // The workers decoded every real JPEG; only the corrupt one came back unhandled.
      const results = await Promise.all(decodeCalls.mock.results.map((r) => r.value as Promise<unknown>));
      expect(results.filter((r) => r === null)).toHaveLength(1);
    } finally {
      decodeCalls.mockRestore();
    }
  });
});
