/**
 * `transferkit fine-tune`: the whole job in one command. Loads `--model`, puts a head for the
 * data's classes on it, trains with a recipe, and leaves a run folder:
 *
 *   <out>/config.json    the exact configuration (every option, resolved) and the environment
 *   <out>/history.json   per-epoch figures and the learning rate of every step
 *   <out>/model/         the trained model (TF.js layers format; `loadPretrained` reads it back)
 *   <out>/metrics.json   validation accuracy, loss, confusion matrix, per-class precision/recall
 *   <out>/report.html    curves, confusion matrix, misclassified examples, configuration, environment
 *   <out>/checkpoint/    while running and after an interrupt (removed when the run completes)
 *
 * Ctrl-C stops after the current optimizer step (mid-epoch too) and checkpoints it; `--resume <out>` rebuilds the
 * same model and split from config.json and continues exactly where it stopped.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { TransferKitError } from '../../errors.js';
import { fineTune, type EpochLog, type Recipe } from '../../transfer/fine_tune.js';
import { evaluate } from '../../train/evaluate.js';
import { saveModel } from '../../models/save_model.js';
import { useBackend, type BackendName } from '../../backends/backend.js';
import type { BatchNormMode } from '../../layers/batch_norm.js';
import { renderRunReport, type Misclassified } from '../../report/run_report.js';
import { thumbnailDataUri } from '../../report/thumbnail.js';
import { int, num, parse, UsageError, type OptionSpec } from '../args.js';
import { loadCliData, type ExampleRef } from '../data.js';
import { environment } from '../environment.js';
import { loadBase, withHead } from '../model.js';
import { backendLine, makeOutput } from '../output.js';
import { checkOutputDir, makeDir, readJsonFile, writeFile, writeJsonAtomic } from '../files.js';

export const USAGE = `Usage: transferkit fine-tune --model <zoo id | folder | onnx:folder> --data <image folder | .csv/.tsv/.jsonl> [--val <same>] [--out runs/NAME]
         [--recipe two-stage|fine-tune|gradual-unfreeze|feature-extraction|full] [--epochs 5] [--head-epochs 5] [--lr 1e-4] [--head-lr 1e-3]
         [--batch 32] [--dropout 0.2] [--val-split 0.2] [--seed 42] [--bn MODE] [--frozen-bn MODE] [--feature-layer NAME] [--backend wasm|cpu|webgpu|tensorflow]
         [--allow-downloads] [--json] [--quiet] [--verbose]
       transferkit fine-tune --resume runs/NAME`;

const SPEC: OptionSpec = {
  model: { type: 'string' },
  data: { type: 'string' },
  val: { type: 'string' },
  out: { type: 'string' },
  resume: { type: 'string' },
  recipe: { type: 'string' },
  epochs: { type: 'string' },
  'head-epochs': { type: 'string' },
  lr: { type: 'string' },
  'head-lr': { type: 'string' },
  batch: { type: 'string' },
  dropout: { type: 'string' },
  'val-split': { type: 'string' },
  seed: { type: 'string' },
  bn: { type: 'string' },
  'frozen-bn': { type: 'string' },
  'feature-layer': { type: 'string' },
  'allow-downloads': { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  'max-misclassified': { type: 'string' },
};

/** The first skipped files, each whole (its name, then the reason without the path repeated), and a count of the rest. */
function skippedList(skipped: { file: string; reason: string }[]): string {
  const shown = skipped.slice(0, 3).map((s) => `${path.basename(s.file)}: ${s.reason.split(s.file).join('').replace(/^[\s:]+/, '')}`);
  return shown.join('; ') + (skipped.length > 3 ? `; and ${skipped.length - 3} more` : '');
}

/** Every setting of a run, resolved (what config.json stores and `--resume` reads back). */
export interface FineTuneConfig {
  model: string;
  data: string;
  val: string | null;
  valSplit: number;
  recipe: Recipe;
  epochs: number;
  headEpochs: number;
  lr: number;
  headLr: number;
  batch: number;
  dropout: number;
  seed: number;
  bn: BatchNormMode | null;
  frozenBn: BatchNormMode | null;
  /** The layer the new head goes on (default: the model's own choice, see loadPretrained). */
  featureLayer?: string;
  backend: string;
  allowDownloads: boolean;
  maxMisclassified: number;
}

