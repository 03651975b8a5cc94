/**
 * Fine-tunes a real ImageNet MobileNetV2 on the ants-vs-bees photos (PyTorch's transfer-learning
 * tutorial data) — offline, on the wasm backend by default, with fastai's `fine_tune` recipe (5
 * frozen epochs on the head, then every layer with discriminative rates and one-cycle for 5).
 * The backbone is the strongest in the shared assets: MobileNetV2 alpha 1.0 (Keras weights from
 * an int8 TFLite export) where present, else alpha 0.35; `--model DIR` picks one. On alpha 1.0,
 * 5-fold cross-validation of the training folder chose the recipe: `fine-tune` 97.1 %, linear
 * probe 95.1 %, `two-stage` 93.4 % (docs/results.md, with PyTorch on the same weights and folds).
 *
 *   npm run demo:ants
 *   npm run demo:ants -- --data my_photos/ --epochs 5 --backend cpu --out runs/mine
 *
 * Flags: --data DIR (one sub-folder per class), --val DIR (separate validation folder; no split
 * then), --model DIR, --recipe two-stage|fine-tune|gradual-unfreeze|feature-extraction, --head-epochs N,
 * --epochs N, --batch N, --lr X and --head-lr X (two-stage), --bn MODE, --frozen-bn MODE, --out DIR,
 * --backend NAME, --seed N, --augment flip|fastai, --tta false (skip the test-time-augmented score),
 * --antialias false (plain bilinear resizing, as transferkit did before 2026-11-29), --head keras|fastai,
 * --folds K (cross-validation: one run per fold of a seeded stratified K-fold split, so every photo
 * is validated once; the last line pools them), --fold I (only fold I of the K), --feature-layer NAME
 * (where the new head attaches; default: the model's own choice, the pooled features before its
 * classifier), --input-scale X --input-offset Y (pixel preprocessing x * X + Y, for models without a
 * metadata.json whose inputs are not [-1, 1]: Tiny Darknet takes --input-scale 0.00392156862745098
 * --input-offset 0).
 * The last line printed is one JSON object with the final figures.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { evaluate, fineTune, isTransferKitError, loadImageFolder, loadPretrained, replaceHead, saveModel, kFoldSplit, trainValSplit, useBackend, type BackendName, type BatchNormMode, type LabeledData, type Recipe } from 'transferkit';
import type { AugmentOptions } from 'transferkit/train';
import { assetsDir, BACKBONES, repoRoot, strongestBackbone } from './_assets.js';

const { values } = parseArgs({
  options: {
    data: { type: 'string', default: path.join(assetsDir, 'data/hymenoptera/train') },
    val: { type: 'string' },
    model: { type: 'string', default: strongestBackbone() },
    'head-epochs': { type: 'string', default: '5' },
    epochs: { type: 'string', default: '5' },
    batch: { type: 'string', default: '32' },
    lr: { type: 'string', default: '1e-4' },
    recipe: { type: 'string', default: 'fine-tune' },
    'head-lr': { type: 'string', default: '1e-3' },
    dropout: { type: 'string', default: '0.2' },
    out: { type: 'string', default: path.join(repoRoot, 'runs/ants-vs-bees') },
    backend: { type: 'string', default: 'wasm' },
    seed: { type: 'string', default: '42' },
    bn: { type: 'string' },
    'frozen-bn': { type: 'string' },
    augment: { type: 'string', default: 'flip' },
    tta: { type: 'string', default: 'true' },
    antialias: { type: 'string', default: 'true' },
    head: { type: 'string', default: 'keras' },
    folds: { type: 'string' },
    fold: { type: 'string' },
    'feature-layer': { type: 'string' },
    'input-scale': { type: 'string' },
    'input-offset': { type: 'string' },
  },
});

/**
 * `flip`: random horizontal flips only (both stages then train from cached activations).
 * `fastai`: fastai's usual vision augmentation, as near as torchvision-style ops allow:
 * `RandomResizedCrop(224, min_scale=0.35)` as the item transform, then `aug_transforms()`'s
 * flip, rotation up to 10 degrees and lighting 0.2 (its warp and small zoom are left out). Every
 * epoch's inputs differ, so the frozen layers run per batch instead of from a cache.
 */
function augmentPreset(name: string): AugmentOptions {
  if (name === 'flip') return { flip: true };
  if (name === 'fastai') return { flip: true, randomResizedCrop: { scale: [0.35, 1] }, rotation: 10, colorJitter: { brightness: 0.2, contrast: 0.2 } };
  console.error(`Unknown --augment ${name}: use flip or fastai.`);
  process.exit(2);
}

