/**
 * JPEG decoding in worker threads (Node), so image batches are decoded while the current batch
 * trains: TF.js runs its kernels on the main thread, and jpeg-js decoding there (~10–20 ms per
 * photo) would otherwise sit on the training loop's critical path, as torchvision's `DataLoader`
 * workers and `tf.data`'s `prefetch` keep it off theirs.
 *
 * Workers decode with the same jpeg-js build and options as `decodeImage`, so the pixels are
 * identical. Only JPEG goes to the workers (the common, costly case); anything else — PNG, WebP,
 * GIF, a corrupt file — comes back unhandled and the caller decodes it on the main thread, where
 * its usual error is raised. So does a JPEG whose frame header (SOF) declares more pixels than the
 * limit (`maxImagePixels`, or the `maxPixels` of `decode`): the worker reads the size before
 * decoding and hands the file back, and the main thread refuses it with `E_LIMIT` from the header
 * alone. Workers are unref'd: an idle pool never keeps a script alive.
 */
import { createRequire } from 'node:module';
import * as os from 'node:os';
import type { Worker as NodeWorker } from 'node:worker_threads';
import { inputLimits } from '../utils/limits.js';
import { JPEG_DECODE_OPTIONS, type RgbImage } from './decode_image.js';

/**
 * The worker's code: read the file; if it is a JPEG whose SOF declares at most `maxPixels` pixels
 * (the marker walk of `jpegSize` in decode_image.ts), decode it and send the pixels back
 * (transferred). Anything else is handed back to the main thread.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const jpeg = require(workerData.jpegPath);
function declaredPixels(b) {
  let at = 2;
  while (at + 4 <= b.length && b[at] === 0xff) {
    const m = b[at + 1];
    if (m === 0xff) { at += 1; continue; }
    if (m === 0xd8 || m === 0x01 || (m >= 0xd0 && m <= 0xd7)) { at += 2; continue; }
    if (m === 0xd9 || m === 0xda) return null;
    if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) {
      return at + 9 <= b.length ? ((b[at + 5] << 8) | b[at + 6]) * ((b[at + 7] << 8) | b[at + 8]) : null;
    }
    const length = (b[at + 2] << 8) | b[at + 3];
    if (length < 2) return null;
    at += 2 + length;
  }
  return null;
}
parentPort.on('message', ({ id, file, maxPixels }) => {
  try {
    const bytes = fs.readFileSync(file);
    if (!(bytes[0] === 0xff && bytes[1] === 0xd8)) return parentPort.postMessage({ id, handled: false });
    // Unknown or over the limit: the main thread reads the header again and raises the coded error.
    const pixels = declaredPixels(bytes);
    if (pixels === null || pixels > maxPixels) return parentPort.postMessage({ id, handled: false });
    const img = jpeg.decode(bytes, { ...workerData.options, maxResolutionInMP: maxPixels / 1e6 });
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
  // From this file: tsup's shim gives CommonJS builds `import.meta.url`. Not `require`: ES builds
  // have esbuild's `__require` stub there, a function without `resolve`.
  return createRequire(import.meta.url).resolve('jpeg-js');
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

  /**
   * The decoded JPEG at `file`, or null when it is not a JPEG, cannot be decoded, or declares
   * more than `maxPixels` pixels (default: the `maxImagePixels` limit): decode it in this thread,
   * which raises the error.
   */
  decode(file: string, maxPixels = inputLimits().maxImagePixels): Promise<RgbImage | null> {
    if (this.broken) return Promise.resolve(null);
    const id = this.nextId++;
    let k = 0;
    for (let i = 1; i < this.load.length; i++) if (this.load[i] < this.load[k]) k = i;
    this.load[k]++;
    return new Promise((resolve) => {
      this.waiting.set(id, (r) => resolve(r.handled ? { width: r.width as number, height: r.height as number, data: r.data as Uint8Array } : null));
      this.workers[k].postMessage({ id, file, maxPixels });
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
