/**
 * Sharded feature extraction on queue workers: wall time of embedding N MNIST test digits (PNG files)
 * with the shared MobileNetV2-0.35 (224 px, pooled 1280-d features) by 1 worker and by 2 workers
 * (wasm, one thread each) through BullMQ on a local Redis, in the same run, each into a fresh store,
 * and the speed-up; the rows of both runs are checked equal. Needs Debian's redis-server, the dev
 * dependencies bullmq + ioredis, a built dist/ (`npm run build`) and ../shared.
 *
 *   npx tsx bench/extract-queue.ts [--images 2000] [--shard 128] [--workers 1,2]
 */
import { startQueueWorkers } from './_queue_workers.js';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { PNG } from 'pngjs';
import { loadMnist } from 'transferkit/datasets';
import { extractFeaturesOnQueue } from 'transferkit/encoders';
import { TestRedis, redisUnavailable } from '../test/helpers/redis.js';
import { assets } from './adaptation/_common.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({ options: { images: { type: 'string', default: '2000' }, shard: { type: 'string', default: '128' }, workers: { type: 'string', default: '1,2' } } });

async function main(): Promise<void> {
  const why = (await redisUnavailable()) ?? (fs.existsSync(path.resolve(here, '..', 'dist', 'cli.js')) ? null : 'dist/ is not built (npm run build)');
  const model = path.join(assets, 'models/mobilenet_v2_0.35_224_teachable');
  const mnist = path.join(assets, 'data/mnist');
  if (why !== null || !fs.existsSync(model)) {
    console.log(JSON.stringify({ skipped: why ?? `${model} is absent` }));
    return;
  }
  const n = Number(values.images);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-extract-bench-'));
  const digits = await loadMnist(path.join(mnist, 't10k-images-idx3-ubyte.gz'), path.join(mnist, 't10k-labels-idx1-ubyte.gz'));
  const files = Array.from({ length: n }, (_, i) => {
    const png = new PNG({ width: 28, height: 28 });
    for (let p = 0; p < 784; p++) {
      const v = digits.images[i * 784 + p];
      png.data.set([v, v, v, 255], p * 4);
    }
    const f = path.join(dir, `digit-${i}.png`);
    fs.writeFileSync(f, PNG.sync.write(png));
    return f;
  });
  const dist = (f: string) => JSON.stringify(pathToFileURL(path.resolve(here, '..', 'dist', f)).href);
  const module = path.join(dir, 'encoder.mjs');
  fs.writeFileSync(module, `
    import { useBackend, loadPretrained } from ${dist('index.js')};
    import { imageEncoder } from ${dist('encoders.js')};
    export async function encoder() {
      await useBackend('wasm', { threads: 1 });
      return imageEncoder(await loadPretrained(${JSON.stringify(model)}));
    }
  `);
  const redis = new TestRedis();
  await redis.start();
  const enc = await (await import(module)).encoder();
  const seconds: Record<number, number> = {};
  let reference: Float32Array | null = null;
  try {
    for (const w of String(values.workers).split(',').map(Number)) {
      const queue = `extract-${w}`;
      const workers = await startQueueWorkers(w, [path.resolve(here, '..', 'dist', 'cli.js')], queue, redis.url, module);
      const r = await extractFeaturesOnQueue(enc, files, { redis: redis.url, queue, shardSize: Number(values.shard), cacheDir: path.join(dir, `store-${w}`) });
      const rows = r.features.dataSync() as Float32Array;
      const equal = reference === null ? true : rows.every((v, i) => v === (reference as Float32Array)[i]);
      reference ??= rows.slice();
      r.features.dispose();
      for (const c of workers) c.kill('SIGTERM');
      seconds[w] = r.seconds;
      console.log(JSON.stringify({ bench: 'extract-queue', workers: w, images: n, shards: r.shards, computed: r.computed, seconds: Number(r.seconds.toFixed(2)), imagesPerSec: Number((n / r.seconds).toFixed(1)), rowsEqualToFirstRun: equal }));
    }
  } finally {
    await redis.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const base = seconds[1];
  console.log(JSON.stringify({ bench: 'extract-queue', cores: os.cpus().length, speedup: Object.fromEntries(Object.entries(seconds).map(([w, s]) => [w, base !== undefined ? Number((base / s).toFixed(2)) : null])) }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
