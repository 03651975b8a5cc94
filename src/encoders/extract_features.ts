/**
 * `extractFeatures`: run a frozen encoder over a data set in batches and return the embedding
 * matrix — the first half of feature-extraction transfer learning (the second is a head trained on
 * the rows). In Node the rows are cached on disk (see feature_cache.ts), so repeated runs cost a
 * file read. Also the input of DomainAdapter's CORAL/MMD on frozen features, and of kNN baselines.
 */
import * as tf from '@tensorflow/tfjs-core';
import { TransferKitError } from '../errors.js';
import type { EncoderInput, FrozenEncoder } from '../models/frozen_encoder.js';
import { ensureBackend } from '../backends/backend.js';

/** Options of {@link extractFeatures}. */
export interface ExtractFeaturesOptions {
  /** Inputs per encoder call (default 32). */
  batchSize?: number;
  /**
   * Node: `true` (default) caches under `<transferkit cache>/features`, a string caches in that
   * folder, `false` never caches. Browsers: ignored (no cache).
   */
  cache?: boolean | string;
  /** `'auto'` (default: a bar on a TTY), `'bar'`, `'silent'`, or a function of (done, total). */
  progress?: 'auto' | 'bar' | 'silent' | ((done: number, total: number) => void);
}

/** What {@link extractFeatures} returns. */
export interface ExtractedFeatures {
  /** [N, dim] float32 embeddings, row i for input i (the caller disposes it). */
  features: tf.Tensor2D;
  /** True when the rows came from the cache (the encoder did not run). */
  fromCache: boolean;
  /** The cache file (Node, cache on), else null. */
  cacheFile: string | null;
  /** Wall-clock seconds (encoding or reading). */
  seconds: number;
  /** Inputs encoded per second (0 on a cache hit). */
  perSecond: number;
}

const isNode = (): boolean => typeof process !== 'undefined' && typeof process.versions?.node === 'string';

function progressSink(option: ExtractFeaturesOptions['progress'], id: string): ((done: number, total: number) => void) | null {
  if (typeof option === 'function') return option;
  if (option === 'silent' || !isNode()) return null;
  const err = process.stderr;
  if (option !== 'bar' && err.isTTY !== true) return null;
  const t0 = Date.now();
  return (done, total) => {
    const width = 24;
    const k = Math.round((width * done) / total);
    const rate = done / Math.max((Date.now() - t0) / 1000, 1e-3);
    const eta = (total - done) / Math.max(rate, 1e-9);
    err.write(`\rembedding [${'='.repeat(k)}${' '.repeat(width - k)}] ${done}/${total} ${rate.toFixed(1)}/s ETA ${eta.toFixed(0)} s (${id})${done === total ? '\n' : ''}`);
  };
}

/**
 * Embeds every input with the frozen `encoder`, in batches, using the on-disk cache when on.
 *
 * @example
 * ```ts
 * const { features, fromCache } = await extractFeatures(encoder, texts, { batchSize: 64 });
 * ```
 */
export async function extractFeatures(encoder: FrozenEncoder, inputs: readonly EncoderInput[], options: ExtractFeaturesOptions = {}): Promise<ExtractedFeatures> {
  await ensureBackend();
  const batchSize = options.batchSize ?? 32;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new TransferKitError('E_BAD_OPTION', `extractFeatures: batchSize must be an integer >= 1. Received: batchSize=${batchSize}.`);
  if (inputs.length === 0) throw new TransferKitError('E_DATA', `extractFeatures: no inputs to embed with '${encoder.id}'.`);
  const t0 = performance.now();
  const useCache = isNode() && options.cache !== false;
  let cache: { dir: string; key: string; inputs: string; mod: typeof import('./feature_cache.js') } | null = null;
  if (useCache) {
    const mod = await import('./feature_cache.js');
    const path = await import('node:path');
    const { defaultCacheDir } = await import('../io/download.js');
    const dir = typeof options.cache === 'string' ? options.cache : path.join(defaultCacheDir(), 'features');
    const { key, inputs: digest } = mod.featureCacheKey(encoder, inputs);
    cache = { dir, key, inputs: digest, mod };
    const hit = await mod.readFeatureCache(dir, key, encoder, inputs.length);
    if (hit !== null) {
      const seconds = (performance.now() - t0) / 1000;
      return { features: tf.tensor2d(hit, [inputs.length, encoder.dim]), fromCache: true, cacheFile: path.join(dir, `${key}.f32`), seconds, perSecond: 0 };
    }
  }
  const out = new Float32Array(inputs.length * encoder.dim);
  const report = progressSink(options.progress ?? 'auto', encoder.id);
  for (let i = 0; i < inputs.length; i += batchSize) {
    const batch = inputs.slice(i, i + batchSize);
    const rows = await encoder.encode(batch);
    if (rows.length !== batch.length * encoder.dim) {
      throw new TransferKitError('E_MODEL_TOPOLOGY', `Encoder '${encoder.id}' returned ${rows.length} values for ${batch.length} inputs; expected ${batch.length} x ${encoder.dim}.`);
    }
    out.set(rows, i * encoder.dim);
    report?.(Math.min(i + batchSize, inputs.length), inputs.length);
  }
  const seconds = (performance.now() - t0) / 1000;
  let cacheFile: string | null = null;
  if (cache !== null) {
    try {
      cacheFile = await cache.mod.writeFeatureCache(cache.dir, cache.key, encoder, cache.inputs, out);
    } catch (err) {
      // The rows are computed and correct; an unusable cache folder (read-only, a file in the way,
      // a full disk) costs the next run a recomputation, not this run its result.
      console.warn(`[transferkit] extractFeatures: could not write the feature cache in ${cache.dir} (${(err as Error).message}); the features are returned uncached. Pass cache: false or a writable folder to silence this.`);
    }
  }
  return { features: tf.tensor2d(out, [inputs.length, encoder.dim]), fromCache: false, cacheFile, seconds, perSecond: inputs.length / Math.max(seconds, 1e-9) };
}
