/**
 * `fineTuneText`: the Hugging Face recipe for fine-tuning a BERT-family classifier (what
 * `Trainer` does with the settings BERT papers report), in one call:
 * - AdamW (PyTorch's exact update), weight decay 0.01 on every weight except biases and
 *   LayerNorm weights (HF `Trainer.get_decay_parameter_names`);
 * - linear warmup (10 % of steps by default) then linear decay to 0
 *   (`get_linear_schedule_with_warmup`; `'cosine'` and `'constant'` as `lr_scheduler_type`);
 * - gradient clipping at global norm 1.0 (`max_grad_norm`);
 * - optional layer-wise LR decay (ELECTRA / BEiT: embeddings get `decay^(L+1)`, block i
 *   `decay^(L-i)`, the head 1);
 * - dynamic padding per batch, optional length grouping (`group_by_length`);
 * - evaluation after each epoch and, with validation data, the best epoch's weights restored at
 *   the end (`load_best_model_at_end`, metric accuracy for classifiers, loss for regression).
 * Seeded: shuffles and dropout masks come from `seed`, so two runs give the same numbers.
 */
import * as tf from '@tensorflow/tfjs-core';
import { TransferKitError } from '../errors.js';
import { AdamW } from '../optimizers/adam.js';
import { clipGradNorm } from '../optimizers/clip_grad_norm.js';
import type { ParamGroup } from '../optimizers/optimizer.js';
import { isNoDecay } from './param_groups.js';
import { CosineScheduleWithWarmup } from '../schedules/cosine_schedule_with_warmup.js';
import { ConstantSchedule } from '../schedules/constant.js';
import { LinearScheduleWithWarmup } from '../schedules/linear_schedule_with_warmup.js';
import type { LRSchedule } from '../schedules/schedule.js';
import { lengthGroupedBatches, padBatch, type EncodedText, type TextTokenizer } from '../data/text/tokenizer.js';
import { disposeBatch, textInputs } from '../models/text/inputs.js';
import type { TextModel } from '../models/text/text_model.js';
import { permutation, SeededRandom } from '../utils/random.js';
import { applySeededDropout, withDropoutSeeds } from '../layers/seeded_dropout.js';
import { ensureBackend } from '../backends/backend.js';
import { checkTextData as checkData, evaluateText, lossAndHits, tokenizerOf, type TextClassificationData } from '../train/evaluate_text.js';
import type { BatchLog, Callback, TrainingLog } from '../callbacks/callback.js';
import { EarlyStopping, type EarlyStoppingOptions } from '../callbacks/early_stopping.js';
import { progressReporter, type ProgressOption } from '../callbacks/progress.js';
import { runLoop, type TrainingTask } from '../train/loop.js';
import { checkOptionKeys, optionNames } from '../utils/option_keys.js';
import { checkLabels } from '../data/labels.js';
import type { TextRecipe } from './recipes/hf.js';

// Checkpoints use node:fs: loaded on first use so the browser build never pulls them in.
const checkpoints = () => import('../train/checkpoint.js');

export { evaluateText, type TextClassificationData, type TextEvaluation } from '../train/evaluate_text.js';

/** One epoch's figures (stage `'fine-tune'`; `accuracy` for classifiers). */
export interface TextEpochLog extends TrainingLog {
  /** Training examples per second of the epoch. */
  samplesPerSecond: number;
}

