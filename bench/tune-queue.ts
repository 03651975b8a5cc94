/**
 * Trials on queue workers: wall time of the same study (random search, CPU-bound objective) run by
 * 1 worker and by N workers (default 2) through BullMQ on a local Redis, in the same run, and the
 * speed-up. Needs Debian's redis-server and the dev dependencies bullmq + ioredis.
 *
 *   npx tsx bench/tune-queue.ts [--trials 8] [--workers 1,2] [--work 3]
 *
 * The objective burns `--work` × ~0.3 s of one core per trial (a float loop, 3 reports), so on an
 * idle 2-core machine 2 workers should finish ~2× sooner. Output: one JSON line per worker count,
 * then a summary line with the ratios.
 */
import { startQueueWorkers } from './_queue_workers.js';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { queueExecutor, tune, uniform } from 'transferkit/tune';
import { TestRedis, redisUnavailable } from '../test/helpers/redis.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({ options: { trials: { type: 'string', default: '8' }, workers: { type: 'string', default: '1,2' }, work: { type: 'string', default: '3' } } });

async function main(): Promise<void> {
  const why = await redisUnavailable();
  if (why !== null) {
    console.log(JSON.stringify({ skipped: why }));
    return;
  }
  const redis = new TestRedis();
  await redis.start();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-tune-queue-'));
  const module = path.join(dir, 'objective.mjs');
  // Calibrate the loop to ~0.3 s of this machine's core, so the study is CPU-bound whatever the machine.
  fs.writeFileSync(module, `
    export async function objective(config, ctx) {
      let x = config.q;
      for (let step = 1; step <= 3; step++) {
        for (let i = 0; i < ${Number(values.work)} * 4e7; i++) x = Math.sqrt(x * x + 1e-9) * 0.999999 + 1e-9;
        if (!(await ctx.report(step, x))) break;
      }
      return x;
    }
  `);
  const cli = path.resolve(here, '..', 'src', 'cli', 'main.ts');
  const results: Record<number, number> = {};
  try {
    for (const n of String(values.workers).split(',').map(Number)) {
      const queue = `bench-${n}`;
      const workers = await startQueueWorkers(n, ['--import', 'tsx', cli], queue, redis.url, module);
      const executor = await queueExecutor({ redis: redis.url, queue, study: `s${n}` });
      const t0 = performance.now();
      const r = await tune({ space: { q: uniform(0, 1) }, objective: executor, strategy: 'random', trials: Number(values.trials), parallel: Number(values.trials), seed: 0 });
      const seconds = (performance.now() - t0) / 1000;
      await executor.close();
      for (const w of workers) w.kill('SIGTERM');
      results[n] = seconds;
      console.log(JSON.stringify({ bench: 'tune-queue', workers: n, trials: r.trials.length, failed: r.trials.filter((t) => t.status === 'failed').length, seconds: Number(seconds.toFixed(2)), trialsPerMinute: Number(((60 * r.trials.length) / seconds).toFixed(1)) }));
    }
  } finally {
    await redis.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const base = results[1];
  console.log(JSON.stringify({ bench: 'tune-queue', cores: os.cpus().length, speedup: Object.fromEntries(Object.entries(results).map(([n, s]) => [n, base !== undefined ? Number((base / s).toFixed(2)) : null])) }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
