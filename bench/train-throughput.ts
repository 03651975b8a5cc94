/**
 * Train-step (and inference) throughput of MobileNetV2 alpha 1.0 on every usable backend, with
 * PyTorch's figure for the same work in the same run when /usr/bin/python3 has torch.
 *
 *   npm run bench
 *   npm run bench -- --backends wasm --sizes 96 --steps 3 --torch off
 *
 * Every configuration runs in its own child process, so peak resident memory is per
 * configuration (and the wasm heap, which never shrinks, starts empty each time).
 * Output: one JSON line per measurement, then a summary JSON line with tk/PyTorch ratios.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = path.dirname(fileURLToPath(import.meta.url));
const assets = process.env.TRANSFERKIT_ASSETS ?? path.resolve(here, '..', '..', 'shared');
const MODEL = path.join(assets, 'models/mobilenet_v2_1.0_224_nsfwjs');

interface Job {
  backend: string;
  mode: 'train' | 'infer';
  size: number;
  batch: number;
  microBatch: number;
  steps: number;
}

interface Result extends Partial<Job> {
  framework: string;
  samplesPerSec?: number;
  peakRssMB?: number;
  threads?: number;
  skipped?: string;
  [k: string]: unknown;
}

async function child(job: Job): Promise<void> {
  const tf = await import('@tensorflow/tfjs-core');
  const tk = await import('../src/index.js');
  const info = await tk.useBackend(job.backend as never);
  const pm = await tk.loadPretrained(MODEL, { inputShape: [job.size, job.size, 3], cutAt: 'out_relu' });
  const m = tk.replaceHead(pm, { numClasses: 10, dropout: 0, seed: 1 });
  tk.unfreeze(m, 'all');
  const x = tf.randomNormal([job.batch, job.size, job.size, 3], 0, 1, 'float32', 1);
  const y = tf.oneHot(tf.tensor1d(Int32Array.from({ length: job.batch }, (_, i) => i % 10), 'int32'), 10);
  const vars = m.model.trainableWeights.map((w) => w.read() as import('@tensorflow/tfjs-core').Variable);
  const opt = new tk.Adam(vars, { learningRate: 1e-4 }); // PyTorch's Adam, as fineTune uses
  const { trainStep } = await import('../src/train/train_step.js');
  const step = () => {
    if (job.mode === 'train') trainStep({ model: m.model, from: 0, x, y, vars, optimizer: opt, microBatchSize: job.microBatch });
    else tf.tidy(() => (m.model.apply(x, { training: false }) as import('@tensorflow/tfjs-core').Tensor).dataSync());
  };
  step(); // warm-up (kernel setup, first allocations)
  const t0 = performance.now();
  for (let i = 0; i < job.steps; i++) step();
  const sec = (performance.now() - t0) / 1000 / job.steps;
  const heap = (tf.backend() as unknown as { wasm?: { HEAPU8: Uint8Array } }).wasm?.HEAPU8.length;
  console.log(JSON.stringify({
    framework: 'transferkit', tfjs: tf.version_core, ...job, threads: info.threads,
    samplesPerSec: Number((job.batch / sec).toFixed(2)), stepSeconds: Number(sec.toFixed(3)),
    peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
    ...(heap !== undefined ? { wasmHeapMB: Math.round(heap / 2 ** 20) } : {}),
  }));
}

function lastJson(out: string): Result | null {
  const line = out.trim().split('\n').reverse().find((l) => l.startsWith('{'));
  return line ? (JSON.parse(line) as Result) : null;
}

function runChild(job: Job, timeoutS: number): Result {
  const r = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--child', JSON.stringify(job)], { encoding: 'utf8', timeout: timeoutS * 1000, maxBuffer: 1 << 26 });
  const res = lastJson(r.stdout ?? '');
  if (res !== null) return res;
  const why = r.error?.message.includes('ETIMEDOUT') || r.signal === 'SIGTERM' ? `timed out after ${timeoutS} s` : (r.stderr ?? '').split('\n').filter((l) => /Error|Abort/.test(l)).slice(0, 2).join(' | ').slice(0, 300);
  return { framework: 'transferkit', ...job, skipped: `failed: ${why || `exit ${r.status}`}` };
}

function torchAvailable(): boolean {
  const r = spawnSync('/usr/bin/python3', ['-c', 'import torch, torchvision'], { encoding: 'utf8' });
  return r.status === 0;
}

function runTorch(mode: string, size: number, threads: number, batch: number, steps: number): Result {
  const r = spawnSync('/usr/bin/python3', [path.join(here, 'torch_mobilenet_v2.py'), '--mode', mode, '--sizes', String(size), '--threads', String(threads), '--batch', String(batch), '--steps', String(steps)], { encoding: 'utf8', timeout: 1_200_000 });
  return lastJson(r.stdout ?? '') ?? { framework: 'pytorch', mode: mode as 'train', size, skipped: `failed: ${(r.stderr ?? '').slice(-300)}` };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      child: { type: 'string' },
      backends: { type: 'string', default: 'wasm,cpu' },
      sizes: { type: 'string', default: '224,96' },
      batch: { type: 'string', default: '32' },
      steps: { type: 'string', default: '3' },
      'micro-batch-224': { type: 'string', default: '8' },
      torch: { type: 'string', default: 'auto' },
      'cpu-full': { type: 'boolean', default: false },
      timeout: { type: 'string', default: '1200' },
    },
  });
  if (values.child !== undefined) return child(JSON.parse(values.child) as Job);
  if (!fs.existsSync(MODEL)) {
    console.log(JSON.stringify({ skipped: `MobileNetV2 1.0 weights not found at ${MODEL}; set TRANSFERKIT_ASSETS to the shared assets folder` }));
    return;
  }
  const batch = Number(values.batch);
  const steps = Number(values.steps);
  const sizes = (values.sizes as string).split(',').map(Number);
  const results: Result[] = [];
  const emit = (r: Result) => {
    results.push(r);
    console.log(JSON.stringify(r));
  };
  for (const backend of (values.backends as string).split(',')) {
    for (const size of sizes) {
      for (const mode of ['train', 'infer'] as const) {
        if (backend === 'cpu' && !values['cpu-full'] && (size > 96 || mode === 'infer')) {
          emit({ framework: 'transferkit', backend, mode, size, batch, skipped: 'cpu (pure JS) is two orders of magnitude slower; only the 96 px train step is timed (pass --cpu-full for all)' });
          continue;
        }
        // 224 px training at batch 32 exceeds the 4 GB wasm32 heap in one pass: accumulate micro-batches.
        const microBatch = mode === 'train' && size >= 160 && backend === 'wasm' ? Number(values['micro-batch-224']) : batch;
        emit(runChild({ backend, mode, size, batch, microBatch, steps: backend === 'cpu' ? 1 : steps }, Number(values.timeout)));
      }
    }
  }
  const useTorch = values.torch === 'on' || (values.torch === 'auto' && torchAvailable());
  if (!useTorch) emit({ framework: 'pytorch', skipped: values.torch === 'off' ? 'disabled (--torch off)' : '/usr/bin/python3 cannot import torch and torchvision (apt-get install python3-torch python3-torchvision)' });
  else for (const size of sizes) for (const mode of ['train', 'infer']) for (const threads of [1, 2]) emit(runTorch(mode, size, threads, batch, steps));

  const ratios: Record<string, number | null> = {};
  for (const r of results.filter((x) => x.framework === 'transferkit' && x.samplesPerSec !== undefined)) {
    for (const threads of [1, 2]) {
      const t = results.find((x) => x.framework === 'pytorch' && x.mode === r.mode && (x.inputSize ?? x.size) === r.size && x.threads === threads && x.samplesPerSec !== undefined);
      ratios[`${r.backend}/${r.mode}/${r.size}px vs torch ${threads}t`] = t ? Number(((r.samplesPerSec as number) / (t.samplesPerSec as number)).toFixed(3)) : null;
    }
  }
  console.log(JSON.stringify({ summary: 'transferkit samples/s divided by PyTorch samples/s, same model, batch, input, machine and run', batch, ratios }));
}

void main();
