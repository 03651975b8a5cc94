/**
 * Where a webgpu training step of MobileNetV2 spends its time: per-kernel GPU time (timestamp
 * queries, when the adapter offers them) summed by kernel name, against the step's wall time.
 *
 *   npx tsx bench/webgpu-profile.ts [--model DIR] [--size 224] [--batch 32]
 */
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import * as tk from '../src/index.js';
import { mobilenetTrainStep } from './_mobilenet_step.js';
import { preloadWebgpu } from './_webgpu_preload.js';
import { registerWebgpuTrainingKernels } from '../src/backends/webgpu/register.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({ options: { model: { type: 'string' }, size: { type: 'string', default: '224' }, batch: { type: 'string', default: '32' }, backend: { type: 'string', default: 'webgpu' }, depthwise: { type: 'string', default: 'wgsl' } } });
const MODEL = values.model ?? path.join(process.env.TRANSFERKIT_ASSETS ?? path.resolve(here, '..', '..', 'shared'), 'models/mobilenet_v2_1.0_224_nsfwjs');
const size = Number(values.size);
const batch = Number(values.batch);

async function main(): Promise<void> {
  if (values.backend === 'webgpu') await preloadWebgpu();
  const info = await tk.useBackend(values.backend as tk.BackendName);
  if (values.backend === 'webgpu') registerWebgpuTrainingKernels({ depthwise: values.depthwise as 'wgsl' | 'taps' | 'fold' });
  const step = await mobilenetTrainStep(MODEL, size, batch);
  await step();
  await step();
  const t0 = performance.now();
  await step();
  const wallMs = performance.now() - t0;
  const prof = await tf.profile(step as unknown as () => tf.TensorContainer);
  const byName = new Map<string, { ms: number; count: number }>();
  let timed = 0;
  for (const k of prof.kernels) {
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : NaN;
    if (Number.isFinite(ms)) timed++;
    const e = byName.get(k.name) ?? { ms: 0, count: 0 };
    e.ms += Number.isFinite(ms) ? ms : 0;
    e.count++;
    byName.set(k.name, e);
  }
  const rows = [...byName.entries()].sort((a, b) => b[1].ms - a[1].ms);
  const totalKernelMs = rows.reduce((s, [, e]) => s + e.ms, 0);
  console.log(JSON.stringify({
    profile: `${values.backend}${values.backend === 'webgpu' ? ` (depthwise filter grad: ${values.depthwise})` : ''} train step, MobileNetV2 1.0, batch ${batch}, ${size} px`, device: info.gpuAdapter?.device ?? info.name,
    wallMs: Math.round(wallMs), kernels: prof.kernels.length, kernelsTimed: timed, totalKernelMs: Math.round(totalKernelMs),
    byCount: [...byName.entries()].sort((a, b) => b[1].count - a[1].count).slice(0, 12).map(([name, e]) => `${name}:${e.count}`).join(' '),
    top: rows.slice(0, 15).map(([name, e]) => ({ name, ms: Number(e.ms.toFixed(1)), count: e.count, share: Number((e.ms / Math.max(totalKernelMs, 1e-9)).toFixed(3)) })),
  }));
}

void main();
