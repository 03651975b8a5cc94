/**
 * `runWorker` (and `transferkit worker`): takes trials from a queue fed by a driver's
 * {@link queueExecutor} and runs each in a child process of its own (a crash, a leak or an
 * exhausted wasm heap ends that trial only), with the objective module *this worker* was started
 * with — a job names a trial and its configuration, never code to load, so whoever can write to
 * Redis cannot make a worker import a module of their choosing.
 *
 * Each intermediate report becomes the job's progress; the worker then waits for the driver's
 * decision (see queue_connection.ts) and re-publishes the report every few seconds until it comes,
 * so a restarted driver picks it up. When the driver's heartbeat has been gone for
 * `driverTimeoutMs`, the trial is stopped and put back on the queue for later (it reruns from the
 * start once a driver is back) — a worker never waits forever for a driver that is gone. A worker
 * killed mid-trial (`kill -9`) leaves its job locked until the lock expires (`lockDurationMs`, then up
 * to `stalledIntervalMs` more); any worker's stalled-job check then puts it back on the queue (at
 * most `retries` times, BullMQ `maxStalledCount`) and it runs again from the start. Trials run in
 * their own process group, so a Ctrl-C meant for the worker lets them finish.
 *
 * The same worker embeds feature-extraction shards (`extractFeaturesOnQueue`): its module's
 * `encoder` export (an async function returning a FrozenEncoder, which starts its own backend) is
 * built once per process and kept; each shard's rows go to the shared feature store.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { TransferKitError } from '../errors.js';
import { decodeImageAsync } from '../data/decode_image_node.js';
import { featureCacheKey, readFeatureCache, writeFeatureCache } from '../encoders/feature_cache.js';
import { isFrozenEncoder, type FrozenEncoder } from '../models/frozen_encoder.js';
import type { ShardJobData } from './queue_extract.js';
import { checkName, decisionsKey, fileHash, heartbeatKey, loadBullmq, redisClient, redisConnection, sleep, type TrialJobData, type TrialProgress } from './queue_connection.js';
import { runInChild } from './tune.js';

/** Options of {@link runWorker}. */
export interface WorkerOptions {
  /** Redis URL, e.g. `redis://127.0.0.1:6379`. */
  redis: string;
  /** Queue name (the driver's `queue`). */
  queue: string;
  /** The module this worker runs (.js/.mjs, or .ts through tsx): its objective export for trials, its encoder export for extraction shards; jobs name only the export. */
  module: string;
  /** Trials at once in this worker (default 1: one per process keeps timings honest). */
  concurrency?: number;
  /** How long a job's lock lasts without renewal: a killed worker's trial is rerun after about this long (default 30000, BullMQ's). */
  lockDurationMs?: number;
  /** How often this worker looks for stalled jobs (default: `lockDurationMs`). */
  stalledIntervalMs?: number;
  /** Times a trial whose worker died is put back on the queue before it is recorded as failed (BullMQ `maxStalledCount`; default 1). */
  retries?: number;
  /** Put a trial back on the queue when the driver's heartbeat has been gone this long (default 60000 ms). */
  driverTimeoutMs?: number;
  /** Key prefix (default `'tk'`, as the driver's). */
  prefix?: string;
  /** Stops taking trials and closes when aborted (running trials are finished first). */
  signal?: AbortSignal;
  /** Called when this worker has embedded a feature-extraction shard (not when the store had it). */
  onShard?: (event: { key: string; rows: number; seconds: number }) => void;
  /** Called when a trial starts and ends. */
  onTrial?: (event: { type: 'start' | 'end'; trialId: number; value?: number; error?: string }) => void;
}

/** A running worker. */
export interface QueueWorker {
  /** Stops taking trials, waits for the running ones, closes the connections. */
  close(): Promise<void>;
  /** Resolves when the worker has closed. */
  closed: Promise<void>;
}

