/**
 * JPEG decoding in worker threads (Node), so image batches are decoded while the current batch
 * trains: TF.js runs its kernels on the main thread, and jpeg-js decoding there (~10–20 ms per
 * photo) would otherwise sit on the training loop's critical path, as torchvision's `DataLoader`
 * workers and `tf.data`'s `prefetch` keep it off theirs.
 *
 * Workers decode with the same jpeg-js build and options as `decodeImage`, so the pixels are
 * identical. Only JPEG goes to the workers (the common, costly case); anything else — PNG, WebP,
 * GIF, a corrupt file — comes back unhandled and the caller decodes it on the main thread, where
 * its usual error is raised. Workers are unref'd: an idle pool never keeps a script alive.
 */
import { createRequire } from 'node:module';
import * as os from 'node:os';
import type { Worker as NodeWorker } from 'node:worker_threads';
import { JPEG_DECODE_OPTIONS, type RgbImage } from './decode_image.js';

/** The worker's code: read the file, decode it if it is a JPEG, send the pixels back (transferred). */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const jpeg = require(workerData.jpegPath);
parentPort.on('message', ({ id, file }) => {
  try {
    const bytes = fs.readFileSync(file);
    if (!(bytes[0] === 0xff && bytes[1] === 0xd8)) return parentPort.postMessage({ id, handled: false });
    const img = jpeg.decode(bytes, workerData.options);
    parentPort.postMessage({ id, handled: true, width: img.width, height: img.height, data: img.data }, [img.data.buffer]);
  } catch (err) {
    parentPort.postMessage({ id, handled: false });
  }
});
`;

interface Reply {
  id: number;
  handled: boolean;
  width?: number;
  height?: number;
  data?: Uint8Array;
}

/** Decode workers for the current process: one fewer than the cores (at least 1), at most 4. */
export function defaultDecodeWorkers(): number {
  return Math.max(1, Math.min(4, os.cpus().length - 1));
}

function resolveJpegJs(): string {
  // CommonJS builds have `require`; ES modules resolve from this file.
  const req = typeof require === 'function' ? require : createRequire(import.meta.url);
  return req.resolve('jpeg-js');
}

/** A pool of JPEG decode workers. */
export class JpegDecodePool {
  private readonly workers: NodeWorker[];
  private readonly waiting = new Map<number, (r: Reply) => void>();
  private readonly load: number[];
  private nextId = 0;
  private broken = false;

  private constructor(workers: NodeWorker[]) {
    this.workers = workers;
    this.load = workers.map(() => 0);
    workers.forEach((w, k) => {
      w.on('message', (r: Reply) => {
        this.load[k]--;
        const done = this.waiting.get(r.id);
        this.waiting.delete(r.id);
        done?.(r);
      });
      // A worker that dies hands everything back to the main thread.
      w.on('error', () => this.fail());
      w.on('exit', () => this.fail());
    });
  }

  /** Starts `count` workers, or returns null where worker threads are unavailable. */
  static async create(count: number): Promise<JpegDecodePool | null> {
    if (!(count > 0)) return null;
    try {
      const { Worker } = await import('node:worker_threads');
      const workerData = { jpegPath: resolveJpegJs(), options: JPEG_DECODE_OPTIONS };
      const workers = Array.from({ length: count }, () => {
        const w = new Worker(WORKER_SOURCE, { eval: true, workerData });
        w.unref();
        return w;
      });
      return new JpegDecodePool(workers);
    } catch {
      return null;
    }
  }

  /** The decoded JPEG at `file`, or null when it is not a JPEG or cannot be decoded (decode it in this thread). */
  decode(file: string): Promise<RgbImage | null> {
    if (this.broken) return Promise.resolve(null);
    const id = this.nextId++;
    let k = 0;
    for (let i = 1; i < this.load.length; i++) if (this.load[i] < this.load[k]) k = i;
    this.load[k]++;
    return new Promise((resolve) => {
      this.waiting.set(id, (r) => resolve(r.handled ? { width: r.width as number, height: r.height as number, data: r.data as Uint8Array } : null));
      this.workers[k].postMessage({ id, file });
    });
  }

  private fail(): void {
    this.broken = true;
    for (const done of this.waiting.values()) done({ id: -1, handled: false });
    this.waiting.clear();
  }

  /** Stops the workers; pending decodes resolve to null. */
  async close(): Promise<void> {
    this.fail();
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
