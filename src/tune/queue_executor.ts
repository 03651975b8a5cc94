/**
 * `queueExecutor`: runs `tune`'s trials on any number of worker processes, on any number of hosts,
 * through a BullMQ queue on Redis (Node's established job engine; the optional peers `bullmq` and
 * `ioredis`). This process stays the *driver*: it enqueues each trial as a job, decides every
 * intermediate report with the study's strategy (ASHA) and records results in the study folder,
 * which remains the source of truth for resume. Workers: `transferkit worker` / {@link runWorker}.
 *
 * Why the driver decides (and not a Lua script per rung in Redis): ASHA's rung records then live in
 * one process, where one event loop serialises their updates — no distributed lock, the same code as
 * the in-process executor, and the same decisions for the same order of reports.
 *
 * Faults (see `docs/scale.md`): a worker killed mid-trial loses its job lock; another worker's
 * stalled-job check puts the job back and reruns it (BullMQ `maxStalledCount`, the worker's
 * `retries`), and the rerun's reports of steps already decided get the recorded decision — never a
 * second vote in the rungs. A restarted driver reattaches to the jobs of unfinished trials and
 * replays their recorded decisions; a trial that finished while it was down is recorded from its
 * job without running again; while it is down, workers put their trials back on the queue after
 * `driverTimeoutMs` instead of waiting forever. Redis restarts are absorbed by the client's
 * reconnects (run Redis with persistence, `appendonly yes`, or the queue is lost with it).
 * Jobs and decisions of a study are removed once every trial is recorded.
 */
import { randomBytes, createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TransferKitError } from '../errors.js';
import { checkName, configHash, decisionsKey, fileHash, heartbeatKey, jobId, loadBullmq, redisClient, redisConnection, reportedNumber, sleep, type TrialJobData, type TrialProgress } from './queue_connection.js';
import type { TrialConfig } from './space.js';
import type { StudyInfo, TrialExecutor, TrialReport } from './tune.js';

/** Options of {@link queueExecutor}. */
export interface QueueExecutorOptions {
  /** Redis URL, e.g. `redis://127.0.0.1:6379`. */
  redis: string;
  /** Queue name (the workers' `--queue`). One queue per objective module: every worker on it runs its own `--module`. */
  queue: string;
  /** Study name, the readable part of the job ids (default `'study'`). */
  study?: string;
  /** The objective's export name in the workers' module (default `'objective'`). */
  exportName?: string;
  /** The objective module the workers should run: its SHA-256 travels with each job and a worker running other code refuses the trial. */
  module?: string;
  /** Kill a trial after this many seconds (recorded as failed). */
  trialTimeoutS?: number;
  /** Runs of a trial whose objective threw (BullMQ `attempts`; default 1: a throw is a failed trial). */
  attempts?: number;
  /** How often the driver polls its jobs (default 200 ms). */
  pollMs?: number;
  /** Key prefix of the queue and the decisions (default `'tk'`). */
  prefix?: string;
  /** Warn on stderr when a trial has waited this long with no worker on the queue (default 30000 ms). */
  noWorkerWarningMs?: number;
}

/** A {@link TrialExecutor} on a queue; `close()` (after `tune` has returned) releases its Redis connections. */
export interface QueueExecutor extends TrialExecutor {
  /** The study key its jobs carry (set when `tune` opens the study). */
  readonly studyKey: string;
  close(): Promise<void>;
}

/** The nonce of a study folder's queue binding (queue.json), created on first use. */
function studyNonce(dir: string | undefined, queue: string, study: string): string {
  const fresh = () => randomBytes(4).toString('hex');
  if (dir === undefined) return fresh();
  const file = path.join(dir, 'queue.json');
  try {
    const saved = JSON.parse(fs.readFileSync(file, 'utf8')) as { queue?: string; study?: string; nonce?: string };
    if (saved.queue === queue && saved.study === study && typeof saved.nonce === 'string' && /^[0-9a-f]{8}$/.test(saved.nonce)) return saved.nonce;
  } catch {
    // No binding yet (or a damaged one): start a new one.
  }
  const nonce = fresh();
  fs.writeFileSync(`${file}.tmp`, JSON.stringify({ queue, study, nonce }, null, 2));
  fs.renameSync(`${file}.tmp`, file);
  return nonce;
}

/**
 * A trial executor that runs every trial as a job on `queue` (see module doc).
 * @example
 * ```ts
 * const executor = await queueExecutor({ redis: 'redis://127.0.0.1:6379', queue: 'ants' });
 * const result = await tune({ space, objective: executor, strategy: 'asha', trials: 16, asha: { maxResource: 9 }, parallel: 16, studyDir: 'runs/ants' });
 * await executor.close();
 * ```
 */
