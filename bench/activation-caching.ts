/**
 * What activation caching buys: the demo's two-stage recipe on the real ants-vs-bees photos with
 * `cacheActivations` on and off (same seed, so the same updates up to float rounding), timing each
 * stage and the time to reach each target validation accuracy (wall clock from the start of
 * fineTune, cache computation included; 85 % is the end-to-end test's bar). Where /usr/bin/python3 has torch, the same run times
 * PyTorch's tutorial recipe (frozen backbone recomputed every epoch, head trained for the same
 * epochs) on the same photos: bench/torch_tutorial_recipe.py. Prints JSON lines and a summary.
 *
 *   npx tsx bench/activation-caching.ts [--epochs 5] [--head-epochs 5] [--targets 0.8,0.85,0.9] [--backend wasm] [--torch auto|off]
 */
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { fineTune, loadImageFolder, loadPretrained, replaceHead, trainValSplit, useBackend, type BackendName } from 'transferkit';
import { antsAssets } from './_ants_assets.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({ options: { epochs: { type: 'string', default: '5' }, 'head-epochs': { type: 'string', default: '5' }, backend: { type: 'string', default: 'wasm' }, seed: { type: 'string', default: '42' }, targets: { type: 'string', default: '0.8,0.85,0.9' }, torch: { type: 'string', default: 'auto' } } });

async function main(): Promise<void> {
  const found = antsAssets();
  if (found === null) return;
  const { modelDir, dataDir } = found;
  await useBackend(values.backend as BackendName);
  const seed = Number(values.seed);
  const results: Record<string, number | string>[] = [];
  for (const cache of [true, false]) {
    const base = await loadPretrained(modelDir);
    const all = await loadImageFolder(dataDir, { size: [224, 224], preprocessing: base.preprocessing, onWarning: () => undefined });
    const [train, val] = trainValSplit(all, 0.2, seed);
    all.xs.dispose();
    const model = replaceHead(base, { numClasses: 2, seed });
    const targets = (values.targets as string).split(',').map(Number);
    const reachedAt: Record<string, number | string> = Object.fromEntries(targets.map((t) => [String(t), 'not reached']));
    const t0 = performance.now();
    const { history } = await fineTune(model, train, {
      validation: val, headEpochs: Number(values['head-epochs']), epochs: Number(values.epochs), seed, cacheActivations: cache, progress: 'silent',
      onEpochEnd: (l) => {
        for (const t of targets) if (reachedAt[String(t)] === 'not reached' && (l.valAccuracy ?? 0) >= t) reachedAt[String(t)] = Number(((performance.now() - t0) / 1000).toFixed(1));
      },
    });
    const total = (performance.now() - t0) / 1000;
    const stage = (s: string) => history.filter((h) => h.stage === s).reduce((a, h) => a + h.seconds, 0);
    const r = {
      cacheActivations: String(cache), trainImages: train.labels.length, totalSeconds: Number(total.toFixed(1)),
      headEpochSeconds: Number((stage('head') / Number(values['head-epochs'])).toFixed(2)),
      fineTuneEpochSeconds: Number((stage('fine-tune') / Number(values.epochs)).toFixed(2)),
      valAccuracy: history[history.length - 1].valAccuracy ?? NaN,
      secondsToTarget: JSON.stringify(reachedAt),
      cachedFrom: history.map((h) => h.cachedFrom).join(','),
      valAccuracies: history.map((h) => (h.valAccuracy ?? NaN).toFixed(3)).join(','),
      valLosses: history.map((h) => (h.valLoss ?? NaN).toFixed(4)).join(','),
    };
    console.log(JSON.stringify(r));
    results.push(r);
    tf.dispose([train.xs, val.xs]);
  }
  const [on, off] = results;
  const torch: Record<string, number | string>[] = [];
  const hasTorch = values.torch !== 'off' && spawnSync('/usr/bin/python3', ['-c', 'import torch, torchvision, PIL'], { encoding: 'utf8' }).status === 0;
  if (!hasTorch) console.log(JSON.stringify({ framework: 'pytorch', skipped: values.torch === 'off' ? 'disabled (--torch off)' : '/usr/bin/python3 lacks torch/torchvision/PIL' }));
  else {
    for (const threads of [1, 2]) {
      const r = spawnSync('/usr/bin/python3', [path.join(here, 'torch_tutorial_recipe.py'), '--data', dataDir, '--epochs', String(values['head-epochs']), '--threads', String(threads), '--limit', String(on.trainImages)], { encoding: 'utf8', timeout: 1_800_000 });
      const line = (r.stdout ?? '').trim().split('\n').reverse().find((l) => l.startsWith('{'));
      const res = line ? (JSON.parse(line) as Record<string, number | string>) : { framework: 'pytorch', threads, skipped: (r.stderr ?? '').slice(-300) };
      console.log(JSON.stringify(res));
      torch.push(res);
    }
  }
  const ratio = (a: unknown, b: unknown) => (typeof a === 'number' && typeof b === 'number' ? Number((a / b).toFixed(2)) : null);
  console.log(JSON.stringify({
    summary: 'time with caching vs without (same recipe and seed); head-stage epoch time vs PyTorch tutorial recipe (same photos and epochs)',
    totalSpeedup: ratio(off.totalSeconds, on.totalSeconds),
    headEpochSpeedup: ratio(off.headEpochSeconds, on.headEpochSeconds),
    fineTuneEpochSpeedup: ratio(off.fineTuneEpochSeconds, on.fineTuneEpochSeconds),
    timeToTargetSpeedup: Object.fromEntries((values.targets as string).split(',').map((t) => [t, ratio((JSON.parse(off.secondsToTarget as string) as Record<string, unknown>)[t], (JSON.parse(on.secondsToTarget as string) as Record<string, unknown>)[t])])),
    headEpochTorchOverTk: Object.fromEntries(torch.filter((t) => typeof t.headEpochSeconds === 'number').map((t) => [`torch ${t.threads}t / transferkit cached`, ratio(t.headEpochSeconds, on.headEpochSeconds)])),
    headEpochTorchOverTkUncached: Object.fromEntries(torch.filter((t) => typeof t.headEpochSeconds === 'number').map((t) => [`torch ${t.threads}t / transferkit uncached`, ratio(t.headEpochSeconds, off.headEpochSeconds)])),
  }));
}

void main();