const RECIPES: Recipe[] = ['two-stage', 'fine-tune', 'gradual-unfreeze', 'feature-extraction', 'head-only', 'full'];

function resolveConfig(v: Record<string, unknown>): FineTuneConfig {
  const model = v.model as string | undefined;
  const data = v.data as string | undefined;
  if (model === undefined) throw new UsageError('Missing --model.', USAGE);
  if (data === undefined) throw new UsageError('Missing --data.', USAGE);
  const recipe = (v.recipe as string | undefined) ?? (model.startsWith('onnx:') ? 'feature-extraction' : 'two-stage');
  if (!RECIPES.includes(recipe as Recipe)) throw new TransferKitError('E_BAD_OPTION', `--recipe must be one of ${RECIPES.join(', ')}. Received: ${recipe}.`);
  const bnModes = ['frozen', 'train-affine', 'train'];
  for (const k of ['bn', 'frozen-bn']) {
    if (v[k] !== undefined && !bnModes.includes(v[k] as string)) throw new TransferKitError('E_BAD_OPTION', `--${k} must be one of ${bnModes.join(', ')}. Received: ${String(v[k])}.`);
  }
  return {
    // Local paths are stored absolute, so `--resume` works from any directory.
    model: fs.existsSync(model) ? path.resolve(model) : model,
    data: path.resolve(data),
    val: v.val !== undefined ? path.resolve(v.val as string) : null,
    valSplit: num(v, 'val-split', 0.2, (x) => x > 0 && x < 1, 'in (0, 1)'),
    recipe: recipe as Recipe,
    epochs: int(v, 'epochs', 5),
    headEpochs: int(v, 'head-epochs', 5),
    lr: num(v, 'lr', 1e-4, (x) => x > 0, '> 0'),
    headLr: num(v, 'head-lr', 1e-3, (x) => x > 0, '> 0'),
    batch: int(v, 'batch', 32, 1),
    dropout: num(v, 'dropout', 0.2, (x) => x >= 0 && x < 1, 'in [0, 1)'),
    seed: int(v, 'seed', 42),
    bn: (v.bn as BatchNormMode | undefined) ?? null,
    frozenBn: (v['frozen-bn'] as BatchNormMode | undefined) ?? null,
    ...(typeof v['feature-layer'] === 'string' ? { featureLayer: v['feature-layer'] } : {}),
    backend: (v.backend as string | undefined) ?? 'auto',
    allowDownloads: v['allow-downloads'] === true,
    maxMisclassified: int(v, 'max-misclassified', 24),
  };
}

/** The stored run of `--resume DIR`, checked: a config.json this command wrote. */
function readRunConfig(resumeDir: string): { config: FineTuneConfig; status?: string } {
  const file = path.join(resumeDir, 'config.json');
  if (!fs.existsSync(file)) throw new TransferKitError('E_IO_NOT_FOUND', `--resume: ${file} is missing; pass a run folder written by transferkit fine-tune.`);
  const fix = 'It is written by `transferkit fine-tune`; restore it, or start a new run with --out.';
  const stored = readJsonFile(file, 'run configuration', fix, '--resume') as { config?: Partial<FineTuneConfig>; status?: unknown } | null;
  const cfg = typeof stored === 'object' && stored !== null && !Array.isArray(stored) ? stored.config : undefined;
  const missing = cfg === undefined || cfg === null || typeof cfg !== 'object' ? 'config' : (['model', 'data', 'recipe', 'backend'] as const).find((k) => typeof cfg[k] !== 'string');
  if (missing !== undefined) {
    throw new TransferKitError('E_IO_FORMAT', `The run configuration ${file} is not one transferkit fine-tune wrote: ${missing === 'config' ? 'it has no "config" object' : `"config.${missing}" is not a string`}. A run folder's config.json holds { status, command, config: { model, data, recipe, ... } }. Received: file=${file}. ${fix}`);
  }
  return { config: cfg as FineTuneConfig, ...(typeof stored?.status === 'string' ? { status: stored.status } : {}) };
}

