/**
 * `transferkit worker --queue NAME --redis URL --module objective.mjs`: a queue worker for studies
 * run with a queue executor (see src/tune/queue_worker.ts). Runs until SIGINT/SIGTERM, which
 * finish the running trials, then exit 0.
 */
import { runWorker } from '../../tune/queue_worker.js';
import { int, parse, required } from '../args.js';

export const USAGE = 'Usage: transferkit worker --queue NAME --redis redis://host:6379 --module objective.mjs [--concurrency 1] [--lock-ms 30000] [--retries 1] [--driver-timeout-ms 60000] [--prefix tk]';

export async function workerCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, { queue: { type: 'string' }, redis: { type: 'string' }, module: { type: 'string' }, concurrency: { type: 'string' }, 'lock-ms': { type: 'string' }, retries: { type: 'string' }, 'driver-timeout-ms': { type: 'string' }, prefix: { type: 'string' } }, USAGE);
  if (values.help === true) {
    console.log(USAGE);
    return 0;
  }
  const stop = new AbortController();
  const worker = await runWorker({
    queue: required(values, 'queue', USAGE),
    redis: required(values, 'redis', USAGE),
    module: required(values, 'module', USAGE),
    concurrency: int(values, 'concurrency', 1, 1),
    lockDurationMs: int(values, 'lock-ms', 30_000, 1),
    retries: int(values, 'retries', 1, 0),
    driverTimeoutMs: int(values, 'driver-timeout-ms', 60_000, 1),
    ...(typeof values.prefix === 'string' ? { prefix: values.prefix } : {}),
    signal: stop.signal,
    onShard: (e) => console.error(`shard ${e.key.slice(0, 12)}: embedded ${e.rows} inputs in ${e.seconds.toFixed(1)} s`),
    onTrial: (e) => console.error(e.type === 'start' ? `trial ${e.trialId}: started` : `trial ${e.trialId}: ${e.error !== undefined ? `failed (${e.error.split('\n')[0]})` : `done ${e.value}`}`),
  });
  console.error(`transferkit worker: waiting for trials on queue '${String(values.queue)}' (pid ${process.pid})`);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => stop.abort());
  await worker.closed;
  return 0;
}
