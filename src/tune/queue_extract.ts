/**
 * `extractFeaturesOnQueue`: {@link extractFeatures} over a large input set, split into shards that
 * `transferkit worker` processes embed in parallel (on any number of hosts), through the same BullMQ
 * queue as trials.
 *
 * The shards meet in the content-addressed feature store (feature_cache.ts): a shard's key is the
 * SHA-256 of the encoder's fingerprint and of the shard's inputs, so the driver first reads every
 * shard already stored (by an earlier run, another study, another driver) and enqueues only the
 * missing ones; each worker embeds its shard with the encoder *its* module builds (a job never names
 * code), checks that the fingerprint and the shard's key match the driver's (same weights, same
 * files), and writes the rows atomically to the store; the driver reads them back and assembles the
 * rows in input order. The job id is the shard's key: the same shard asked twice is embedded once.
 *
 * The store here is a folder every worker and the driver reach (a shared volume). What a store must
 * provide — `read(key, rows) → rows | null` and an atomic `write(key, rows)` with a checksum — is the
 * seam an object store (S3, GCS) would fill.
 */
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { TransferKitError } from '../errors.js';
import { featureCacheKey, readFeatureCache } from '../encoders/feature_cache.js';
import { defaultCacheDir } from '../io/download.js';
import type { FrozenEncoder } from '../models/frozen_encoder.js';
import { checkName, loadBullmq, redisConnection, sleep } from './queue_connection.js';

/** The job a shard travels as. */
export interface ShardJobData {
  /** The shard's cache key (also its job id). */
  key: string;
  /** Texts, or image file paths every worker can read. */
  inputs: string[];
  /** The driver's encoder fingerprint: a worker whose encoder differs refuses the shard. */
  fingerprint: string;
  exportName: string;
  cacheDir: string;
  batchSize: number;
}

/** Options of {@link extractFeaturesOnQueue}. */
export interface QueueExtractionOptions {
  /** Redis URL, e.g. `redis://127.0.0.1:6379`. */
  redis: string;
  /** Queue name (the workers' `--queue`). */
  queue: string;
  /** The export of the workers' module that builds the encoder (default `'encoder'`; an async function returning a FrozenEncoder). */
  exportName?: string;
  /** Inputs per shard (default 256). */
  shardSize?: number;
  /** Inputs per encoder call in the workers (default 32). */
  batchSize?: number;
  /** The feature store: a folder the driver and every worker reach (default: the transferkit cache's `features` folder). */
  cacheDir?: string;
  /** Runs of a shard whose worker threw (default 2). */
  attempts?: number;
  /** How often the driver polls (default 200 ms). */
  pollMs?: number;
  /** Key prefix (default `'tk'`). */
  prefix?: string;
  /** Called as shards complete. */
  onShard?: (event: { index: number; shards: number; fromCache: boolean }) => void;
}

/** What {@link extractFeaturesOnQueue} returns. */
export interface QueueExtraction {
  /** [N, dim] embeddings, row i for input i (the caller disposes it). */
  features: tf.Tensor2D;
  shards: number;
  /** Shards read from the store without running anything. */
  fromCache: number;
  /** Shards embedded by workers in this call. */
  computed: number;
  seconds: number;
}

/**
 * Embeds `inputs` (texts, or image paths) with the workers' encoder, shard by shard (see module
 * doc). `encoder` is this process's instance of the same encoder: it gives the fingerprint and the
 * width, and is not run.
 */
