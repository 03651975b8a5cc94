/**
 * The on-disk embedding cache of {@link extractFeatures}: one file of float32 rows per (encoder,
 * inputs) pair, keyed by SHA-256 of the encoder's fingerprint (weights, tokenizer/processor files,
 * pooling, truncation) and of the inputs' content, so a second run, a second head or a second
 * hyperparameter trial reads the rows instead of running the encoder, and any change to the files,
 * the preprocessing or the data computes afresh. Files are written to a temporary name and renamed
 * (a crash never leaves a half-written entry), and the metadata carries the SHA-256 of the matrix:
 * a file overwritten with other bytes of the right size (a second tool sharing the folder, a
 * bad disk) is a miss, not silently wrong features. Node only.
 */
import { createHash } from 'node:crypto';
import { promises as fs, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { TransferKitError } from '../errors.js';
import type { EncoderInput, FrozenEncoder } from '../models/frozen_encoder.js';

/** The metadata stored beside each cached matrix. */
export interface FeatureCacheEntry {
  version: 1;
  encoder: string;
  fingerprint: string;
  inputs: string;
  rows: number;
  dim: number;
  /** SHA-256 of the `.f32` file's bytes; checked on every read. */
  sha256: string;
  created: string;
}

function readInput(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new TransferKitError('E_DATA', `extractFeatures: cannot read the image ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}). Check the path, or pass decoded images instead of paths.`, { cause: err });
  }
}

/** SHA-256 of the inputs' content (texts as UTF-8; images as size + pixels; image paths as the file's bytes). */
export function inputsDigest(inputs: readonly EncoderInput[], modality: FrozenEncoder['modality']): string {
  const h = createHash('sha256');
  for (const x of inputs) {
    if (typeof x === 'string') {
      const bytes = modality === 'image' ? readInput(x) : Buffer.from(x, 'utf8');
      h.update(`${modality === 'image' ? 'f' : 't'}${bytes.byteLength}:`);
      h.update(bytes);
    } else {
      h.update(`i${x.width}x${x.height}:`);
      h.update(x.data);
    }
  }
  return h.digest('hex');
}

/** The cache key of `inputs` under `encoder`. */
export function featureCacheKey(encoder: FrozenEncoder, inputs: readonly EncoderInput[]): { key: string; inputs: string } {
  const digest = inputsDigest(inputs, encoder.modality);
  const key = createHash('sha256').update(`${encoder.fingerprint}\n${digest}\n${inputs.length}`).digest('hex').slice(0, 32);
  return { key, inputs: digest };
}

/** The cached rows for `key`, or null when absent or not matching (wrong size, other encoder). */
export async function readFeatureCache(dir: string, key: string, encoder: FrozenEncoder, rows: number): Promise<Float32Array | null> {
  const meta = path.join(dir, `${key}.json`);
  let entry: FeatureCacheEntry;
  try {
    entry = JSON.parse(await fs.readFile(meta, 'utf8')) as FeatureCacheEntry;
  } catch {
    return null;
  }
  if (typeof entry !== 'object' || entry === null || entry.version !== 1 || typeof entry.sha256 !== 'string' || entry.fingerprint !== encoder.fingerprint || entry.rows !== rows || entry.dim !== encoder.dim) return null;
  let buf: Buffer;
  try {
    buf = await fs.readFile(path.join(dir, `${key}.f32`));
  } catch {
    return null;
  }
  if (buf.byteLength !== rows * encoder.dim * 4) return null;
  if (createHash('sha256').update(buf).digest('hex') !== entry.sha256) return null;
  const out = new Float32Array(rows * encoder.dim);
  new Uint8Array(out.buffer).set(buf);
  return out;
}

async function writeAtomically(file: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  try {
    await fs.writeFile(tmp, data);
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
}

/** Stores `values` under `key` (matrix first, metadata last: an entry exists only when both do). */
export async function writeFeatureCache(dir: string, key: string, encoder: FrozenEncoder, inputs: string, values: Float32Array): Promise<string> {
  await fs.mkdir(dir, { recursive: true });
  const file = path.join(dir, `${key}.f32`);
  const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  await writeAtomically(file, bytes);
  const entry: FeatureCacheEntry = {
    version: 1,
    encoder: encoder.id,
    fingerprint: encoder.fingerprint,
    inputs,
    rows: values.length / encoder.dim,
    dim: encoder.dim,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    created: new Date().toISOString(),
  };
  await writeAtomically(path.join(dir, `${key}.json`), JSON.stringify(entry, null, 2));
  return file;
}