/** Options of {@link fineTuneText}; defaults follow HF `TrainingArguments` except where noted. */
export interface FineTuneTextOptions {
  /** The recipe as an object (`recipes.hf({ warmupRatio, layerDecay, ... })`): its settings fill in the options below. */
  recipe?: TextRecipe;
  /** Default 3 (HF). */
  epochs?: number;
  /** Default 32 (BERT paper; HF's is 8). */
  batchSize?: number;
  /** Peak learning rate (default 2e-5, BERT's usual; HF's default is 5e-5). */
  learningRate?: number;
  /** AdamW weight decay on non-bias, non-LayerNorm weights (default 0.01; HF's default is 0). */
  weightDecay?: number;
  /** Warmup as a fraction of all steps (default 0.1; HF's default is 0). Ignored when `warmupSteps` is set. */
  warmupRatio?: number;
  warmupSteps?: number;
  /** `'linear'` (default), `'cosine'` or `'constant'`, as HF `lr_scheduler_type`. */
  schedule?: 'linear' | 'cosine' | 'constant';
  /** Clip gradients to this global L2 norm (as fineTune's `clipNorm`, HF `max_grad_norm`; default 1.0; 0 disables). */
  clipNorm?: number;
  /** @deprecated Use `clipNorm` (the one name across transferkit); kept for one release. */
  maxGradNorm?: number;
  /** Layer-wise LR decay factor (e.g. 0.9); default off. */
  layerDecay?: number;
  /** Longest sequence in tokens (default 128). */
  maxLength?: number;
  /** Batch texts of similar length together (default true). */
  groupByLength?: boolean;
  /** Evaluated after every epoch; the best epoch is restored at the end. */
  validation?: TextClassificationData;
  /** Restore the best validation epoch's weights at the end (HF `load_best_model_at_end`; default true when `validation` is given). */
  restoreBestWeights?: boolean;
  /** @deprecated Use `restoreBestWeights` (the one name across transferkit); kept for one release. */
  loadBestAtEnd?: boolean;
  /** Seed of shuffling and dropout (default 42, HF's). */
  seed?: number;
  /** The tokenizer (default `tm.tokenizer`). */
  tokenizer?: TextTokenizer;
  /** Called after each epoch. */
  onEpochEnd?: (log: TextEpochLog) => void | Promise<void>;
  /** Called after each optimizer step with the step's loss (`step` counts from 1). */
  onStep?: (step: number, loss: number) => void;
  /** Callbacks (as {@link fineTune}'s; the run is one stage, `'fine-tune'`). */
  callbacks?: Callback[];
  /** Shorthand for an {@link EarlyStopping} callback with these options. */
  earlyStopping?: EarlyStoppingOptions;
  /** Progress output on stderr (as {@link fineTune}'s; default `'auto'`). */
  progress?: ProgressOption;
  /**
   * Write a checkpoint (weights, AdamW state, schedule, RNG, history) to `dir` every
   * `everyEpochs` epochs (default 1) and every `everySteps` steps when set, atomically.
   */
  checkpoint?: { dir: string; everyEpochs?: number; everySteps?: number };
  /** Continue from a checkpoint folder written by `checkpoint`, with the same model, data and options: the result equals an uninterrupted run (the best-epoch snapshot of `restoreBestWeights` restarts at the resume). */
  resumeFrom?: string;
  /** Stops the run after the current optimizer step when aborted (checkpointed when `checkpoint` is set); the result has `interrupted`. */
  signal?: AbortSignal;
}

/** The run's options with those of its recipe object (`recipes.hf({...})`) filled in; a setting given in both places is refused. */
function withRecipe(options: FineTuneTextOptions): FineTuneTextOptions {
  const recipe = options.recipe;
  if (recipe === undefined) return options;
  if (recipe.name !== 'hf') throw new TransferKitError('E_BAD_OPTION', `fineTune on a text model takes recipe recipes.hf({...}). Received: recipe '${String((recipe as { name?: unknown }).name)}' (image recipes train image models).`);
  const both = Object.keys(recipe.options).filter((k) => (options as Record<string, unknown>)[k] !== undefined);
  if (both.length > 0) throw new TransferKitError('E_BAD_OPTION', `fineTune: ${both.join(', ')} given both to recipes.hf() and to the call; pass ${both.length > 1 ? 'them' : 'it'} in one place.`);
  const { recipe: _r, ...rest } = options;
  void _r;
  return { ...recipe.options, ...rest };
}

/** Every option name of {@link FineTuneTextOptions}: others are refused. */
const FINE_TUNE_TEXT_OPTIONS = optionNames<FineTuneTextOptions>({ recipe: true, epochs: true, batchSize: true, learningRate: true, weightDecay: true, warmupRatio: true, warmupSteps: true, schedule: true, clipNorm: true, maxGradNorm: true, layerDecay: true, maxLength: true, groupByLength: true, validation: true, restoreBestWeights: true, loadBestAtEnd: true, seed: true, tokenizer: true, onEpochEnd: true, onStep: true, callbacks: true, earlyStopping: true, progress: true, checkpoint: true, resumeFrom: true, signal: true });

/** What {@link fineTuneText} did. */
export interface FineTuneTextResult {
  /** The trained model (the same object that was passed in). */
  model: TextModel;
  history: TextEpochLog[];
  /** Epoch (1-based) whose weights the model holds at the end. */
  bestEpoch: number;
  /** Optimizer steps taken. */
  steps: number;
  /** True when `signal` stopped the run early (resume it with `resumeFrom`). */
  interrupted?: boolean;
}

/** Layer depth for layer-wise LR decay: embeddings 0, block i → i+1, everything after → L+1. */
function depthOf(layerName: string, numLayers: number): number {
  if (layerName.startsWith('embeddings')) return 0;
  const m = /^(?:encoder|transformer)\.layer\.(\d+)\./.exec(layerName);
  return m ? Number(m[1]) + 1 : numLayers + 1;
}

