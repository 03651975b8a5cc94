/**
 * Trials past one process: `queueExecutor` (the driver) and `transferkit worker` processes (the
 * packed CLI, dist/cli.js) on a real Redis (Debian's redis-server on a loopback port) through
 * BullMQ. Faults are real: `kill -9` of a worker and of the driver, a Redis shutdown and restart.
 * Skips with the reason when redis-server, the optional peers (bullmq, ioredis) or the build are absent.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Asha, queueExecutor, tune, uniform, type TrialConfig, type TrialExecutor, type TrialRecord } from '../../src/entries/tune.js';
import { TestRedis, redisUnavailable } from '../helpers/redis.js';
import { pathToFileURL } from 'node:url';
import { PNG } from 'pngjs';
import { extractFeatures, extractFeaturesOnQueue } from '../../src/entries/encoders.js';
import { decodeImage } from '../../src/entries/io.js';
import { loadMnist } from '../../src/entries/datasets.js';
import { fileSystem } from '../../src/io/file_system.js';
import type { FrozenEncoder } from '../../src/models/frozen_encoder.js';
import { asset } from '../helpers/assets.js';
import { useBackend } from '../../src/index.js';
import { tinyConvNet } from '../helpers/tiny_model.js';

const CLI = path.resolve(__dirname, '../../dist/cli.js');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const space = { q: uniform(0, 1) };
const ASHA = { strategy: 'asha' as const, asha: { maxResource: 9 }, seed: 0 };

let skip: string | null = null;
let redis: TestRedis;
const children: ChildProcess[] = [];
/** Everything each worker wrote to stderr. */
const workerLog = new Map<ChildProcess, string>();

beforeAll(async () => {
  skip = (await redisUnavailable()) ?? (fs.existsSync(CLI) ? null : 'dist/cli.js not built (npm test builds it first)');
  if (skip !== null) {
    console.log(`[skip] queue tests: ${skip}`);
    return;
  }
  redis = new TestRedis();
  await redis.start();
}, 30_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await redis?.dispose();
});

/**
 * A study folder with the objective module: q·(1 − 1/(1+step)) over 9 steps, `TK_STEP_MS` apart;
 * trial `TK_HOLD` runs 400 ms a step, trial `TK_THROW_ONCE` throws on its first run, trial `TK_NAN`
 * returns NaN. Each start and end is logged with the worker's pid, and each decision it received.
 */
function studyDir(): { dir: string; module: string; log: string; received: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-queue-'));
  const log = path.join(dir, 'runs.log');
  const received = path.join(dir, 'received.log');
  const module = path.join(dir, 'objective.mjs');
  fs.writeFileSync(module, `
    import * as fs from 'node:fs';
    const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
    export async function objective(config, ctx) {
      fs.appendFileSync(${JSON.stringify(log)}, process.ppid + ' ' + ctx.trialId + ' start\\n');
      const id = String(ctx.trialId);
      if (id === process.env.TK_THROW_ONCE && !fs.existsSync(${JSON.stringify(dir)} + '/threw')) {
        fs.writeFileSync(${JSON.stringify(dir)} + '/threw', '');
        throw new Error('first attempt fails');
      }
      const ms = id === process.env.TK_HOLD ? 400 : Number(process.env.TK_STEP_MS ?? 20);
      let value = 0;
      for (let step = 1; step <= 9; step++) {
        await sleep(ms);
        value = config.q * (1 - 1 / (1 + step));
        const go = await ctx.report(step, value);
        fs.appendFileSync(${JSON.stringify(received)}, ctx.trialId + ' ' + step + ' ' + go + '\\n');
        if (!go) return value;
      }
      fs.appendFileSync(${JSON.stringify(log)}, process.ppid + ' ' + ctx.trialId + ' end\\n');
      return id === process.env.TK_NAN ? NaN : value;
    }
  `);
  return { dir, module, log, received };
}