/** Runs the command; returns the exit code. */
export async function fineTuneCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, SPEC, USAGE);
  if (values.help === true) {
    console.log(USAGE);
    return 0;
  }
  const out = makeOutput(values.json === true, values.quiet === true);
  let cfg: FineTuneConfig;
  let dir: string;
  const resumeDir = values.resume as string | undefined;
  if (resumeDir !== undefined) {
    const stored = readRunConfig(resumeDir);
    if (stored.status === 'completed') throw new TransferKitError('E_BAD_OPTION', `--resume: the run in ${resumeDir} already completed (see ${path.join(resumeDir, 'report.html')}).`);
    if (!fs.existsSync(path.join(resumeDir, 'checkpoint', 'state.json'))) throw new TransferKitError('E_IO_NOT_FOUND', `--resume: ${path.join(resumeDir, 'checkpoint')} holds no checkpoint to continue from.`);
    cfg = stored.config;
    dir = resumeDir;
    checkOutputDir(dir, '--resume');
  } else {
    cfg = resolveConfig(values);
    dir = (values.out as string | undefined) ?? path.join('runs', `fine-tune-${new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19)}`);
    if (fs.existsSync(path.join(dir, 'config.json'))) {
      throw new TransferKitError('E_BAD_OPTION', `${dir} already holds a run. Pass another --out, or --resume ${dir} to continue an interrupted one.`);
    }
    // Before loading anything: a run must not fail at its end because --out cannot be written.
    checkOutputDir(dir, '--out');
  }
  const info = await useBackend(cfg.backend as BackendName | 'auto');
  // A few words; why this backend (a paragraph on the candidates passed over) only on request.
  out.info(backendLine(info));
  if (values.verbose === true) out.info(`  ${info.reason}`);
  const base = await loadBase(cfg.model, cfg.allowDownloads, cfg.featureLayer);
  // Class names come from the data; the head is built once they are known.
  const data = await loadCliData(base, cfg.data, cfg.val ?? undefined, cfg.valSplit, cfg.seed);
  const model = withHead(base, data.classNames, cfg.dropout, cfg.seed);
  const trainCount = 'xs' in data.train ? data.train.xs.shape[0] : data.train.inputs.length;
  const valCount = data.val === null ? 0 : 'xs' in data.val ? data.val.xs.shape[0] : data.val.inputs.length;
  out.info(`data: ${trainCount} train / ${valCount} validation examples, classes [${data.classNames.join(', ')}]${data.skipped.length ? `, skipped ${data.skipped.length} (${skippedList(data.skipped)})` : ''}`);
  makeDir(dir, '--out');
  const command = `transferkit fine-tune ${resumeDir !== undefined ? `--resume ${resumeDir}` : argv.join(' ')}`;
  const env = environment(cfg.seed);
  writeJsonAtomic(path.join(dir, 'config.json'), { status: 'running', command, config: cfg, classNames: data.classNames, environment: env });
  out.event('start', { dir, config: cfg, classNames: data.classNames, train: trainCount, val: valCount, backend: info.name, backendInfo: { name: info.name, threads: info.threads ?? null, simd: info.simd ?? null, reason: info.reason } });

  // Ctrl-C: finish the current step, checkpoint it, write what exists, exit 130. Twice: quit now.
  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = (): void => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    out.notice('\nInterrupted: finishing the current step and writing a checkpoint (Ctrl-C again to quit at once)...');
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  const lrsFile = path.join(dir, 'history.json');
  const stored = resumeDir !== undefined && fs.existsSync(lrsFile) ? (readJsonFile(lrsFile, 'run history', 'It is written by `transferkit fine-tune`; delete it to resume without the earlier learning rates in the report.', '--resume') as { learningRates?: unknown } | null) : null;
  const previous = Array.isArray(stored?.learningRates) ? (stored.learningRates as [number, number][]) : [];
  const learningRates: [number, number][] = [...previous];
  let globalStep = learningRates.length;
  const t0 = performance.now();
  let result;
  try {
    result = await fineTune(model, data.train, {
      recipe: cfg.recipe,
      validation: data.val ?? undefined,
      epochs: cfg.epochs,
      headEpochs: cfg.headEpochs,
      learningRate: cfg.lr,
      headLearningRate: cfg.headLr,
      batchSize: cfg.batch,
      seed: cfg.seed,
      ...(cfg.bn !== null ? { bn: cfg.bn } : {}),
      ...(cfg.frozenBn !== null ? { frozenBn: cfg.frozenBn } : {}),
      checkpoint: { dir: path.join(dir, 'checkpoint') },
      ...(resumeDir !== undefined ? { resumeFrom: path.join(dir, 'checkpoint') } : {}),
      signal: controller.signal,
      progress: out.progress(),
      callbacks: [{ onBatchEnd: (b) => void learningRates.push([++globalStep, b.learningRate]) }],
      ...(model.encoder !== undefined ? { featureCache: true } : {}),
    });
  } finally {
    process.off('SIGINT', onSigint);
  }
  const seconds = (performance.now() - t0) / 1000;
  const history: EpochLog[] = result.history;
  writeJsonAtomic(lrsFile, { history, learningRates });
  if (result.interrupted === true) {
    writeJsonAtomic(path.join(dir, 'config.json'), { status: 'interrupted', command, config: cfg, classNames: data.classNames, environment: env });
    out.notice(`Stopped after ${history.length} epoch(s) and ${learningRates.length} step(s); checkpoint in ${path.join(dir, 'checkpoint')}.\nResume with: transferkit fine-tune --resume ${dir}`);
    out.event('interrupted', { dir, epochs: history.length, steps: learningRates.length });
    data.dispose();
    return 130;
  }

  // Validation figures, misclassified examples, the saved model, the report.
  let evaluation;
  const misclassified: Misclassified[] = [];
  if (data.val !== null) {
    const ev = await evaluate(model, data.val, { batchSize: cfg.batch, ...(model.encoder !== undefined ? { featureCache: true } : {}) });
    evaluation = { loss: ev.loss, accuracy: ev.accuracy, report: ev.report, examples: valCount };
    const probs = ev.probabilities;
    const labels = data.val.labels;
    for (let i = 0; i < labels.length && misclassified.length < cfg.maxMisclassified; i++) {
      const p = ev.predictions[i];
      if (p === labels[i]) continue;
      const ref: ExampleRef = data.valItems[i] ?? {};
      misclassified.push({
        thumbnail: ref.file !== undefined ? await thumbnailDataUri(ref.file) : null,
        label: ref.file !== undefined ? path.basename(ref.file) : ref.text ?? `#${i}`,
        trueClass: data.classNames[labels[i]],
        predicted: data.classNames[p],
        confidence: probs[i][p],
      });
    }
  }
  await saveModel(model, path.join(dir, 'model'));
  const last = history[history.length - 1];
  const summary = {
    'validation accuracy': evaluation !== undefined ? `${(100 * evaluation.accuracy).toFixed(1)} %` : '-',
    'validation loss': evaluation !== undefined ? evaluation.loss.toFixed(4) : '-',
    'train accuracy': last !== undefined ? `${(100 * last.accuracy).toFixed(1)} %` : '-',
    epochs: history.length,
    'training seconds': Number(seconds.toFixed(1)),
    examples: `${trainCount} train / ${valCount} val`,
  };
  if (evaluation !== undefined) writeJsonAtomic(path.join(dir, 'metrics.json'), { ...evaluation.report, loss: evaluation.loss, classNames: data.classNames });
  writeFile(path.join(dir, 'report.html'), renderRunReport({
    title: `transferkit fine-tune: ${cfg.data.split(path.sep).slice(-2).join('/')} on ${path.basename(cfg.model)}`,
    command, config: cfg as unknown as Record<string, unknown>, history, learningRates, classNames: data.classNames,
    ...(evaluation !== undefined ? { evaluation } : {}), misclassified, environment: env, summary,
  }));
  writeJsonAtomic(path.join(dir, 'config.json'), { status: 'completed', command, config: cfg, classNames: data.classNames, environment: env });
  fs.rmSync(path.join(dir, 'checkpoint'), { recursive: true, force: true });
  data.dispose();
  out.info(`done: ${summary['validation accuracy']} validation accuracy after ${history.length} epochs (${seconds.toFixed(1)} s). Run folder: ${dir} (open report.html)`);
  const final = { dir, valAccuracy: evaluation?.accuracy ?? null, valLoss: evaluation?.loss ?? null, epochs: history.length, seconds: Number(seconds.toFixed(1)), numTensors: tf.memory().numTensors };
  if (out.mode === 'json') out.event('done', final);
  else console.log(JSON.stringify(final));
  return 0;
}