/** AdamW groups: decay / no-decay, times depth when `layerDecay` is set. */
export function textParamGroups(tm: TextModel, weightDecay: number, layerDecay?: number): ParamGroup[] {
  const groups = new Map<string, ParamGroup>();
  const L = tm.spec.numLayers;
  for (const layer of tm.model.layers) {
    if (!layer.trainable) continue;
    const depth = layerDecay === undefined ? 0 : depthOf(layer.name, L);
    for (const w of layer.trainableWeights) {
      const v = w.read() as tf.Variable;
      const noDecay = isNoDecay(v);
      const name = `${layerDecay === undefined ? 'all' : `depth_${depth}`}${noDecay ? '_no_decay' : ''}`;
      let g = groups.get(name);
      if (g === undefined) {
        g = { params: [], name, weightDecay: noDecay ? 0 : weightDecay, lrScale: layerDecay === undefined ? 1 : layerDecay ** (L + 1 - depth) };
        groups.set(name, g);
      }
      g.params.push(v);
    }
  }
  return [...groups.values()];
}

function scheduleOf(kind: FineTuneTextOptions['schedule'], lr: number, warmup: number, total: number): LRSchedule {
  if (kind === 'constant') return new ConstantSchedule(lr);
  if (kind === 'cosine') return new CosineScheduleWithWarmup(lr, warmup, total);
  return new LinearScheduleWithWarmup(lr, warmup, total);
}

/** The checkpoint recipe name of {@link fineTuneText} runs (a resume must match it). */
const TEXT_RECIPE = 'hf-text';

/**
 * Fine-tunes a sequence-classification text model (see module doc) on the training loop of
 * `train/loop.ts`: checkpoints, exact resume, Ctrl-C after the current step, callbacks, early
 * stopping and progress work as in {@link fineTune}.
 * @example
 * ```ts
 * const tm = await loadTextModel('./bert-mini', { task: 'sequence-classification', numLabels: 2 });
 * const { history } = await fineTuneText(tm, train, { epochs: 3, validation: dev });
 * ```
 */
