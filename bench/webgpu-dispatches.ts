/**
 * GPU dispatches of one warm training step (Adam, every layer trained) and one inference batch on
 * webgpu, per program and per TF.js kernel (`countGpuDispatches`). Counts are deterministic, so a
 * software rasteriser (llvmpipe) gives the same figures as a GPU; llvmpipe is slow, though (a
 * MobileNetV2 step at 224 px, batch 32 takes ~35 s).
 *
 *   npx tsx bench/webgpu-dispatches.ts [--arch mobilenet_v2|resnet50] [--size 224] [--batch 32] [--model DIR]
 *
 * For the count before a change, copy src/backends/webgpu/dispatch_counter.ts and this script
 * into a checkout of the older commit (docs/performance.md, "Dispatches per step").
 */
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { preloadWebgpu } from './_webgpu_preload.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({ options: { arch: { type: 'string', default: 'mobilenet_v2' }, size: { type: 'string', default: '224' }, batch: { type: 'string', default: '32' }, model: { type: 'string' } } });
const MODEL = values.model ?? path.join(process.env.TRANSFERKIT_ASSETS ?? path.resolve(here, '..', '..', 'shared'), 'models/mobilenet_v2_1.0_224_nsfwjs');

async function main(): Promise<void> {
  await preloadWebgpu();
  const tk = await import('../src/index.js');
  const { countStepDispatches } = await import('./_dispatch_step.js');
  const info = await tk.useBackend('webgpu');
  const size = Number(values.size);
  const batch = Number(values.batch);
  const pm = values.arch === 'resnet50' ? await tk.loadPretrained('resnet50', { weights: null, seed: 1, inputShape: [size, size, 3] }) : await tk.loadPretrained(MODEL, { inputShape: [size, size, 3], cutAt: 'out_relu' });
  const { variables, train, infer } = await countStepDispatches(pm, size, batch);
  const top = (c: typeof train, n = 30) => Object.fromEntries(c.byKernel.slice(0, n));
  console.log(JSON.stringify({ arch: values.arch, size, batch, variables, device: info.gpuAdapter?.device, trainDispatches: train.dispatches, inferDispatches: infer.dispatches, bindGroups: train.bindGroups, uniformWrites: train.uniformWrites, trainByKernel: top(train), inferByKernel: top(infer, 12) }));
}

void main().then(() => process.exit(0));
