/**
 * Train-step (and inference) throughput of MobileNetV2 alpha 1.0 (224 and 96 px) and ResNet50
 * (224 px) on every usable backend, with PyTorch's figure for the same work in the same run when
 * /usr/bin/python3 has torch. ResNet50 is the zoo's Keras layout with fresh weights (stride in
 * the blocks' first 1x1 convolution, as Keras' ResNet50 v1; torchvision's v1.5 strides the 3x3,
 * about 5 % more multiply-adds), so no weights file is needed.
 *
 *   npm run bench
 *   npm run bench -- --backends wasm --sizes 96 --steps 5 --torch off
 *   npm run bench -- --models resnet50 --backends wasm
 *   npm run bench -- --backends webgpu --torch-device cuda --python python3   (GPU machine)
 *
 * Each figure is the median of `--steps` timed steps after two warm-up steps. Every step ends
 * by reading its loss (or output) back, so GPU work is finished inside the timed interval.
 * Every configuration runs in its own child process, so peak resident memory is per
 * configuration (and the wasm heap, which never shrinks, starts empty each time).
 * On webgpu, one warm step's GPU dispatches are counted (`countGpuDispatches`) and printed beside
 * the timing (`dispatchesPerStep`, and per TF.js kernel); on a software rasteriser (llvmpipe) the
 * step runs at batch 2 and only the dispatches are reported (they barely depend on batch).
 * Output: one JSON line per measurement, then a summary JSON line with tk/PyTorch ratios and the
 * webgpu dispatch counts.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { lastJson, medianStepSeconds } from './_timing.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const assets = process.env.TRANSFERKIT_ASSETS ?? path.resolve(here, '..', '..', 'shared');
let MODEL = path.join(assets, 'models/mobilenet_v2_1.0_224_nsfwjs');

/** The architectures timed: MobileNetV2 at every `--sizes`, ResNet50 at 224 px (the issue's cases). */
type Arch = 'mobilenet_v2' | 'resnet50';

interface Job {
  arch: Arch;
  backend: string;
  mode: 'train' | 'infer';
  size: number;
  batch: number;
  microBatch: number;
  steps: number;
  model: string;
}

interface Result extends Partial<Job> {
  framework: string;
  samplesPerSec?: number;
  peakRssMB?: number;
  threads?: number;
  skipped?: string;
  [k: string]: unknown;
}