/** Starts a worker (see module doc). */
export async function runWorker(options: WorkerOptions): Promise<QueueWorker> {
  const queueName = checkName('queue', options.queue);
  const prefix = checkName('prefix', options.prefix ?? 'tk');
  const file = path.resolve(options.module);
  if (!fs.existsSync(file)) throw new TransferKitError('E_IO_NOT_FOUND', `runWorker: objective module ${file} does not exist. Pass the module exporting the study's objective (the driver's jobs name only its export).`);
  const concurrency = options.concurrency ?? 1;
  const lockDuration = options.lockDurationMs ?? 30_000;
  const retries = options.retries ?? 1;
  for (const [k, v] of Object.entries({ concurrency, lockDurationMs: lockDuration })) {
    if (!(Number.isInteger(v) && v >= 1)) throw new TransferKitError('E_BAD_OPTION', `runWorker: ${k} must be an integer >= 1. Received: ${k}=${v}.`);
  }
  if (!(Number.isInteger(retries) && retries >= 0)) throw new TransferKitError('E_BAD_OPTION', `runWorker: retries must be an integer >= 0. Received: retries=${retries}.`);
  const driverTimeout = options.driverTimeoutMs ?? 60_000;
  const moduleHash = fileHash(file);
  const connection = redisConnection(options.redis);
  const { Worker, DelayedError, UnrecoverableError } = await loadBullmq();
  const redis = await redisClient(connection);
  let stopping = false;
  const driverAlive = async (study: string): Promise<boolean> => (await redis.exists(heartbeatKey(prefix, queueName, study))) === 1;

  // Encoders are built once per process (loading weights is the expensive part), per export name.
  const encoders = new Map<string, Promise<FrozenEncoder>>();
  const encoderFor = (exportName: string): Promise<FrozenEncoder> => {
    let e = encoders.get(exportName);
    if (e === undefined) {
      e = (import(pathToFileURL(file).href) as Promise<Record<string, unknown>>).then(async (mod) => {
        const make = mod[exportName] ?? (mod.default as Record<string, unknown> | undefined)?.[exportName];
        if (typeof make !== 'function') throw new UnrecoverableError(`${file} exports no function named '${exportName}' (an async function returning the frozen encoder).`);
        const enc: unknown = await (make as () => Promise<unknown>)();
        if (!isFrozenEncoder(enc)) throw new UnrecoverableError(`${file}'s '${exportName}' did not return a frozen encoder (loadOnnxEncoder, textEncoder or imageEncoder build one).`);
        return enc;
      });
      e.catch(() => encoders.delete(exportName));
      encoders.set(exportName, e);
    }
    return e;
  };
  const embedShard = async (d: ShardJobData): Promise<number> => {
    const enc = await encoderFor(d.exportName);
    if (enc.fingerprint !== d.fingerprint) throw new UnrecoverableError(`shard ${d.key}: this worker's encoder '${enc.id}' (fingerprint ${enc.fingerprint.slice(0, 12)}) is not the driver's (${d.fingerprint.slice(0, 12)}): other weights or files.`);
    const { key, inputs: digest } = featureCacheKey(enc, d.inputs);
    if (key !== d.key) throw new UnrecoverableError(`shard ${d.key}: its inputs hash to ${key} on this worker: the files differ from the driver's.`);
    if ((await readFeatureCache(d.cacheDir, key, enc, d.inputs.length)) !== null) return d.inputs.length; // another worker embedded it
    const t0 = performance.now();
    const out = new Float32Array(d.inputs.length * enc.dim);
    for (let i = 0; i < d.inputs.length; i += d.batchSize) {
      const batch = d.inputs.slice(i, i + d.batchSize);
      const xs = enc.modality === 'image' ? await Promise.all(batch.map(async (p) => decodeImageAsync(await fs.promises.readFile(p), p))) : batch;
      const r = await enc.encode(xs);
      if (r.length !== batch.length * enc.dim) throw new TransferKitError('E_MODEL_TOPOLOGY', `Encoder '${enc.id}' returned ${r.length} values for ${batch.length} inputs; expected ${batch.length} x ${enc.dim}.`);
      out.set(r, i * enc.dim);
    }
    await writeFeatureCache(d.cacheDir, key, enc, digest, out);
    options.onShard?.({ key, rows: d.inputs.length, seconds: (performance.now() - t0) / 1000 });
    return d.inputs.length;
  };

  let worker: InstanceType<typeof Worker<TrialJobData | ShardJobData, number>>;
  try {
    worker = new Worker<TrialJobData | ShardJobData, number>(
      queueName,
      async (job, token) => {
        if (job.name === 'extract') return embedShard(job.data as unknown as ShardJobData);
        const d = job.data as TrialJobData;
        if (d.moduleHash !== undefined && d.moduleHash !== moduleHash) {
          throw new UnrecoverableError(`trial ${d.trialId}: this worker runs ${file} (sha256 ${moduleHash}), the study expects another module (sha256 ${d.moduleHash}). One queue per objective module.`);
        }
        // No driver to decide the reports: leave the trial for later rather than run it blind.
        const later = async (): Promise<never> => {
          await job.moveToDelayed(Date.now() + 5_000, token);
          throw new DelayedError();
        };
        if (!(await driverAlive(d.study))) return later();
        const key = decisionsKey(prefix, queueName, d.study, d.trialId);
        const trial = new AbortController();
        let driverGone = false;
        options.onTrial?.({ type: 'start', trialId: d.trialId });
        const report = async (step: number, value: number): Promise<boolean> => {
          const progress: TrialProgress = { step, value };
          await job.updateProgress(progress);
          // Wait for the driver's decision; re-publish now and then for a driver that restarted.
          let lastSeen = Date.now();
          for (let waited = 100; !trial.signal.aborted; waited += 100) {
            await sleep(100);
            const v = await redis.hget(key, String(step));
            if (v !== null) return (JSON.parse(v) as { go: boolean }).go;
            if (waited % 5000 === 0) {
              if (await driverAlive(d.study)) lastSeen = Date.now();
              else if (Date.now() - lastSeen > driverTimeout) {
                driverGone = true;
                trial.abort(new Error(`trial ${d.trialId}: no driver for ${Math.round(driverTimeout / 1000)} s`));
                return false;
              }
              await job.updateProgress(progress);
            }
          }
          return false;
        };
        try {
          const value = await runInChild({ module: file, exportName: d.exportName }, d.config, d.trialId, report, d.trialTimeoutS, { detached: true, signal: trial.signal });
          options.onTrial?.({ type: 'end', trialId: d.trialId, value });
          return value;
        } catch (err) {
          if (driverGone) {
            options.onTrial?.({ type: 'end', trialId: d.trialId, error: 'put back on the queue: no driver' });
            return later();
          }
          options.onTrial?.({ type: 'end', trialId: d.trialId, error: (err as Error).message });
          throw err;
        } finally {
          // Stops a report loop still polling for a trial that has ended.
          trial.abort();
        }
      },
      { connection, prefix, concurrency, lockDuration, stalledInterval: options.stalledIntervalMs ?? lockDuration, maxStalledCount: retries },
    );
  } catch (err) {
    await redis.quit().catch(() => undefined);
    throw err;
  }
  // A lost connection is retried by the client; BullMQ reports it here instead of crashing the process.
  worker.on('error', (err) => {
    if (!stopping) console.error(`[transferkit worker] ${err.message}`);
  });
  let markClosed: () => void = () => undefined;
  const closed = new Promise<void>((resolve) => {
    markClosed = resolve;
    worker.once('closed', () => resolve());
  });
  const close = async (): Promise<void> => {
    stopping = true;
    try {
      await worker.close();
    } finally {
      await redis.quit().catch(() => undefined);
      markClosed(); // also when BullMQ's close failed: the process can still end
    }
  };
  // A failure while closing is reported, not left as an unhandled rejection (which would end the
  // process with code 1 after its trials were handed back cleanly).
  options.signal?.addEventListener('abort', () => void close().catch((err: unknown) => console.error(`[transferkit worker] while closing: ${(err as Error).message}`)), { once: true });
  try {
    await worker.waitUntilReady();
  } catch (err) {
    await close();
    throw err;
  }
  return { close, closed };
}