export async function fineTuneText(tm: TextModel, data: TextClassificationData, runOptions: FineTuneTextOptions = {}): Promise<FineTuneTextResult> {
  checkOptionKeys('fineTuneText', runOptions, FINE_TUNE_TEXT_OPTIONS);
  const options = withRecipe(runOptions);
  await ensureBackend();
  checkData(tm, data, 'fineTuneText');
  if (options.validation !== undefined) checkData(tm, options.validation, 'fineTuneText validation');
  await checkLabels('fineTuneText', tm, data, options.validation);
  const tok = tokenizerOf(tm, options.tokenizer);
  const epochs = options.epochs ?? 3;
  const batchSize = options.batchSize ?? 32;
  const maxLength = options.maxLength ?? 128;
  for (const [k, v, ok] of [['epochs', epochs, epochs >= 1], ['batchSize', batchSize, batchSize >= 1], ['maxLength', maxLength, maxLength >= 2]] as const) {
    if (!Number.isInteger(v) || !ok) throw new TransferKitError('E_BAD_OPTION', `fineTuneText: ${k} must be a positive integer. Received: ${k}=${v}.`);
  }
  const seed = options.seed ?? 42;
  const rng = new SeededRandom(seed);
  const encoded: EncodedText[] = tok.encodeAll(data.texts, data.pairs, { maxLength });
  const lengths = encoded.map((e) => e.inputIds.length);
  const stepsPerEpoch = Math.ceil(encoded.length / batchSize);
  const total = stepsPerEpoch * epochs;
  const warmup = options.warmupSteps ?? Math.ceil(total * (options.warmupRatio ?? 0.1));
  const lr = options.learningRate ?? 2e-5;
  const schedule = scheduleOf(options.schedule, lr, warmup, total);
  const resume = options.resumeFrom !== undefined ? await (await checkpoints()).resumeCheckpoint(options.resumeFrom, { model: tm.model }, TEXT_RECIPE, 'fineTuneText') : null;
  const optimizer = new AdamW(textParamGroups(tm, options.weightDecay ?? 0.01, options.layerDecay), { learningRate: schedule.at(0) });
  const vars = optimizer.variables;
  if (vars.length === 0) {
    optimizer.dispose();
    throw new TransferKitError('E_BAD_OPTION', 'fineTuneText: the model has no trainable weights (everything is frozen).');
  }
  const maxGradNorm = options.clipNorm ?? options.maxGradNorm ?? 1.0;
  applySeededDropout(tm.model);
  const history = (resume?.history ?? []) as TextEpochLog[];
  // HF load_best_model_at_end: accuracy for classifiers, loss for regression heads.
  const keepBest = options.validation !== undefined && (options.restoreBestWeights ?? options.loadBestAtEnd) !== false;
  const best = keepBest ? new EarlyStopping({ monitor: tm.problemType === 'regression' ? 'valLoss' : 'valAccuracy', patience: Infinity, restoreBestWeights: true }) : null;
  const callbacks: Callback[] = [
    ...(options.onEpochEnd !== undefined ? [{ onEpochEnd: (log: TrainingLog) => options.onEpochEnd?.(log as TextEpochLog) }] : []),
    ...(options.onStep !== undefined ? [{ onBatchEnd: (b: BatchLog) => options.onStep?.(b.step + 1, b.loss) }] : []),
    ...(options.callbacks ?? []),
    ...(options.earlyStopping !== undefined ? [new EarlyStopping(options.earlyStopping)] : []),
    ...(best !== null ? [best] : []),
  ];
  const task: TrainingTask<number[], TextEpochLog> = {
    stepsPerEpoch,
    progressMetric: tm.problemType === 'regression' ? undefined : 'hits',
    epoch: (rand, at) => {
      const order = at?.order !== undefined ? (at.order as number[][]) : options.groupByLength === false ? chunk(Array.from(permutation(encoded.length, rand)), batchSize) : lengthGroupedBatches(lengths, batchSize, rand);
      return { batches: order.slice(at?.start ?? 0), order: () => order };
    },
    trainStep: async (idx) => {
      const batch = padBatch(idx.map((i) => encoded[i]), tok.padId);
      const labels = idx.map((i) => data.labels[i]);
      const kept: { hits?: tf.Scalar } = {}; // the hit count leaves the gradient tape kept
      try {
        const { value, grads } = await withDropoutSeeds(tm.model, () => Math.floor(rng.next() * 2 ** 31), async () =>
          tf.variableGrads(() => {
            const logits = tm.model.apply(textInputs(tm, batch), { training: true }) as tf.Tensor;
            const r = lossAndHits(tm, logits, labels);
            kept.hits = tf.keep(r.hits);
            return tf.div(r.loss, labels.length) as tf.Scalar;
          }, vars),
        );
        const hits = kept.hits as tf.Scalar;
        if (maxGradNorm > 0) {
          const clipped = clipGradNorm(grads, maxGradNorm);
          optimizer.step(clipped.grads);
          tf.dispose([clipped.totalNorm, ...Object.values(clipped.grads)]);
        } else optimizer.step(grads);
        const [l, h] = await Promise.all([value.data(), hits.data()]);
        tf.dispose([value, hits, ...Object.values(grads)]);
        return { loss: l[0], examples: labels.length, sums: { hits: h[0] } };
      } finally {
        disposeBatch(batch);
      }
    },
    epochLog: async (f) => {
      const log: TextEpochLog = {
        stage: f.stage,
        epoch: f.epoch,
        loss: f.loss,
        ...(tm.problemType === 'regression' ? {} : { accuracy: (f.sums.hits ?? 0) / f.examples }),
        learningRate: optimizer.learningRate,
        seconds: f.seconds,
        samplesPerSecond: f.examples / f.seconds,
        numTensors: 0,
      };
      if (options.validation !== undefined) {
        const ev = await evaluateText(tm, options.validation, { maxLength, tokenizer: tok });
        log.valLoss = ev.loss;
        if (ev.accuracy !== undefined) log.valAccuracy = ev.accuracy;
      }
      return log;
    },
  };
  try {
    // A checkpoint of a finished run (its stage done): the weights are loaded, nothing is left to train.
    if (resume !== null && resume.stageIndex > 0) return { model: tm, history, bestEpoch: history.length, steps: stepsPerEpoch * history.length };
    const r = await runLoop({
      task, stage: 'fine-tune', epochs, optimizer, schedule, rng, history, callbacks,
      context: { model: tm, stage: 'fine-tune', stopTraining: false },
      progress: progressReporter(options.progress ?? 'auto'),
      ...(options.signal !== undefined ? { signal: options.signal } : {}),
      ...(options.checkpoint !== undefined ? { checkpoint: options.checkpoint } : {}),
      target: { model: tm.model },
      position: { recipe: TEXT_RECIPE, stageIndex: 0 },
      resume,
    });
    // Interrupted, the model holds the last step's weights (the best epoch is not restored).
    const bestEpoch = !r.interrupted && best !== null && best.bestEpoch > 0 ? best.bestEpoch : history.length;
    return { model: tm, history, bestEpoch, steps: r.steps, ...(r.interrupted ? { interrupted: true } : {}) };
  } finally {
    optimizer.dispose();
  }
}

function chunk(xs: number[], n: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
}