async function child(spec: Job): Promise<void> {
  let job = spec;
  const tf = await import('@tensorflow/tfjs-core');
  const tk = { ...(await import('transferkit')), ...(await import('transferkit/optimizers')) };
  const { trainStepAsync } = await import('../src/train/train_step.js');
  if (job.backend === 'webgpu') await (await import('./_webgpu_preload.js')).preloadWebgpu();
  const info = await tk.useBackend(job.backend as never);
  // A software rasteriser (llvmpipe) is for correctness: its timings mean nothing, but its
  // dispatch counts are exact, so count them (at batch 2: the counts barely depend on batch).
  const software = info.gpuAdapter?.software === true && process.env.TK_BENCH_SOFTWARE_GPU !== '1';
  if (software) job = { ...job, batch: Math.min(job.batch, 2), microBatch: Math.min(job.microBatch, 2) };
  const pm = job.arch === 'resnet50'
    ? await tk.loadPretrained('resnet50', { weights: null, seed: 1, inputShape: [job.size, job.size, 3] })
    : await tk.loadPretrained(job.model, { inputShape: [job.size, job.size, 3], cutAt: 'out_relu' });
  const m = tk.replaceHead(pm, { numClasses: 10, dropout: 0, seed: 1 });
  tk.unfreeze(m, 'all');
  const x = tf.randomNormal([job.batch, job.size, job.size, 3], 0, 1, 'float32', 1);
  const y = tf.oneHot(tf.tensor1d(Int32Array.from({ length: job.batch }, (_, i) => i % 10), 'int32'), 10);
  const vars = m.model.trainableWeights.map((w) => w.read() as import('@tensorflow/tfjs-core').Variable);
  const opt = new tk.Adam(vars, { learningRate: 1e-4 }); // PyTorch's Adam, as fineTune uses
  let peakGpuBytes = 0;
  const step = async (): Promise<void> => {
    if (job.mode === 'train') await trainStepAsync({ model: m.model, from: 0, x, y, vars, optimizer: opt, microBatchSize: job.microBatch });
    else {
      const out = tf.tidy(() => tf.sum(m.model.apply(x, { training: false }) as import('@tensorflow/tfjs-core').Tensor));
      await out.data();
      out.dispose();
    }
    const mem = tf.memory() as { numBytesInGPUAllocated?: number; numBytesInGPU?: number };
    peakGpuBytes = Math.max(peakGpuBytes, mem.numBytesInGPUAllocated ?? mem.numBytesInGPU ?? 0);
  };
  // Dispatches of one warm step (webgpu): the first step creates the optimizer's slots.
  let dispatches: { dispatchesPerStep: number; dispatchTop: string } | undefined;
  if (job.backend === 'webgpu') {
    const { countGpuDispatches } = await import('transferkit/backends');
    await step();
    const { counts } = await countGpuDispatches(step);
    dispatches = { dispatchesPerStep: counts.dispatches, dispatchTop: counts.byKernel.slice(0, 6).map(([k, v]) => `${k}:${v}`).join(' ') };
  }
  if (software) {
    console.log(JSON.stringify({ framework: 'transferkit', ...job, ...dispatches, gpu: info.gpuAdapter?.device, skipped: `webgpu adapter is a software rasteriser (${info.gpuAdapter?.device}): dispatches counted at batch ${job.batch}, not timed (set TK_BENCH_SOFTWARE_GPU=1 to time it)` }));
    return;
  }
  const sec = await medianStepSeconds(step, job.steps);
  const heap = (tf.backend() as unknown as { wasm?: { HEAPU8: Uint8Array } }).wasm?.HEAPU8.length;
  console.log(JSON.stringify({
    framework: 'transferkit', tfjs: tf.version_core, ...job, model: job.arch === 'resnet50' ? 'resnet50' : path.basename(job.model), threads: info.threads,
    samplesPerSec: Number((job.batch / sec).toFixed(2)), stepSeconds: Number(sec.toFixed(3)), ...dispatches,
    peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
    ...(heap !== undefined ? { wasmHeapMB: Math.round(heap / 2 ** 20) } : {}),
    ...(info.gpuAdapter !== undefined ? { gpu: info.gpuAdapter.device || info.gpuAdapter.description, dawnBackend: info.gpuAdapter.dawnBackend, gpuResidentMB: Math.round(peakGpuBytes / 2 ** 20) } : {}),
  }));
}

function runChild(job: Job, timeoutS: number): Result {
  const r = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--child', JSON.stringify(job)], { encoding: 'utf8', timeout: timeoutS * 1000, maxBuffer: 1 << 26 });
  const res = lastJson<Result>(r.stdout ?? '');
  if (res !== null) return res;
  const why = r.error?.message.includes('ETIMEDOUT') || r.signal === 'SIGTERM' ? `timed out after ${timeoutS} s` : (r.stderr ?? '').split('\n').filter((l) => /Error|Abort/.test(l)).slice(0, 2).join(' | ').slice(0, 300);
  return { framework: 'transferkit', ...job, skipped: `failed: ${why || `exit ${r.status}`}` };
}

function torchAvailable(python: string, device: string): boolean {
  const check = device === 'cuda' ? 'import torch, torchvision; assert torch.cuda.is_available()' : 'import torch, torchvision';
  return spawnSync(python, ['-c', check], { encoding: 'utf8' }).status === 0;
}

