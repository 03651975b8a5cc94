/**
 * What the queue driver ({@link queueExecutor}) and its workers ({@link runWorker}) share: the
 * optional peers `bullmq` + `ioredis` (loaded on first use, with a coded error naming the install
 * command when absent), the Redis connection options, and the names of jobs and keys.
 *
 * Protocol (everything in Redis, so either side can restart):
 * - a study is keyed `<study>-<hash of its description>-<nonce>`, the nonce kept in the study
 *   folder (`queue.json`), so a rerun of the same folder reattaches and a new folder (or a changed
 *   study) never reuses old jobs or decisions;
 * - a trial is a BullMQ job `<key>-t<id>`, data {@link TrialJobData};
 * - a worker reports `report(step, value)` as the job's progress `{ step, value }`, then waits for
 *   the driver's decision in the trial's hash `<prefix>:<queue>:<key>-t<id>:decisions`, field `<step>`;
 * - the driver alone runs the strategy (ASHA's rungs live in one process, so their updates are
 *   serialised by its event loop — no distributed lock), polls its jobs' progress and state, and
 *   writes each decision once (HSETNX: a decision in the hash is adopted, never re-decided);
 * - the driver refreshes `<prefix>:<queue>:<key>:driver` (a heartbeat that expires): workers put a
 *   trial back on the queue for later instead of waiting for decisions nobody will write.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { TransferKitError } from '../errors.js';
import type { TrialConfig } from './space.js';

/** The job a trial travels as. */
export interface TrialJobData {
  /** The study key (see module doc). */
  study: string;
  trialId: number;
  config: TrialConfig;
  /** Hash of the configuration: a job of another study under the same name is refused, not reused. */
  configHash: string;
  exportName: string;
  trialTimeoutS?: number;
  /** SHA-256 of the objective module the driver expects the workers to run (when it named one). */
  moduleHash?: string;
}

/** The progress a worker publishes: the latest report of the trial. */
export interface TrialProgress {
  step: number;
  value: number;
}

/** The bullmq module (types only at compile time; loaded at run time). */
export type Bullmq = typeof import('bullmq');

let bullmq: Promise<Bullmq> | null = null;

/** Loads the optional peer `bullmq` (it brings its Redis client, `ioredis`). */
export function loadBullmq(): Promise<Bullmq> {
  // A variable specifier keeps bundlers from resolving the optional peer at build time.
  const id = 'bullmq';
  bullmq ??= (import(id) as Promise<Bullmq>).catch((err: unknown) => {
    bullmq = null;
    throw new TransferKitError('E_BACKEND_UNAVAILABLE', 'Running trials through a queue needs the optional peers bullmq and ioredis: `npm install bullmq ioredis` (and a Redis server to point them at).', { cause: err });
  });
  return bullmq;
}

/** The part of an ioredis client the driver and workers use for the decisions hash. */
export interface RedisClient {
  hget(key: string, field: string): Promise<string | null>;
  hsetnx(key: string, field: string, value: string): Promise<number>;
  hgetall(key: string): Promise<Record<string, string>>;
  set(key: string, value: string, px: 'PX', ms: number): Promise<unknown>;
  exists(key: string): Promise<number>;
  del(...keys: string[]): Promise<number>;
  quit(): Promise<string>;
  on(event: 'error', listener: (err: Error) => void): unknown;
}

/** A new ioredis client (the peer BullMQ itself uses) for `connection`. */
export async function redisClient(connection: ReturnType<typeof redisConnection>): Promise<RedisClient> {
  await loadBullmq();
  const id = 'ioredis';
  const mod = (await import(id).catch((err: unknown) => {
    throw new TransferKitError('E_BACKEND_UNAVAILABLE', 'Running trials through a queue needs the optional peer ioredis beside bullmq: `npm install ioredis`.', { cause: err });
  })) as { Redis?: new (o: object) => RedisClient; default?: new (o: object) => RedisClient };
  const Redis = mod.Redis ?? mod.default;
  if (Redis === undefined) throw new TransferKitError('E_BACKEND_UNAVAILABLE', 'The installed ioredis exports no Redis client class; install ioredis 5: `npm install ioredis@5`.');
  const client = new Redis(connection);
  // While Redis is away the client reconnects on its own and commands wait; the errors it emits
  // meanwhile are not failures of the study.
  client.on('error', () => undefined);
  return client;
}

/** ioredis connection options from a `redis://[user:password@]host:port[/db]` URL. */
export function redisConnection(url: string): { host: string; port: number; username?: string; password?: string; db?: number; maxRetriesPerRequest: null } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new TransferKitError('E_BAD_OPTION', `The Redis URL must look like redis://host:6379. Received: redis=${JSON.stringify(url)}.`);
  }
  if (u.protocol !== 'redis:') throw new TransferKitError('E_BAD_OPTION', `The Redis URL must start with redis:// (TLS: put a TLS proxy in front). Received: redis=${JSON.stringify(url)}.`);
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : undefined;
  if (u.hostname === '') throw new TransferKitError('E_BAD_OPTION', `The Redis URL names no host. Received: redis=${JSON.stringify(url)}.`);
  if (db !== undefined && !(Number.isInteger(db) && db >= 0)) throw new TransferKitError('E_BAD_OPTION', `The Redis URL's path must be a database number. Received: redis=${JSON.stringify(url)}.`);
  return {
    host: u.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: u.port === '' ? 6379 : Number(u.port),
    ...(u.username !== '' ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password !== '' ? { password: decodeURIComponent(u.password) } : {}),
    ...(db !== undefined ? { db } : {}),
    // BullMQ workers need this: commands wait for a reconnect instead of failing (Redis restarts).
    maxRetriesPerRequest: null,
  };
}

/** Checks a queue or study name: letters, digits, '.', '_', '-' (BullMQ job ids may not hold ':'). */
export function checkName(what: string, name: string): string {
  if (!/^[A-Za-z0-9._-]{1,100}$/.test(name)) throw new TransferKitError('E_BAD_OPTION', `${what} must be 1-100 letters, digits, '.', '_' or '-'. Received: ${what}=${JSON.stringify(name)}.`);
  return name;
}

export const jobId = (study: string, trialId: number): string => `${study}-t${trialId}`;
export const decisionsKey = (prefix: string, queue: string, study: string, trialId: number): string => `${prefix}:${queue}:${jobId(study, trialId)}:decisions`;
export const heartbeatKey = (prefix: string, queue: string, study: string): string => `${prefix}:${queue}:${study}:driver`;

/** SHA-256 (hex, 16 digits) of a file's bytes. */
export function fileHash(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex').slice(0, 16);
}

/** A report's value after JSON: a non-finite number arrives as null. */
export const reportedNumber = (v: unknown): number => (typeof v === 'number' ? v : Number.NaN);

/** A stable hash of a trial's configuration (keys sorted). */
export function configHash(config: TrialConfig): string {
  const sorted = Object.fromEntries(Object.keys(config).sort().map((k) => [k, config[k]]));
  return createHash('sha256').update(JSON.stringify(sorted)).digest('hex').slice(0, 16);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
