/**
 * Load time of the TF.js layers models in ../shared through `loadPretrained` (cpu backend): the
 * median of 5 warm loads each, as one JSON line. Loads build the graph first and then copy the
 * decoded weights (so a file whose weights do not fit its topology leaks nothing; issue 27), which
 * costs the initialisers: compare a commit before with `git worktree`.
 *
 *   npx tsx bench/load-time.ts
 */
import * as path from 'node:path';
import { loadPretrained, useBackend } from 'transferkit';

const shared = process.env.TRANSFERKIT_ASSETS ?? path.resolve('..', 'shared');
const models = ['mobilenet_v2_1.0_224_keras_from_tflite', 'mobilenet_v2_1.0_224_nsfwjs', 'mobilenet_v2_0.35_224_teachable', 'darknet_tiny_imagenet'];

await useBackend('cpu');
const out: Record<string, number> = {};
for (const id of models) {
  const dir = path.join(shared, 'models', id);
  (await loadPretrained(dir)).model.dispose(); // warm-up
  const ms: number[] = [];
  for (let k = 0; k < 5; k++) {
    const t = performance.now();
    const pm = await loadPretrained(dir);
    ms.push(performance.now() - t);
    pm.model.dispose();
  }
  out[id] = Math.round(ms.sort((a, b) => a - b)[2]);
}
console.log(JSON.stringify({ bench: 'load-time', backend: 'cpu', medianMs: out }));