function runTorch(python: string, device: string, arch: Arch, mode: string, size: number, threads: number, batch: number, steps: number): Result {
  const r = spawnSync(python, [path.join(here, 'torch_cnn.py'), '--arch', arch, '--device', device, '--mode', mode, '--sizes', String(size), '--threads', String(threads), '--batch', String(batch), '--steps', String(steps)], { encoding: 'utf8', timeout: 1_200_000 });
  return lastJson<Result>(r.stdout ?? '') ?? { framework: 'pytorch', arch, mode: mode as 'train', size, skipped: `failed: ${(r.stderr ?? '').slice(-300)}` };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      child: { type: 'string' },
      backends: { type: 'string', default: 'wasm,cpu,webgpu' },
      models: { type: 'string', default: 'mobilenet_v2,resnet50' },
      sizes: { type: 'string', default: '224,96' },
      batch: { type: 'string', default: '32' },
      steps: { type: 'string', default: '5' },
      'micro-batch-224': { type: 'string', default: '8' },
      'micro-batch-resnet50': { type: 'string', default: '4' },
      torch: { type: 'string', default: 'auto' },
      'torch-device': { type: 'string', default: 'cpu' },
      python: { type: 'string', default: '/usr/bin/python3' },
      model: { type: 'string' },
      'cpu-full': { type: 'boolean', default: false },
      timeout: { type: 'string', default: '1200' },
    },
  });
  if (values.child !== undefined) return child(JSON.parse(values.child) as Job);
  if (values.model !== undefined) MODEL = path.resolve(values.model);
  const batch = Number(values.batch);
  const steps = Number(values.steps);
  const mobilenetSizes = (values.sizes as string).split(',').map(Number);
  const archs = (values.models as string).split(',') as Arch[];
  for (const a of archs) if (a !== 'mobilenet_v2' && a !== 'resnet50') throw new Error(`--models: unknown model '${a}' (use mobilenet_v2, resnet50)`);
  const sizesOf = (arch: Arch): number[] => (arch === 'resnet50' ? [224] : mobilenetSizes);
  if (archs.includes('mobilenet_v2') && !fs.existsSync(MODEL)) {
    console.log(JSON.stringify({ skipped: `MobileNetV2 1.0 weights not found at ${MODEL}; set TRANSFERKIT_ASSETS to the shared assets folder (or pass --models resnet50)` }));
    return;
  }
  const results: Result[] = [];
  const emit = (r: Result) => {
    results.push(r);
    console.log(JSON.stringify(r));
  };
  for (const backend of (values.backends as string).split(',')) {
    for (const arch of archs) {
      for (const size of sizesOf(arch)) {
        for (const mode of ['train', 'infer'] as const) {
          if (backend === 'cpu' && !values['cpu-full'] && (size > 96 || mode === 'infer')) {
            emit({ framework: 'transferkit', arch, backend, mode, size, batch, skipped: 'cpu (pure JS) is two orders of magnitude slower; only the 96 px train step is timed (pass --cpu-full for all)' });
            continue;
          }
          // 224 px training at batch 32 exceeds the 4 GB wasm32 heap in one pass: accumulate micro-batches.
          // ResNet50 keeps more per image: micro-batches of 8 overflow the heap, 4 peak at ~2.1 GB.
          const micro224 = Number(values[arch === 'resnet50' ? 'micro-batch-resnet50' : 'micro-batch-224']);
          const microBatch = mode === 'train' && size >= 160 && backend === 'wasm' ? micro224 : batch;
          emit(runChild({ arch, backend, mode, size, batch, microBatch, steps: backend === 'cpu' ? 1 : steps, model: MODEL }, Number(values.timeout)));
        }
      }
    }
  }
  const python = values.python as string;
  const device = values['torch-device'] as string;
  const useTorch = values.torch === 'on' || (values.torch === 'auto' && torchAvailable(python, device));
  const torchThreads = device === 'cuda' ? [0] : [1, 2];
  if (!useTorch) emit({ framework: 'pytorch', skipped: values.torch === 'off' ? 'disabled (--torch off)' : `${python} cannot import torch and torchvision${device === 'cuda' ? ' with CUDA' : ''} (apt-get install python3-torch python3-torchvision)` });
  else for (const arch of archs) for (const size of sizesOf(arch)) for (const mode of ['train', 'infer']) for (const threads of torchThreads) emit(runTorch(python, device, arch, mode, size, threads, batch, steps));

  const ratios: Record<string, number | null> = {};
  for (const r of results.filter((x) => x.framework === 'transferkit' && x.samplesPerSec !== undefined)) {
    for (const t of results.filter((x) => x.framework === 'pytorch' && x.arch === r.arch && x.mode === r.mode && x.inputSize === r.size && x.samplesPerSec !== undefined)) {
      const label = t.device === 'cuda' ? 'torch cuda' : `torch ${t.threads}t`;
      ratios[`${r.arch}/${r.backend}/${r.mode}/${r.size}px vs ${label}`] = Number(((r.samplesPerSec as number) / (t.samplesPerSec as number)).toFixed(3));
    }
  }
  const dispatches = Object.fromEntries(results.filter((r) => typeof r.dispatchesPerStep === 'number').map((r) => [`${r.arch}/${r.mode}/${r.size}px batch ${r.batch}`, r.dispatchesPerStep as number]));
  console.log(JSON.stringify({ summary: 'transferkit samples/s divided by PyTorch samples/s, same model, batch, input, machine and run', batch, ratios, ...(Object.keys(dispatches).length > 0 ? { webgpuDispatches: dispatches } : {}) }));
}

void main();