export async function extractFeaturesOnQueue(encoder: FrozenEncoder, inputs: readonly string[], options: QueueExtractionOptions): Promise<QueueExtraction> {
  const queueName = checkName('queue', options.queue);
  const prefix = checkName('prefix', options.prefix ?? 'tk');
  const shardSize = options.shardSize ?? 256;
  const batchSize = options.batchSize ?? 32;
  const attempts = options.attempts ?? 2;
  const pollMs = options.pollMs ?? 200;
  for (const [k, v] of Object.entries({ shardSize, batchSize, attempts })) {
    if (!(Number.isInteger(v) && v >= 1)) throw new TransferKitError('E_BAD_OPTION', `extractFeaturesOnQueue: ${k} must be an integer >= 1. Received: ${k}=${v}.`);
  }
  if (!(pollMs > 0)) throw new TransferKitError('E_BAD_OPTION', `extractFeaturesOnQueue: pollMs must be > 0. Received: pollMs=${pollMs}.`);
  if (inputs.length === 0) throw new TransferKitError('E_DATA', `extractFeaturesOnQueue: no inputs to embed with '${encoder.id}'.`);
  const bad = inputs.findIndex((x) => typeof x !== 'string');
  if (bad >= 0) throw new TransferKitError('E_DATA', `extractFeaturesOnQueue: input ${bad} is not a string; shards travel as texts or image file paths (decoded images stay in this process: use extractFeatures).`);
  const cacheDir = path.resolve(options.cacheDir ?? path.join(defaultCacheDir(), 'features'));
  const t0 = performance.now();
  const shards = Array.from({ length: Math.ceil(inputs.length / shardSize) }, (_, i) => inputs.slice(i * shardSize, (i + 1) * shardSize));
  const keys = shards.map((s) => featureCacheKey(encoder, s).key);
  const rows: (Float32Array | null)[] = await Promise.all(shards.map((s, i) => readFeatureCache(cacheDir, keys[i], encoder, s.length)));
  const fromCache = rows.filter((r) => r !== null).length;
  rows.forEach((r, i) => r !== null && options.onShard?.({ index: i, shards: shards.length, fromCache: true }));
  const missing = rows.flatMap((r, i) => (r === null ? [i] : []));
  if (missing.length > 0) {
    const connection = redisConnection(options.redis);
    const { Queue, Job } = await loadBullmq();
    const queue = new Queue<ShardJobData>(queueName, { connection, prefix });
    queue.on('error', () => undefined);
    try {
      const job = (i: number) => ({
        name: 'extract',
        data: { key: keys[i], inputs: shards[i], fingerprint: encoder.fingerprint, exportName: options.exportName ?? 'encoder', cacheDir, batchSize },
        opts: { jobId: `x-${keys[i]}`, attempts, removeOnComplete: false, removeOnFail: false },
      });
      await queue.addBulk(missing.map(job));
      // An id that already existed keeps its old job: a failed one (fixed since?) or a completed one
      // whose rows are gone must run again; one writing to another store is refused.
      for (const i of missing) {
        const old = await Job.fromId<ShardJobData>(queue, `x-${keys[i]}`);
        if (old === undefined) continue;
        if (old.data.cacheDir !== cacheDir) {
          throw new TransferKitError('E_BAD_OPTION', `extractFeaturesOnQueue: shard ${i} is already queued by another driver writing to ${old.data.cacheDir}, not ${cacheDir}. Use the same cacheDir (a shared folder), or wait for that run.`);
        }
        const state = await old.getState();
        if (state === 'failed' || (state === 'completed' && (await readFeatureCache(cacheDir, keys[i], encoder, shards[i].length)) === null)) {
          await old.remove();
          const again = job(i);
          await queue.add(again.name, again.data, again.opts);
        }
      }
      const pending = new Set(missing);
      while (pending.size > 0) {
        for (const i of [...pending]) {
          const job = await Job.fromId(queue, `x-${keys[i]}`);
          const state = job === undefined ? 'missing' : await job.getState();
          if (state === 'failed') {
            const failed = await Job.fromId(queue, `x-${keys[i]}`);
            const reason = failed?.failedReason ?? 'unknown';
            // Not left behind: a rerun after the cause is fixed must embed the shard again.
            await failed?.remove().catch(() => undefined);
            throw new TransferKitError('E_DATA', `extractFeaturesOnQueue: shard ${i} (inputs ${i * shardSize}–${i * shardSize + shards[i].length - 1}) failed on a worker: ${reason}`);
          }
          // Completed (or already cleaned up by another driver): the rows are in the store.
          if (state === 'completed' || state === 'missing') {
            const r = await readFeatureCache(cacheDir, keys[i], encoder, shards[i].length);
            if (r === null) {
              if (state === 'missing') throw new TransferKitError('E_DATA', `extractFeaturesOnQueue: shard ${i}'s job vanished from queue '${queueName}' and its rows are not in ${cacheDir}.`);
              throw new TransferKitError('E_DATA', `extractFeaturesOnQueue: a worker finished shard ${i} but its rows are not in ${cacheDir}. The driver and the workers must share that folder (pass the same cacheDir, on a shared volume).`);
            }
            rows[i] = r;
            pending.delete(i);
            await job?.remove().catch(() => undefined);
            options.onShard?.({ index: i, shards: shards.length, fromCache: false });
          }
        }
        if (pending.size > 0) await sleep(pollMs);
      }
    } finally {
      await queue.close();
    }
  }
  const out = new Float32Array(inputs.length * encoder.dim);
  rows.forEach((r, i) => out.set(r as Float32Array, i * shardSize * encoder.dim));
  return { features: tf.tensor2d(out, [inputs.length, encoder.dim]), shards: shards.length, fromCache, computed: missing.length, seconds: (performance.now() - t0) / 1000 };
}
