/**
 * PyTorch on the same work as the ants-vs-bees cross-validation (docs/results.md): writes the demo's
 * exact inputs — the photos loaded and preprocessed as `npm run demo:ants` loads them, the 5
 * stratified folds of `kFoldSplit(all, 5, f, seed)`, transferkit's layer-group boundary and the
 * backbone's pooled features of 8 photos (to check the weight port) — then runs
 * bench/torch_ants_cv.py, which trains the demo's `'fine-tune'` recipe in PyTorch on the same
 * MobileNetV2 weights (`--model`: by default the demo's, the strongest backbone in the shared
 * assets — alpha 1.0 where present, else 0.35), once per `--seeds` entry (PyTorch's own dropout,
 * shuffles and flips).
 * `--tk-folds 0,1` also runs the demo itself on those folds in the same run (one process a fold),
 * for the accuracy and a training-time ratio on identical work.
 *
 *   npx tsx bench/ants-cv-torch.ts [--seeds 0,1,2] [--bn frozen|train] [--head-epochs 5] [--tk-folds 0] [--model DIR] [--dir DIR]
 *
 * Needs /usr/bin/python3 with torch (prints a JSON skip line otherwise) and the shared assets.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { loadImageFolder, loadPretrained, replaceHead, useBackend } from 'transferkit';
import { foldIndices } from 'transferkit/datasets';
import { layerGroups } from 'transferkit/optimizers';
import { runLayers } from '../src/train/graph_executor.js';
import { antsAssets } from './_ants_assets.js';
import { strongestBackbone } from '../examples/_assets.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '0,1,2' }, bn: { type: 'string', default: 'frozen' }, 'head-epochs': { type: 'string', default: '5' },
    epochs: { type: 'string', default: '5' }, seed: { type: 'string', default: '42' }, 'tk-folds': { type: 'string', default: '' },
    dir: { type: 'string' }, model: { type: 'string', default: strongestBackbone() }, threads: { type: 'string', default: String(Math.max(1, os.cpus().length)) },
  },
});
const K = 5;

/** Writes xs.f32 (N×224×224×3 float32, the model's inputs) and meta.json into `dir`. */
async function exportInputs(dir: string, modelDir: string, dataDir: string, seed: number): Promise<void> {
  const pm = await loadPretrained(modelDir);
  const all = await loadImageFolder(dataDir, { size: [224, 224], preprocessing: pm.preprocessing, antialias: true, onWarning: () => undefined });
  fs.writeFileSync(path.join(dir, 'xs.f32'), new Uint8Array((await all.xs.data<'float32'>()).buffer));
  const fold = new Int32Array(all.labels.length);
  for (let f = 0; f < K; f++) for (const i of foldIndices(all.labels, all.classNames.length, K, f, seed)[1]) fold[i] = f;
  // The demo's model: its layer groups (the 'fine-tune' recipe's discriminative rates) and features.
  const model = replaceHead(pm, { numClasses: all.classNames.length, seed });
  const group1 = layerGroups(model, 3)[1][0].name;
  const pool = model.model.layers.findIndex((l) => l.getClassName() === 'GlobalAveragePooling2D');
  const x8 = tf.slice(all.xs, 0, 8);
  const f8 = runLayers(model.model, 0, x8, pool, false);
  fs.writeFileSync(path.join(dir, 'meta.json'), JSON.stringify({
    n: all.labels.length, labels: Array.from(all.labels), classNames: all.classNames, fold: Array.from(fold), k: K, seed, group1, feat8: Array.from(await f8.data()),
  }));
  tf.dispose([all.xs, x8, f8]);
  model.model.dispose();
}

function jsonLines(out: string): Record<string, unknown>[] {
  return out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
}