function need(p: string, what: string, flag: string): void {
  if (fs.existsSync(p)) return;
  console.error(
    `Missing ${what}: ${p}\n` +
      `The demo needs the shared assets (set TRANSFERKIT_ASSETS or place them at ../shared beside the repo):\n` +
      `  model: one of <assets>/${BACKBONES.join(', <assets>/')}  (TF.js layers model.json + weights.bin)\n` +
      `  data:  <assets>/data/hymenoptera/train/{ants,bees}/*.jpg\n` +
      `or pass ${flag} to use your own.`,
  );
  process.exit(2);
}

/** What --feature-layer, --input-scale and --input-offset ask of loadPretrained. */
function loadOptions(): { featureLayer?: string; preprocessing?: { scale: number; offset: number } } {
  const scale = values['input-scale'];
  const offset = values['input-offset'];
  return {
    ...(values['feature-layer'] !== undefined ? { featureLayer: values['feature-layer'] } : {}),
    ...(scale !== undefined || offset !== undefined ? { preprocessing: { scale: Number(scale ?? 1), offset: Number(offset ?? 0) } } : {}),
  };
}

interface Split {
  train: LabeledData;
  val: LabeledData;
  name: string;
}

/** The runs to make: one split (20 %, a --val folder, or one --fold), or every fold of --folds K. */
function splits(all: LabeledData, val: LabeledData | null, seed: number): Split[] {
  if (val !== null) return [{ train: all, val, name: 'folder' }];
  if (values.folds !== undefined) {
    const k = Number(values.folds);
    const folds = values.fold !== undefined ? [Number(values.fold)] : Array.from({ length: k }, (_, i) => i);
    return folds.map((f) => {
      const [train, v] = kFoldSplit(all, k, f, seed);
      return { train, val: v, name: `fold ${f} of ${k}, seed ${seed}` };
    });
  }
  const [train, v] = trainValSplit(all, 0.2, seed);
  return [{ train, val: v, name: `20 %, seed ${seed}` }];
}

async function main(): Promise<void> {
  need(values.model as string, 'pretrained model folder', '--model DIR');
  need(values.data as string, 'image folder', '--data DIR');
  const seed = Number(values.seed);
  const info = await useBackend(values.backend as BackendName);
  console.log(`backend: ${info.name} (threads ${info.threads ?? '?'}, simd ${info.simd ?? '-'}, can train: ${info.canTrain})`);
  if (values.head !== 'keras' && values.head !== 'fastai') {
    console.error(`Unknown --head ${values.head}: use keras or fastai.`);
    process.exit(2);
  }
  const augment = augmentPreset(values.augment as string);

  const probe = await loadPretrained(values.model as string, loadOptions());
  const [h, w] = probe.inputShape;
  const load = (dir: string, classNames?: string[]) =>
    loadImageFolder(dir, { size: [h, w], preprocessing: probe.preprocessing, classNames, antialias: values.antialias !== 'false' });
  const all = await load(values.data as string);
  console.log(`data: ${all.labels.length} images, classes [${all.classNames.join(', ')}], skipped ${all.skipped.length}`);
  const runs = splits(all, values.val !== undefined ? await load(values.val, all.classNames) : null, seed);
  if (values.val === undefined) all.xs.dispose();
  const results: Record<string, unknown>[] = [];
  for (const [i, split] of runs.entries()) {
    // Every run starts from the pretrained weights (replaceHead reuses the base's layers).
    const base = i === 0 ? probe : await loadPretrained(values.model as string, loadOptions());
    results.push(await runOne(base, split, info.name, augment, seed, runs.length === 1));
    tf.dispose([split.train.xs, split.val.xs]);
  }
  if (runs.length > 1) {
    // Cross-validation: every photo validated once; accuracies pooled over all validation photos.
    const sum = (k: string) => results.reduce((a, r) => a + (r[k] as number), 0);
    const ttaCorrect = results.every((r) => r.valCorrectTta !== null) ? sum('valCorrectTta') : null;
    console.log(JSON.stringify({
      crossValidation: `${runs.length} folds, seed ${seed}`,
      valAccuracy: sum('valCorrect') / sum('valImages'),
      valAccuracyTta: ttaCorrect === null ? null : ttaCorrect / sum('valImages'),
      valCorrect: sum('valCorrect'),
      valImages: sum('valImages'),
      perFold: results.map((r) => r.valCorrect),
      trainSeconds: Number(sum('trainSeconds').toFixed(1)),
      backend: info.name,
      recipe: values.recipe,
      head: values.head,
      numTensors: tf.memory().numTensors,
    }));
  }
}

/** Recipes whose BatchNorm statistics the demo keeps fixed (see runOne). */
const FIXED_STATISTICS = new Set<Recipe>(['fine-tune', 'gradual-unfreeze']);

