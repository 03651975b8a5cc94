/**
 * Counts the GPU dispatches of one warm training step and one inference batch of a real model on
 * webgpu (bench/_dispatch_step.ts, as `bench/webgpu-dispatches.ts`) and prints them as one JSON
 * line. A child process because on llvmpipe (CI) TF.js's synchronous pipeline compiles and
 * dispatches block the event loop for 6–30 s per step: inside a vitest worker that starves
 * vitest's RPC (see test/helpers/run.ts). MODEL: 'mobilenet_v2' (DIR: the nsfwjs MobileNetV2 1.0
 * folder, 224 px, batch 2) or 'resnet50' (fresh seeded weights, 96 px, batch 1).
 */
import { loadPretrained, useBackend } from '../../../src/index.js';
import { countStepDispatches } from '../../../bench/_dispatch_step.js';

try {
  await useBackend('webgpu');
} catch (err) {
  console.log(JSON.stringify({ skip: (err as Error).message }));
  process.exit(0);
}
const out =
  process.env.MODEL === 'mobilenet_v2'
    ? await countStepDispatches(await loadPretrained(process.env.DIR as string, { inputShape: [224, 224, 3], cutAt: 'out_relu' }), 224, 2)
    : await countStepDispatches(await loadPretrained('resnet50', { weights: null, seed: 1, inputShape: [96, 96, 3] }), 96, 1);
console.log(JSON.stringify(out));
