/**
 * Where a wasm training step of MobileNetV2 spends its time: kernel times from `tf.profile`
 * summed by kernel name (a composed kernel's inner kernels are listed under their own names and
 * also counted inside it, so the sum exceeds the step), the step's wall time, and what the
 * JavaScript outside kernels costs (wall time minus the outermost kernels' times).
 *
 *   npx tsx bench/wasm-profile.ts [--model DIR] [--size 96] [--batch 32] [--bn train|train-affine|frozen] [--threads 2] [--top 25]
 *
 * Prints one JSON line per kernel (sorted by time), then a summary line.
 */
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import * as tk from '../src/index.js';
import { mobilenetTrainStep } from './_mobilenet_step.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({ options: { model: { type: 'string' }, size: { type: 'string', default: '96' }, batch: { type: 'string', default: '32' }, threads: { type: 'string' }, top: { type: 'string', default: '25' }, bn: { type: 'string', default: 'train' } } });
const MODEL = values.model ?? path.join(process.env.TRANSFERKIT_ASSETS ?? path.resolve(here, '..', '..', 'shared'), 'models/mobilenet_v2_1.0_224_nsfwjs');
const size = Number(values.size);
const batch = Number(values.batch);

async function main(): Promise<void> {
  const info = await tk.useBackend('wasm', values.threads !== undefined ? { threads: Number(values.threads) } : {});
  const step = await mobilenetTrainStep(MODEL, size, batch, values.bn as tk.BatchNormMode);
  await step();
  await step();
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    await step();
    times.push(performance.now() - t0);
  }
  const wallMs = times.sort((a, b) => a - b)[1];
  const prof = await tf.profile(step as unknown as () => tf.TensorContainer);
  const byName = new Map<string, { ms: number; calls: number }>();
  let total = 0;
  for (const k of prof.kernels) {
    const ms = Number(await k.kernelTimeMs);
    total += ms;
    const e = byName.get(k.name) ?? { ms: 0, calls: 0 };
    e.ms += ms;
    e.calls += 1;
    byName.set(k.name, e);
  }
  const rows = [...byName.entries()].sort((a, b) => b[1].ms - a[1].ms);
  for (const [name, e] of rows.slice(0, Number(values.top))) console.log(JSON.stringify({ kernel: name, ms: Number(e.ms.toFixed(1)), calls: e.calls, share: Number((e.ms / wallMs).toFixed(3)) }));
  console.log(JSON.stringify({ summary: true, backend: info.name, threads: info.threads, size, batch, bn: values.bn, stepMs: Number(wallMs.toFixed(0)), samplesPerSec: Number((batch / (wallMs / 1000)).toFixed(2)), kernels: prof.kernels.length, kernelMsSummed: Number(total.toFixed(0)), kernelNames: rows.length }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