export async function queueExecutor(options: QueueExecutorOptions): Promise<QueueExecutor> {
  const queueName = checkName('queue', options.queue);
  const study = checkName('study', options.study ?? 'study');
  const prefix = checkName('prefix', options.prefix ?? 'tk');
  const pollMs = options.pollMs ?? 200;
  const attempts = options.attempts ?? 1;
  const noWorkerMs = options.noWorkerWarningMs ?? 30_000;
  if (!(Number.isInteger(attempts) && attempts >= 1)) throw new TransferKitError('E_BAD_OPTION', `queueExecutor: attempts must be an integer >= 1. Received: attempts=${attempts}.`);
  if (!(pollMs > 0)) throw new TransferKitError('E_BAD_OPTION', `queueExecutor: pollMs must be > 0. Received: pollMs=${pollMs}.`);
  if (options.module !== undefined && !fs.existsSync(options.module)) throw new TransferKitError('E_IO_NOT_FOUND', `queueExecutor: objective module ${path.resolve(options.module)} does not exist.`);
  const moduleHash = options.module !== undefined ? fileHash(options.module) : undefined;
  const connection = redisConnection(options.redis);
  const { Queue, Job } = await loadBullmq();
  const queue = new Queue<TrialJobData>(queueName, { connection, prefix });
  // Connection errors are retried by the client (a Redis restart); nothing to do but not crash.
  queue.on('error', () => undefined);
  let redis: Awaited<ReturnType<typeof redisClient>>;
  try {
    redis = await redisClient(connection);
  } catch (err) {
    await queue.close();
    throw err;
  }
  let key = '';
  let heartbeat: ReturnType<typeof setInterval> | undefined;
  const started = new Set<number>();
  let closed = false;
  let warned = false;

  const beat = () => void redis.set(heartbeatKey(prefix, queueName, key), String(Date.now()), 'PX', 15_000).catch(() => undefined);
  const open = async (info: StudyInfo): Promise<void> => {
    const digest = createHash('sha256').update(JSON.stringify(info.description)).digest('hex').slice(0, 8);
    key = `${study}-${digest}-${studyNonce(info.dir, queueName, study)}`;
    beat();
    heartbeat ??= setInterval(beat, 2_000);
    heartbeat.unref?.();
  };

  const run = async (trialId: number, config: TrialConfig, report: TrialReport): Promise<number> => {
    // Used outside tune (no open call): a study of its own for this executor.
    if (key === '') await open({ description: { executor: randomBytes(4).toString('hex') } });
    started.add(trialId);
    const id = jobId(key, trialId);
    const hash = configHash(config);
    const data: TrialJobData = { study: key, trialId, config, configHash: hash, exportName: options.exportName ?? 'objective', ...(options.trialTimeoutS !== undefined ? { trialTimeoutS: options.trialTimeoutS } : {}), ...(moduleHash !== undefined ? { moduleHash } : {}) };
    const fetch = async () => {
      const job = await Job.fromId<TrialJobData, number>(queue, id);
      if (job === undefined) throw new TransferKitError('E_DATA', `queueExecutor: job ${id} is not on queue '${queueName}' (removed, or Redis lost its data: run it with appendonly yes).`);
      return job;
    };
    // Adding an existing id is a no-op in BullMQ: a restarted driver attaches to the job it finds.
    await queue.add('trial', data, { jobId: id, attempts, removeOnComplete: false, removeOnFail: false });
    let job = await fetch();
    if (job.data.configHash !== hash) {
      throw new TransferKitError('E_BAD_OPTION', `queueExecutor: queue '${queueName}' holds job ${id} with another configuration. Remove the old jobs (Queue.obliterate) or use another study name.`);
    }
    const decisions = decisionsKey(prefix, queueName, key, trialId);
    // Decisions recorded by an earlier driver for this trial: replay them into the strategy first.
    const decided = new Map<number, boolean>();
    const recorded = Object.values(await redis.hgetall(decisions)).map((v) => JSON.parse(v) as TrialProgress & { go: boolean }).sort((a, b) => a.step - b.step);
    for (const r of recorded) {
      await report(r.step, reportedNumber(r.value), r.go);
      decided.set(r.step, r.go);
    }
    const t0 = Date.now();
    for (;;) {
      if (closed) throw new TransferKitError('E_BAD_OPTION', `queueExecutor: closed while trial ${trialId} was running; close the executor after tune() has returned.`);
      const state = await job.getState();
      // A finished job is final: read its result from a fresh copy, not from the one fetched a poll ago.
      if (state === 'completed') return reportedNumber((await fetch()).returnvalue);
      if (state === 'failed') throw new Error((await fetch()).failedReason || `trial ${trialId} failed on a worker`);
      const progress = job.progress as TrialProgress | number | undefined;
      if (typeof progress === 'object' && progress !== null && !decided.has(progress.step)) {
        const value = reportedNumber(progress.value);
        // Another driver of the same study may have decided first: adopt its decision.
        const other = await redis.hget(decisions, String(progress.step));
        const go = other !== null ? await report(progress.step, value, (JSON.parse(other) as { go: boolean }).go) : await report(progress.step, value);
        decided.set(progress.step, go);
        if (other === null) await redis.hsetnx(decisions, String(progress.step), JSON.stringify({ step: progress.step, value, go }));
      }
      if (!warned && state === 'waiting' && Date.now() - t0 > noWorkerMs && (await queue.getWorkersCount()) === 0) {
        warned = true;
        console.warn(`[transferkit] queueExecutor: trial ${trialId} has waited ${Math.round((Date.now() - t0) / 1000)} s and no worker is listening on queue '${queueName}' (prefix '${prefix}'). Start one: transferkit worker --queue ${queueName} --redis ${options.redis} --module objective.mjs`);
      }
      await sleep(pollMs);
      job = await fetch();
    }
  };

  return {
    get studyKey() {
      return key;
    },
    open,
    run,
    end: async () => {
      // Every trial is recorded in the study folder: its jobs and decisions are no longer needed.
      for (const trialId of started) {
        await (await Job.fromId(queue, jobId(key, trialId)))?.remove().catch(() => undefined);
        await redis.del(decisionsKey(prefix, queueName, key, trialId));
      }
    },
    close: async () => {
      closed = true;
      if (heartbeat !== undefined) clearInterval(heartbeat);
      if (key !== '') await redis.del(heartbeatKey(prefix, queueName, key)).catch(() => undefined);
      await queue.close();
      await redis.quit().catch(() => undefined);
    },
  };
}
