/**
 * Activation caching on disk, for data sets whose frozen-prefix outputs do not fit in memory
 * (beyond the anchors: Keras and PyTorch recompute the frozen layers every epoch instead).
 *
 * The prefix runs once over the data in batches; each batch's outputs (and, with flips, the
 * mirrored images' outputs) are appended to a temporary file of float32 rows. A training step
 * reads its rows with positioned reads, so memory holds one batch at a time. Node only (node:fs);
 * the files are deleted when the stage ends (and by the OS temp cleaner if the process dies).
 */
import * as fs from 'node:fs';
import { writeFullySync } from '../io/_write_fully.js';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { runLayers } from './graph_executor.js';

/** Rows of a frozen prefix's outputs in files. */
export interface DiskCache {
  dir: string;
  rowShape: number[];
  rowFloats: number;
  plainFd: number;
  flippedFd: number | null;
}

async function writeRows(fd: number, t: tf.Tensor): Promise<void> {
  const v = (await t.data()) as Float32Array;
  writeFullySync(fd, new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
}

/** Computes the prefix outputs of `xs` (and their mirrors when `withFlip`) into files under `parent`. */
export async function computeDiskCache(model: tfl.LayersModel, from: number, xs: tf.Tensor, withFlip: boolean, batchSize: number, parent = os.tmpdir()): Promise<DiskCache> {
  const dir = fs.mkdtempSync(path.join(parent, 'transferkit-cache-'));
  const plainFd = fs.openSync(path.join(dir, 'plain.f32'), 'w+');
  const flippedFd = withFlip ? fs.openSync(path.join(dir, 'flipped.f32'), 'w+') : null;
  let rowShape: number[] = [];
  try {
    for (let i = 0; i < xs.shape[0]; i += batchSize) {
      const b = Math.min(batchSize, xs.shape[0] - i);
      for (const [fd, flip] of [[plainFd, false], [flippedFd, true]] as const) {
        if (fd === null) continue;
        const out = tf.tidy(() => {
          let x = tf.slice(xs, i, b);
          if (flip) x = tf.reverse(x, 2);
          return runLayers(model, 0, x, from, false);
        });
        rowShape = out.shape.slice(1);
        await writeRows(fd, out);
        out.dispose();
      }
    }
  } catch (err) {
    disposeDiskCache({ dir, rowShape, rowFloats: 0, plainFd, flippedFd });
    throw err;
  }
  return { dir, rowShape, rowFloats: rowShape.reduce((a, c) => a * c, 1), plainFd, flippedFd };
}

/** The rows `idx` (mirrored where `flips[k]`), as one tensor [idx.length, ...rowShape]. */
export function readRows(cache: DiskCache, idx: Int32Array, flips: boolean[] | null): tf.Tensor {
  const out = new Float32Array(idx.length * cache.rowFloats);
  const rowBytes = cache.rowFloats * 4;
  const bytes = new Uint8Array(out.buffer);
  idx.forEach((row, k) => {
    const fd = flips?.[k] === true && cache.flippedFd !== null ? cache.flippedFd : cache.plainFd;
    fs.readSync(fd, bytes, k * rowBytes, rowBytes, row * rowBytes);
  });
  return tf.tensor(out, [idx.length, ...cache.rowShape]);
}

/** Closes and deletes the cache files. */
export function disposeDiskCache(cache: DiskCache | null): void {
  if (cache === null) return;
  for (const fd of [cache.plainFd, cache.flippedFd]) if (fd !== null) fs.closeSync(fd);
  fs.rmSync(cache.dir, { recursive: true, force: true });
}