async function runOne(base: Awaited<ReturnType<typeof loadPretrained>>, split: Split, backend: string, augment: AugmentOptions, seed: number, save: boolean): Promise<Record<string, unknown>> {
  const { train, val } = split;
  const classNames = train.classNames;
  console.log(`data (${split.name}): ${train.labels.length} train / ${val.labels.length} val images, classes [${classNames.join(', ')}]`);
  // keras: dropout → dense (Keras applications' top); fastai: fastai's create_head (concat pooling,
  // BatchNorm, a 512-unit hidden layer, dropout 0.25 / 0.5; --dropout does not apply).
  const model = replaceHead(base, values.head === 'fastai'
    ? { numClasses: classNames.length, classNames, preset: 'fastai', seed }
    : { numClasses: classNames.length, classNames, dropout: Number(values.dropout), seed });
  const t0 = performance.now();
  const recipe = values.recipe as Recipe;
  const { history } = await fineTune(model, train, {
    recipe,
    validation: val,
    // fastai's fine_tune: freeze_epochs (fastai's default 1; 5 here: with frozen BatchNorm the head
    // trains from cached features, so the extra epochs cost under a second), then every layer.
    headEpochs: Number(values['head-epochs']),
    epochs: Number(values.epochs),
    batchSize: Number(values.batch),
    learningRate: Number(values.lr),
    headLearningRate: Number(values['head-lr']),
    seed,
    augment,
    // For 'fine-tune' and 'gradual-unfreeze', BatchNorm keeps its ImageNet statistics throughout
    // (Keras' advice for fine-tuning BN models on small data; fastai's and Lightning's defaults
    // update them): 'frozen' in the head stage (which also makes the backbone cacheable),
    // gamma/beta trained with fixed statistics ('train-affine') once layers are unfrozen. The
    // full-width backbone needs it: its BatchNorm is folded from TFLite (identity statistics), and
    // batch statistics would renormalise activations whose scale the folding fixed — Lightning's
    // train_bn on it trains at chance (loss ln 2, docs/results.md). --bn / --frozen-bn override.
    ...(values.bn !== undefined ? { bn: values.bn as BatchNormMode } : FIXED_STATISTICS.has(recipe) ? { bn: 'train-affine' as const } : {}),
    ...(values['frozen-bn'] !== undefined ? { frozenBn: values['frozen-bn'] as BatchNormMode } : FIXED_STATISTICS.has(recipe) ? { frozenBn: 'frozen' as const } : {}),
    onEpochEnd: (l) =>
      console.log(
        `${l.stage.padEnd(9)} epoch ${l.epoch}: loss ${l.loss.toFixed(4)} acc ${(100 * l.accuracy).toFixed(1)}% | ` +
          `val loss ${l.valLoss?.toFixed(4)} acc ${(100 * (l.valAccuracy ?? 0)).toFixed(1)}% | lr ${l.learningRate.toExponential(2)} | ${l.seconds.toFixed(1)} s` +
          (l.microBatchSize ? ` | micro-batch ${l.microBatchSize}` : ''),
      ),
  });
  const trainSeconds = (performance.now() - t0) / 1000;
  // fastai's Learner.tta on the validation photos: 4 passes with the training augmentation,
  // blended 3:1 with the plain prediction. Reported beside the plain accuracy, not instead of it.
  const tta = values.tta !== 'false' ? await evaluate(model, val, { tta: { augment, seed } }) : null;
  if (tta !== null) console.log(`test-time augmentation (fastai tta, n=4, beta=0.25): val loss ${tta.loss.toFixed(4)} acc ${(100 * tta.accuracy).toFixed(1)}%`);
  if (save) {
    await saveModel(model, values.out as string);
    console.log(`saved: ${values.out}`);
  }
  const last = history[history.length - 1];
  const result = {
    valAccuracy: last?.valAccuracy ?? null,
    valLoss: last?.valLoss ?? null,
    valAccuracyTta: tta?.accuracy ?? null,
    trainAccuracy: last?.accuracy ?? null,
    trainSeconds: Number(trainSeconds.toFixed(1)),
    backend,
    recipe,
    head: values.head,
    trainImages: train.labels.length,
    valImages: val.labels.length,
    valCorrect: last?.valAccuracy !== undefined ? Math.round(last.valAccuracy * val.labels.length) : null,
    valCorrectTta: tta !== null ? Math.round(tta.accuracy * val.labels.length) : null,
    split: split.name,
    epochs: history.length,
    numTensors: tf.memory().numTensors,
  };
  console.log(JSON.stringify(result));
  // Free the weights before the next fold: the new model and the base each hold the backbone
  // layers they share, which are freed when both are disposed (the base's old classifier with it).
  model.model.dispose();
  base.model.dispose();
  return result;
}

main().catch((err) => {
  if (isTransferKitError(err)) {
    console.error(err.message);
    process.exit(1);
  }
  throw err;
});