/** Starts `n` worker processes on `queue` and waits until each is listening. */
async function workers(n: number, queue: string, module: string, env: Record<string, string> = {}, lockMs = 1000, extra: string[] = []): Promise<ChildProcess[]> {
  const started: Promise<ChildProcess>[] = [];
  for (let i = 0; i < n; i++) {
    const child = spawn(process.execPath, [CLI, 'worker', '--queue', queue, '--redis', redis.url, '--module', module, '--lock-ms', String(lockMs), ...extra], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    children.push(child);
    started.push(new Promise((resolve, reject) => {
      let err = '';
      child.stderr?.on('data', (d: Buffer) => {
        err += d.toString();
        workerLog.set(child, err);
        if (err.includes('waiting for trials')) resolve(child);
      });
      child.once('exit', (code) => reject(new Error(`worker exited with ${code}: ${err}`)));
    }));
  }
  return Promise.all(started);
}

const starts = (log: string): { pid: number; trial: number }[] =>
  (fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '').split('\n').filter((l) => l.endsWith(' start')).map((l) => ({ pid: Number(l.split(' ')[0]), trial: Number(l.split(' ')[1]) }));

/** The decision each trial's objective received at each step (from its own log). */
const receivedDecisions = (file: string): Map<string, boolean> =>
  new Map((fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '').split('\n').filter((l) => l !== '').map((l) => {
    const [t, st, go] = l.split(' ');
    return [`${t}:${st}`, go === 'true'] as [string, boolean];
  }));

/** Stops workers with SIGTERM and checks that each exits 0 (running trials finished, connections closed). */
async function stopWorkers(ws: ChildProcess[], logs = ''): Promise<void> {
  const codes = await Promise.all(ws.filter((w) => w.exitCode === null && w.signalCode === null).map((w) => new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => resolve(-1), 15_000);
    w.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
    w.kill('SIGTERM');
  })));
  expect(codes.every((c) => c === 0), `worker exit codes ${codes.join(', ')}${logs !== '' ? `; worker stderr:\n${logs.slice(-3000)}` : ''}`).toBe(true);
}

/** Wraps an executor so that every report reaching the strategy is logged in order, with its answer. */
function logging(executor: TrialExecutor, arrivals: { trial: number; step: number; value: number; go: boolean }[]): TrialExecutor {
  return {
    open: (info) => executor.open?.(info) ?? Promise.resolve(),
    end: () => executor.end?.() ?? Promise.resolve(),
    run: (trialId, config, report) => executor.run(trialId, config, async (step, value, decided) => {
      const go = await report(step, value, decided);
      arrivals.push({ trial: trialId, step, value, go });
      return go;
    }),
  };
}

const ids = (trials: TrialRecord[]): number[] => trials.map((t) => t.id).sort((a, b) => a - b);
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