async function main(): Promise<void> {
  const assets = antsAssets();
  if (assets === null) return;
  const found = { ...assets, modelDir: values.model as string };
  if (spawnSync('/usr/bin/python3', ['-c', 'import torch, numpy'], { encoding: 'utf8' }).status !== 0) {
    console.log(JSON.stringify({ framework: 'pytorch', skipped: '/usr/bin/python3 lacks torch/numpy (apt-get install -y python3-torch)' }));
    return;
  }
  await useBackend('wasm');
  const seed = Number(values.seed);
  const dir = values.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'transferkit-ants-cv-'));
  fs.mkdirSync(dir, { recursive: true });
  try {
    await exportInputs(dir, found.modelDir, found.dataDir, seed);
    const torchArgs = [path.join(here, 'torch_ants_cv.py'), '--dir', dir, '--model', found.modelDir, '--seeds', values.seeds as string, '--bn', values.bn as string,
      '--head-epochs', values['head-epochs'] as string, '--epochs', values.epochs as string, '--threads', values.threads as string];
    const tk: Record<string, unknown>[] = [];
    const tkFolds = (values['tk-folds'] as string).split(',').filter((s) => s !== '').map(Number);
    for (const f of tkFolds) {
      // The demo, unchanged, on fold f (its defaults are the recipe torch_ants_cv.py reproduces).
      const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(here, '..', 'examples', 'ants-vs-bees.ts'), '--folds', String(K), '--fold', String(f), '--seed', String(seed),
        '--tta', 'false', '--model', found.modelDir, '--head-epochs', values['head-epochs'] as string, '--epochs', values.epochs as string, '--out', path.join(dir, `tk-${f}`)], { encoding: 'utf8', timeout: 3_600_000 });
      const last = jsonLines(r.stdout ?? '').pop();
      const res = last !== undefined ? { framework: 'transferkit', fold: f, correct: last.valCorrect, of: last.valImages, trainSeconds: last.trainSeconds } : { framework: 'transferkit', fold: f, failed: (r.stderr ?? '').slice(-300) };
      console.log(JSON.stringify(res));
      tk.push(res);
    }
    // Torch restricted to the same folds when the demo ran some, so the time ratio compares like with like.
    const torchFolds = tkFolds.length > 0 ? ['--folds', tkFolds.join(',')] : [];
    const r = spawnSync('/usr/bin/python3', [...torchArgs, ...torchFolds], { encoding: 'utf8', timeout: 7_200_000 });
    process.stdout.write(r.stdout ?? '');
    if (r.status !== 0) {
      console.log(JSON.stringify({ framework: 'pytorch', failed: (r.stderr ?? '').slice(-500) }));
      return;
    }
    const perSeed = jsonLines(r.stdout).filter((l) => l.valAccuracy !== undefined);
    const acc = perSeed.map((l) => l.valAccuracy as number);
    const summary: Record<string, unknown> = {
      summary: `PyTorch, the demo's 'fine-tune' recipe (bn ${values.bn}, ${values['head-epochs']} head epochs) on ${path.basename(found.modelDir)}, ${K}-fold split seed ${seed}, ${acc.length} torch seeds`,
      torchValAccuracy: acc.map((v) => Number(v.toFixed(4))),
      torchMean: Number((acc.reduce((s, v) => s + v, 0) / acc.length).toFixed(4)),
    };
    const tkDone = tk.filter((t) => typeof t.trainSeconds === 'number');
    if (tkDone.length > 0) {
      const torchSecondsPerFold = perSeed.reduce((s, l) => s + (l.seconds as number), 0) / perSeed.length / tkFolds.length;
      const tkSecondsPerFold = tkDone.reduce((s, t) => s + (t.trainSeconds as number), 0) / tkDone.length;
      Object.assign(summary, {
        transferkitCorrect: tkDone.map((t) => `${t.correct}/${t.of}`).join(' '),
        torchCorrectSameFolds: jsonLines(r.stdout).filter((l) => l.fold !== undefined).map((l) => `${l.correct}/${l.of}`).join(' '),
        secondsPerFold: { transferkit: Number(tkSecondsPerFold.toFixed(1)), torch: Number(torchSecondsPerFold.toFixed(1)) },
        transferkitOverTorchTime: Number((tkSecondsPerFold / torchSecondsPerFold).toFixed(2)),
      });
    }
    console.log(JSON.stringify(summary));
  } finally {
    if (values.dir === undefined) fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
