/**
 * What activation caching buys: the demo's two-stage recipe on the real ants-vs-bees photos with
 * `cacheActivations` on and off (same seed, so the same updates up to float rounding), timing each
 * stage. Prints one JSON line per run and a summary with the speed-ups.
 *
 *   npx tsx bench/activation-caching.ts [--epochs 5] [--head-epochs 5] [--backend wasm]
 */
import * as path from 'node:path';
import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { fineTune, loadImageFolder, loadPretrained, replaceHead, trainValSplit, useBackend, type BackendName } from '../src/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const assets = process.env.TRANSFERKIT_ASSETS ?? path.resolve(here, '..', '..', 'shared');
const { values } = parseArgs({ options: { epochs: { type: 'string', default: '5' }, 'head-epochs': { type: 'string', default: '5' }, backend: { type: 'string', default: 'wasm' }, seed: { type: 'string', default: '42' } } });

async function main(): Promise<void> {
  const modelDir = path.join(assets, 'models/mobilenet_v2_0.35_224_teachable');
  const dataDir = path.join(assets, 'data/hymenoptera/train');
  if (!fs.existsSync(modelDir) || !fs.existsSync(dataDir)) {
    console.log(JSON.stringify({ skipped: `assets not found under ${assets}; set TRANSFERKIT_ASSETS` }));
    return;
  }
  await useBackend(values.backend as BackendName);
  const seed = Number(values.seed);
  const results: Record<string, number | string>[] = [];
  for (const cache of [true, false]) {
    const base = await loadPretrained(modelDir);
    const all = await loadImageFolder(dataDir, { size: [224, 224], preprocessing: base.preprocessing, onWarning: () => undefined });
    const [train, val] = trainValSplit(all, 0.2, seed);
    all.xs.dispose();
    const model = replaceHead(base, { numClasses: 2, seed });
    const t0 = performance.now();
    const { history } = await fineTune(model, train, { validation: val, headEpochs: Number(values['head-epochs']), epochs: Number(values.epochs), seed, cacheActivations: cache });
    const total = (performance.now() - t0) / 1000;
    const stage = (s: string) => history.filter((h) => h.stage === s).reduce((a, h) => a + h.seconds, 0);
    const r = {
      cacheActivations: String(cache), totalSeconds: Number(total.toFixed(1)),
      headEpochSeconds: Number((stage('head') / Number(values['head-epochs'])).toFixed(2)),
      fineTuneEpochSeconds: Number((stage('fine-tune') / Number(values.epochs)).toFixed(2)),
      valAccuracy: history[history.length - 1].valAccuracy ?? NaN,
      cachedFrom: history.map((h) => h.cachedFrom).join(','),
    };
    console.log(JSON.stringify(r));
    results.push(r);
    tf.dispose([train.xs, val.xs]);
  }
  const [on, off] = results;
  console.log(JSON.stringify({
    summary: 'time with caching vs without, same recipe and seed',
    totalSpeedup: Number(((off.totalSeconds as number) / (on.totalSeconds as number)).toFixed(2)),
    headEpochSpeedup: Number(((off.headEpochSeconds as number) / (on.headEpochSeconds as number)).toFixed(1)),
    fineTuneEpochSpeedup: Number(((off.fineTuneEpochSeconds as number) / (on.fineTuneEpochSeconds as number)).toFixed(2)),
  }));
}

void main();