describe('queueExecutor + transferkit worker (BullMQ on Redis)', () => {
  it('4 workers run a 16-trial ASHA study: every trial once, and every decision is what ASHA decides for the reports in the order they came', async (ctx) => {
    if (skip !== null) return ctx.skip();
    const s = studyDir();
    const ws = await workers(4, 'q-asha', s.module);
    const executor = await queueExecutor({ redis: redis.url, queue: 'q-asha', study: 'a', module: s.module });
    const arrivals: { trial: number; step: number; value: number; go: boolean }[] = [];
    const r = await tune({ space, objective: logging(executor, arrivals), trials: 16, parallel: 16, ...ASHA });
    await executor.close();
    expect(ids(r.trials)).toEqual(range(16));
    expect(r.trials.every((t) => t.status !== 'failed')).toBe(true);
    expect(r.trials.filter((t) => t.status === 'stopped').length).toBeGreaterThan(0);
    // Each report reached the strategy once; what each objective *received* is ASHA's decision for
    // the reports in the order they came (rungs at 1 and 3; step 9 ends a trial).
    expect(new Set(arrivals.map((a) => `${a.trial}:${a.step}`)).size).toBe(arrivals.length);
    const received = receivedDecisions(s.received);
    const replay = new Asha({ maxResource: 9, mode: 'max' });
    for (const a of arrivals) {
      const expected = replay.report(a.step, a.value) === 'continue' || a.step >= 9;
      expect(received.get(`${a.trial}:${a.step}`), `trial ${a.trial} step ${a.step}`).toBe(expected);
    }
    expect(received.size).toBe(arrivals.length);
    for (const t of r.trials) expect(t.reports.map(([step]) => step)).toEqual(range(t.reports.length).map((i) => i + 1));
    // The work was spread over the worker processes.
    const pids = new Set(starts(s.log).map((x) => x.pid));
    expect(pids.size).toBeGreaterThanOrEqual(3);
    expect([...pids].every((p) => ws.some((w) => w.pid === p))).toBe(true);
    await stopWorkers(ws);
  }, 120_000);

  it('with one trial in flight, the study equals the in-process executor run of the same seeded objective', async (ctx) => {
    if (skip !== null) return ctx.skip();
    const s = studyDir();
    const ws = await workers(2, 'q-seq', s.module);
    const mod = (await import(s.module)) as { objective: (c: TrialConfig, x: { trialId: number; report: (step: number, value: number) => Promise<boolean> }) => Promise<number> };
    const local = await tune({ space, objective: mod.objective, trials: 12, parallel: 1, ...ASHA });
    const executor = await queueExecutor({ redis: redis.url, queue: 'q-seq', study: 'seq' });
    const queued = await tune({ space, objective: executor, trials: 12, parallel: 1, ...ASHA });
    await executor.close();
    const strip = (ts: TrialRecord[]) => ts.map((t) => ({ id: t.id, status: t.status, value: t.value, reports: t.reports }));
    expect(strip(queued.trials)).toEqual(strip(local.trials));
    await stopWorkers(ws);
  }, 120_000);

  it('a worker killed mid-trial (kill -9): the trial reruns on another worker and is recorded exactly once', async (ctx) => {
    if (skip !== null) return ctx.skip();
    const s = studyDir();
    const ws = await workers(2, 'q-kill', s.module, { TK_HOLD: '0' });
    const executor = await queueExecutor({ redis: redis.url, queue: 'q-kill', study: 'k' });
    const arrivals: { trial: number; step: number; value: number; go: boolean }[] = [];
    // Trial 0 (q = 1, the best: never stopped at a rung) runs 400 ms a step: kill its worker once it has reported twice.
    const study = tune({ space, objective: logging(executor, arrivals), trials: 6, parallel: 6, ...ASHA, initialConfigs: [{ q: 1 }] });
    let victim: number | undefined;
    for (let i = 0; i < 300 && victim === undefined; i++) {
      victim = starts(s.log).find((x) => x.trial === 0)?.pid;
      await sleep(50);
    }
    expect(victim).toBeDefined();
    for (let i = 0; i < 100 && arrivals.filter((a) => a.trial === 0).length < 2; i++) await sleep(50);
    process.kill(victim as number, 'SIGKILL');
    const r = await study;
    await executor.close();
    expect(ids(r.trials)).toEqual(range(6));
    expect(r.trials.every((t) => t.status !== 'failed')).toBe(true);
    const zero = starts(s.log).filter((x) => x.trial === 0);
    expect(zero.length).toBe(2); // the killed run and the rerun
    expect(r.trials[0].status).toBe('completed');
    expect(zero[1].pid).not.toBe(victim);
    // The rerun's reports of steps already decided were answered from the record: no second vote in a rung.
    expect(new Set(arrivals.map((a) => `${a.trial}:${a.step}`)).size).toBe(arrivals.length);
    expect(r.trials[0].reports.map(([step]) => step)).toEqual(range(r.trials[0].reports.length).map((i) => i + 1));
    await stopWorkers(ws.filter((w) => w.pid !== victim));
  }, 120_000);

  it('the driver killed (kill -9) and restarted: the study resumes from its folder and the queue without rerunning finished trials', async (ctx) => {
    if (skip !== null) return ctx.skip();
    const s = studyDir();
    const ws = await workers(2, 'q-driver', s.module, { TK_STEP_MS: '60' });
    const config = path.join(s.dir, 'study.json');
    fs.writeFileSync(config, JSON.stringify({ objective: './objective.mjs', space: { q: { uniform: [0, 1] } }, strategy: 'asha', trials: 12, asha: { maxResource: 9 }, parallel: 4, seed: 0, studyDir: 'study', queue: { redis: redis.url, name: 'q-driver', study: 'd' } }));
    const records = path.join(s.dir, 'study', 'trials.jsonl');
    const lines = () => (fs.existsSync(records) ? fs.readFileSync(records, 'utf8').split('\n').filter((l) => l.trim() !== '') : []);
    const driver = () => {
      const child = spawn(process.execPath, [CLI, 'tune', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(child);
      return child;
    };
    const first = driver();
    for (let i = 0; i < 600 && lines().length < 3; i++) await sleep(50);
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    const before = lines().map((l) => (JSON.parse(l) as TrialRecord).id);
    expect(before.length).toBeGreaterThanOrEqual(3);
    expect(before.length).toBeLessThan(12);
    const second = driver();
    let out = '';
    second.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise((r) => second.once('exit', r));
    expect(code).toBe(0);
    const after = lines().map((l) => JSON.parse(l) as TrialRecord);
    expect(after.map((t) => t.id).sort((a, b) => a - b)).toEqual(range(12)); // each trial exactly once
    expect(JSON.parse(out.trim().split('\n').pop() as string).resumed).toBe(before.length);
    for (const id of before) expect(starts(s.log).filter((x) => x.trial === id).length, `trial ${id} ran again`).toBe(1);
    await stopWorkers(ws);
  }, 120_000);

  it('Redis shut down and restarted mid-study: workers and driver reconnect and every trial is recorded once', async (ctx) => {
    if (skip !== null) return ctx.skip();
    const s = studyDir();
    const ws = await workers(2, 'q-redis', s.module, { TK_STEP_MS: '80' }, 10_000);
    const executor = await queueExecutor({ redis: redis.url, queue: 'q-redis', study: 'r' });
    let ended = 0;
    const study = tune({ space, objective: executor, trials: 8, parallel: 4, ...ASHA, onTrialEnd: () => void ended++ });
    for (let i = 0; i < 600 && ended < 1; i++) await sleep(50);
    await redis.stop();
    await sleep(1500);
    await redis.start();
    const r = await study;
    await executor.close();
    expect(ids(r.trials)).toEqual(range(8));
    expect(r.trials.every((t) => t.status !== 'failed')).toBe(true);
    await stopWorkers(ws);
  }, 120_000);

  it('retries a trial whose objective threw (attempts), carries NaN results as NaN, and a new study folder never reuses old jobs', async (ctx) => {
    if (skip !== null) return ctx.skip();
    const s = studyDir();
    const ws = await workers(2, 'q-misc', s.module, { TK_THROW_ONCE: '1', TK_NAN: '2' });
    const run = async (dir: string) => {
      const executor = await queueExecutor({ redis: redis.url, queue: 'q-misc', study: 'm', attempts: 2 });
      const r = await tune({ space, objective: executor, trials: 4, parallel: 4, strategy: 'random', seed: 0, studyDir: dir });
      await executor.close();
      return r;
    };
    const r = await run(path.join(s.dir, 'study-a'));
    expect(r.trials.map((t) => t.status)).toEqual(['completed', 'completed', 'completed', 'completed']);
    expect(starts(s.log).filter((x) => x.trial === 1).length).toBe(2); // threw once, then ran again
    expect(Number.isNaN(r.trials[2].value)).toBe(true);
    // Same study name and configurations, another folder: a new study, every trial runs again.
    await run(path.join(s.dir, 'study-b'));
    expect(starts(s.log).filter((x) => x.trial === 0).length).toBe(2);
    await stopWorkers(ws);
  }, 120_000);

  it('a driver gone for good: its worker puts the trial back on the queue instead of waiting forever, and stops cleanly', async (ctx) => {
    if (skip !== null) return ctx.skip();
    const s = studyDir();
    const [w] = await workers(1, 'q-gone', s.module, { TK_HOLD: '0' }, 1000, ['--driver-timeout-ms', '1000']);
    let err = '';
    w.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    const config = path.join(s.dir, 'study.json');
    fs.writeFileSync(config, JSON.stringify({ objective: './objective.mjs', space: { q: { uniform: [0, 1] } }, strategy: 'random', trials: 1, parallel: 1, studyDir: 'study', queue: { redis: redis.url, name: 'q-gone' } }));
    const driver = spawn(process.execPath, [CLI, 'tune', '--config', config], { stdio: 'ignore' });
    children.push(driver);
    for (let i = 0; i < 200 && !starts(s.log).some((x) => x.trial === 0); i++) await sleep(50);
    driver.kill('SIGKILL');
    // The heartbeat expires (15 s), then the worker's next check (every 5 s) gives the trial back.
    for (let i = 0; i < 900 && !err.includes('put back on the queue'); i++) await sleep(50);
    expect(err).toContain('trial 0: failed (put back on the queue: no driver)');
    await stopWorkers([w], err);
  }, 120_000);
});

describe('extractFeaturesOnQueue (shards on worker processes, a shared feature store)', () => {
  it('2,000 MNIST digits in 8 shards over 2 workers equal the single-process rows exactly; a second run reads every shard from the store, a third recomputes only a lost one', async (ctx) => {
    if (skip !== null) return ctx.skip();
    const images = asset('data/mnist/t10k-images-idx3-ubyte.gz');
    const labels = asset('data/mnist/t10k-labels-idx1-ubyte.gz');
    if (images === null || labels === null) return ctx.skip();
    await useBackend('cpu');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-extract-'));
    // 2,000 real digits as PNG files (what workers on other hosts would read from a shared volume).
    const mnist = await loadMnist(images, labels);
    const files: string[] = [];
    for (let i = 0; i < 2000; i++) {
      const png = new PNG({ width: 28, height: 28 });
      for (let p = 0; p < 784; p++) {
        const v = mnist.images[i * 784 + p];
        png.data.set([v, v, v, 255], p * 4);
      }
      files.push(path.join(dir, `digit-${i}.png`));
      fs.writeFileSync(files[i], PNG.sync.write(png));
    }
    // The encoder: a small seeded convnet saved as a TF.js folder, built by the workers' module.
    const modelDir = path.join(dir, 'model');
    const net = tinyConvNet({ inputSize: 32, seed: 5 });
    await net.save(fileSystem(modelDir));
    net.dispose();
    const dist = (f: string) => JSON.stringify(pathToFileURL(path.resolve(__dirname, '../../dist', f)).href);
    const module = path.join(dir, 'encoder.mjs');
    fs.writeFileSync(module, `
      import { useBackend, loadPretrained } from ${dist('index.js')};
      import { imageEncoder } from ${dist('encoders.js')};
      export async function encoder() {
        await useBackend('cpu');
        return imageEncoder(await loadPretrained(${JSON.stringify(modelDir)}));
      }
    `);
    const ws = await workers(2, 'q-extract', module);
    const enc = (await (await import(module)).encoder()) as FrozenEncoder;
    const single = await extractFeatures(enc, files.map((f) => decodeImage(fs.readFileSync(f), f)), { cache: false, progress: 'silent' });
    const want = single.features.dataSync().slice();
    single.features.dispose();
    const store = path.join(dir, 'store');
    const run = () => extractFeaturesOnQueue(enc, files, { redis: redis.url, queue: 'q-extract', shardSize: 256, cacheDir: store });
    const first = await run();
    expect([first.shards, first.computed, first.fromCache]).toEqual([8, 8, 0]);
    expect(first.features.shape).toEqual([2000, enc.dim]);
    expect(first.features.dataSync()).toEqual(want);
    first.features.dispose();
    const again = await run();
    expect([again.computed, again.fromCache]).toEqual([0, 8]);
    expect(again.features.dataSync()).toEqual(want);
    again.features.dispose();
    // Lose one shard's rows: only that shard is embedded again.
    const lost = fs.readdirSync(store).find((f) => f.endsWith('.f32')) as string;
    fs.rmSync(path.join(store, lost));
    const third = await run();
    expect([third.computed, third.fromCache]).toEqual([1, 7]);
    expect(third.features.dataSync()).toEqual(want);
    third.features.dispose();
    // Both workers embedded shards (8 in the first run, 1 in the third).
    const embedded = ws.map((w) => (workerLog.get(w) ?? '').split('\n').filter((l) => / embedded 256 inputs| embedded 208 inputs/.test(l)).length);
    expect(embedded.every((n) => n >= 1), `shards per worker: ${embedded.join(', ')}`).toBe(true);
    expect(embedded[0] + embedded[1]).toBe(9);
    await stopWorkers(ws);
  }, 180_000);
});

describe('queue options', () => {
  it('bad Redis URLs and names are coded errors naming the value', async () => {
    const { redisConnection, checkName } = await import('../../src/tune/queue_connection.js');
    expect(() => redisConnection('http://x:1')).toThrow(/must start with redis:\/\//);
    expect(() => redisConnection('redis://h:1/x')).toThrow(/database number/);
    expect(redisConnection('redis://[::1]:6380/2')).toMatchObject({ host: '::1', port: 6380, db: 2 });
    expect(() => checkName('queue', 'a:b')).toThrow(/queue must be 1-100 letters/);
  });

  it('a study file\'s "queue" is checked key by key', async () => {
    const { tuneOptionsFromJson } = await import('../../src/tune/config_file.js');
    const base = { objective: './o.mjs', space: { q: { uniform: [0, 1] } } };
    expect(tuneOptionsFromJson({ ...base, queue: { redis: 'redis://h:1', name: 'q', study: 's' } }, '/x/study.json').queue).toMatchObject({ redis: 'redis://h:1', queue: 'q', study: 's', module: path.resolve('/x/o.mjs') });
    expect(() => tuneOptionsFromJson({ ...base, queue: { redis: 'redis://h:1', name: 'q', stduy: 's' } }, 'study.json')).toThrow(/unknown key\(s\) in "queue": stduy/);
  });
});
