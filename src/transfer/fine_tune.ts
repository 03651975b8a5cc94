/**
 * `fineTune`: the transfer-learning training loop.
 *
 * Recipes:
 * - `'two-stage'` (default), as the Keras guide "Transfer learning & fine-tuning": stage 1 trains
 *   the new head with the whole backbone frozen; stage 2 unfreezes the top of the backbone and
 *   trains at a lower learning rate, with BatchNorm statistics kept frozen (Keras calls the base
 *   with `training=False`, so BN gamma/beta train but moving statistics do not: `'train-affine'`).
 * - `'fine-tune'`: fastai's `Learner.fine_tune(epochs, base_lr=2e-3, freeze_epochs=1,
 *   lr_mult=100, pct_start=0.3, div=5)`: body frozen with BatchNorm still training (`train_bn`),
 *   one-cycle over `slice(base_lr)` with `pct_start=0.99` for `headEpochs` (default 1); then
 *   `base_lr /= 2`, everything unfrozen, one-cycle over `slice(base_lr / lr_mult, base_lr)` with
 *   `pct_start=0.3`, `div=5` for `epochs`; 3 layer groups; fastai's Adam (decoupled weight decay
 *   0.01, betas (0.9, 0.99), eps 1e-5, no decay on BatchNorm and biases), momentum cycled.
 * - `'gradual-unfreeze'`: Lightning's `BackboneFinetuning(unfreeze_backbone_at_epoch,
 *   backbone_initial_ratio_lr=0.1, should_align=True, train_bn=True)` over `epochs`: the backbone is
 *   frozen (BatchNorm still training) until `unfreezeAtEpoch`, then joins the SAME optimizer as a new
 *   parameter group at 0.1x the head's rate, doubling every epoch up to the head's rate; the head
 *   trains at a constant `learningRate` (default 1e-3).
 * - `'feature-extraction'` (alias `'head-only'`): stage 1 only (a frozen feature extractor).
 * - `'full'`: one stage with every layer trainable.
 *
 * Beyond Keras: activation caching. Layers before the first trainable one are frozen and
 * deterministic, so their outputs are computed once per stage (for the image and, with
 * `augment.flip`, its mirror) and each step runs only the rest — mathematically the same
 * updates, several times faster when the backbone is mostly frozen.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { TransferKitError } from '../errors.js';
import { isStreaming, type LabeledData, type TrainData } from '../data/dataset.js';
import { trainValSplit } from '../data/split.js';
import { checkLabels } from '../data/labels.js';
import { hasRandomAugment, type AugmentOptions } from '../data/augment.js';
import type { EncoderData, PretrainedModel } from '../models/pretrained_model.js';
import { encodeData, isEncoderData } from '../encoders/encode_data.js';
import { ConstantSchedule } from '../schedules/constant.js';
import { CosineDecay } from '../schedules/cosine_decay.js';
import type { LRSchedule } from '../schedules/schedule.js';
import { cacheBytes, makeFeeder, type FedBatch, type Feeder } from '../train/feeders.js';
import { taskLoss, taskMetricSum } from '../train/losses.js';
import { autoMicroBatch } from '../train/memory.js';
import { cachePoint, runLayers } from '../train/graph_executor.js';
import type { HeadTask } from '../models/pretrained_model.js';
import { createOptimizer, type OptimizerSpec } from '../train/optimizers.js';
import { trainStepAsync } from '../train/train_step.js';
import { paramGroups, type ParamGroupsOptions } from './param_groups.js';
import { SeededRandom } from '../utils/random.js';
import { applySeededDropout, withDropoutSeeds } from '../layers/seeded_dropout.js';
import { recipeFromOptions, RECIPE_OPTION_NAMES } from './recipes/index.js';
import type { FineTuneRecipe, RecipeStage } from './recipes/recipe.js';
import { seedNewHead } from './replace_head.js';
import type { CheckpointState } from '../train/checkpoint.js';
// Checkpoints use node:fs: loaded on first use so the browser build never pulls them in.
const checkpoints = () => import('../train/checkpoint.js');
import type { BatchNormMode } from '../layers/batch_norm.js';
import type { Callback, TrainingLog } from '../callbacks/callback.js';
import { runLoop, type TrainingTask } from '../train/loop.js';
import { isTextModel, type TextModel } from '../models/text/text_model.js';
import { checkModality, type TransferModel, type UnnarrowedModel } from '../models/transfer_model.js';
import type { TextClassificationData } from '../train/evaluate_text.js';
import { fineTuneText, type FineTuneTextOptions, type FineTuneTextResult } from './fine_tune_text.js';
import { progressReporter, type ProgressOption } from '../callbacks/progress.js';
import { EarlyStopping, type EarlyStoppingOptions } from '../callbacks/early_stopping.js';
import type { LossOptions } from '../train/train_step.js';
import type { LayerSpec } from './freeze.js';
import { ensureBackend } from '../backends/backend.js';
import { checkOptionKeys, optionNames } from '../utils/option_keys.js';

/** fineTune's options once raw encoder inputs have become tensors. */
type TensorFineTuneOptions = FineTuneOptions & { validation?: TrainData };

/** The stage an epoch belongs to. */
export type Stage = 'head' | 'fine-tune' | 'full' | (string & {});

/** Training recipes (see {@link fineTune}). */
export type Recipe = 'two-stage' | 'fine-tune' | 'gradual-unfreeze' | 'feature-extraction' | 'head-only' | 'full' | 'custom';

/** One epoch's figures of an image run: every {@link TrainingLog} field, plus the activation cache and micro-batching used. */
export interface EpochLog extends TrainingLog {
  /** The stage the epoch belongs to (the recipe's stage name). */
  stage: Stage;
  /**
   * Training accuracy over the epoch (training mode: dropout on, flips applied); binary accuracy
   * for multilabel heads; NaN for regression (see `mae`).
   */
  accuracy: number;
  /** Index of the layer whose cached output the epoch trained from (0 = no caching). */
  cachedFrom: number;
  /** Where the cached activations lived (`'none'` when nothing was cached). */
  cache: 'memory' | 'disk' | 'none';
  /** Micro-batch size used (gradient accumulation), when the batch was split. */
  microBatchSize?: number;
}

/**
 * One user-defined stage of {@link fineTune} (as a Keras user calling `fit` several times with
 * different `trainable` settings, or fastai's `freeze_to(n)` + `fit_one_cycle`).
 */
export interface FineTuneStage {
  /** Name in logs and checkpoints (default `stage_<i>`). */
  name?: string;
  /** Epochs of the stage. */
  epochs: number;
  /** Layers that train in this stage (default `'head'`: the layers after the feature layer); all others are frozen. */
  trainable?: LayerSpec | 'head';
  /** BatchNorm mode of the trainable BN layers (default `'train'`). */
  bn?: BatchNormMode;
  /** BatchNorm mode of the frozen layers (default `'frozen'`, Keras). */
  frozenBn?: BatchNormMode;
  /** Peak learning rate of the stage (default 1e-3). */
  learningRate?: number;
  /** Schedule of the stage: a factory `(peak, totalSteps) => LRSchedule` (default constant). */
  schedule?: (peakLearningRate: number, totalSteps: number) => LRSchedule;
  /** Optimizer of the stage (default the run's `optimizer`). */
  optimizer?: OptimizerSpec;
  /** Parameter groups of the stage (default the run's `paramGroups`). */
  paramGroups?: ParamGroupsOptions;
  /** Weight decay of the stage (default the run's). */
  weightDecay?: number;
}

/** Options of {@link fineTune}. */
export interface FineTuneOptions {
  /**
   * Training recipe: a recipe object (`recipes.twoStage({...})`, `recipes.fastai({...})`,
   * `recipes.gradualUnfreeze({...})`, `recipes.featureExtraction({...})`, `recipes.full({...})`,
   * `recipes.custom([...])`, or your own {@link FineTuneRecipe}), which takes its own settings; or,
   * as before, a name with the settings as flat options below (default `'two-stage'`).
   */
  recipe?: Recipe | FineTuneRecipe;
  /**
   * `'fine-tune'` recipe: fastai's `base_lr` (default 2e-3).
   * @deprecated Pass it to the recipe object: `recipes.fastai({ baseLr })`.
   */
  baseLr?: number;
  /**
   * `'fine-tune'` recipe: fastai's `lr_mult` (default 100).
   * @deprecated Pass it to the recipe object: `recipes.fastai({ lrMult })`.
   */
  lrMult?: number;
  /**
   * `'fine-tune'` recipe: `pct_start` of the unfrozen stage (default 0.3).
   * @deprecated Pass it to the recipe object: `recipes.fastai({ pctStart })`.
   */
  pctStart?: number;
  /**
   * `'fine-tune'` recipe: `div` of the unfrozen stage (default 5).
   * @deprecated Pass it to the recipe object: `recipes.fastai({ div })`.
   */
  div?: number;
  /**
   * `'gradual-unfreeze'`: epoch (0-based, over the whole run of `epochs`) at which the backbone
   * joins. Default `min(10, floor(epochs / 2))` (Lightning's default 10 assumes long runs).
   * @deprecated Pass it to the recipe object: `recipes.gradualUnfreeze({ unfreezeAtEpoch })`.
   */
  unfreezeAtEpoch?: number;
  /**
   * `'gradual-unfreeze'`: backbone rate / head rate when it joins (Lightning `backbone_initial_ratio_lr`, 0.1).
   * @deprecated Pass it to the recipe object: `recipes.gradualUnfreeze({ backboneInitialRatioLr })`.
   */
  backboneInitialRatioLr?: number;
  /**
   * `'gradual-unfreeze'`: backbone rate multiplier per later epoch (Lightning's default `lambda_func`, 2).
   * @deprecated Pass it to the recipe object: `recipes.gradualUnfreeze({ backboneLrGrowth })`.
   */
  backboneLrGrowth?: number;
  /**
   * `'gradual-unfreeze'`: cap the backbone rate at the head's (Lightning `should_align`, true).
   * @deprecated Pass it to the recipe object: `recipes.gradualUnfreeze({ shouldAlign })`.
   */
  shouldAlign?: boolean;
  /** Epochs of the head stage (default 5). */
  headEpochs?: number;
  /** Epochs of the fine-tune (or full) stage (default 5). */
  epochs?: number;
  /** Batch size (default 32). */
  batchSize?: number;
  /**
   * Run each batch as micro-batches of this size and accumulate their gradients into one update
   * (as HF's `gradient_accumulation_steps`): bounds memory (the wasm heap stops at 4 GB);
   * training-mode BatchNorm then sees micro-batch statistics. Default: on wasm, the largest size
   * whose estimated peak memory stays under 2.5 GB (see train/memory.ts); elsewhere no split.
   */
  microBatchSize?: number;
  /** Learning rate of the head stage (default 1e-3, Adam). */
  headLearningRate?: number;
  /** Peak learning rate of the fine-tune stage (default 1e-4, 10x below the head's). */
  learningRate?: number;
  /** Schedule per stage; default: constant for the head, cosine decay to 0 for fine-tuning. */
  schedule?: (stage: Stage, peakLearningRate: number, totalSteps: number) => LRSchedule;
  /** Optimizer (default `'adam'`, PyTorch's Adam), or a factory `(groups, lr) => Optimizer`. */
  optimizer?: OptimizerSpec;
  /** Weight decay (default: the optimizer's own: 0, or 1e-2 for `'adamw'`). */
  weightDecay?: number;
  /** Clip gradients to this global L2 norm (as torch `clip_grad_norm_`; default off). */
  clipNorm?: number;
  /**
   * Parameter groups (discriminative rates, layer decay, no decay on biases/norms) built with
   * {@link paramGroups} over the trainable variables of each stage. Default: one group.
   */
  paramGroups?: ParamGroupsOptions;
  /**
   * Layers to unfreeze in the fine-tune stage (default: the backbone layers after the block
   * boundary nearest 75 % of its depth).
   * @deprecated Pass it to the recipe object: `recipes.twoStage({ unfreeze })`.
   */
  unfreeze?: LayerSpec;
  /** BatchNorm mode of the unfrozen layers in the fine-tune stage (default `'train-affine'`, Keras' recipe). */
  bn?: BatchNormMode;
  /**
   * BatchNorm mode of the frozen backbone in the head stage: `'frozen'` (default, Keras),
   * `'train-affine'` (fastai's `train_bn`: gamma/beta train, statistics fixed) or `'train'`.
   */
  frozenBn?: BatchNormMode;
  /** Validation data, evaluated after every epoch. */
  validation?: TrainData | EncoderData;
  /**
   * Hold out this fraction of in-memory training data for validation when `validation` is not
   * given: a seeded split (`seed`), stratified by class. Divergence: Keras' `validation_split`
   * takes the last fraction of the arrays unshuffled.
   */
  validationSplit?: number;
  /**
   * Explicit stages (recipe `'custom'`, chosen automatically when this is set): each stage sets
   * which layers train and how, then trains for its epochs. Layers not named by a stage's
   * `trainable` are frozen (BatchNorm among them per `frozenBn`).
   * @deprecated Pass it to the recipe object: `recipes.custom(stages)`.
   */
  stages?: FineTuneStage[];
  /**
   * Training-image augmentation, drawn from the run's seeded generator: `flip` (default true for
   * images; cached as a mirrored copy), and torchvision's `randomResizedCrop`, `rotation` and
   * `colorJitter` (see {@link AugmentOptions}), which make the frozen prefix run per batch instead
   * of from a cache (each epoch's inputs differ).
   */
  augment?: AugmentOptions;
  /**
   * Cache the outputs of the frozen prefix (default true: in memory, or on disk in Node when the
   * cache would exceed `cacheMemoryLimitMB`). `'memory'` / `'disk'` force a store; false turns
   * caching off (every epoch recomputes the frozen layers, as Keras and PyTorch do).
   */
  cacheActivations?: boolean | 'memory' | 'disk';
  /** In-memory cache budget in MB before the automatic switch to disk (default 1024). */
  cacheMemoryLimitMB?: number;
  /** Parent folder of on-disk caches (default the OS temp folder). */
  cacheDir?: string;
  /**
   * Models on a frozen encoder (`replaceHead(encoder, ...)`) given raw inputs: where the embeddings
   * are cached (`true`: `<transferkit cache>/features`, default; a folder; or `false`).
   */
  featureCache?: boolean | string;
  /** Models on a frozen encoder: inputs per encoder call when embedding (default 32). */
  featureBatchSize?: number;
  /**
   * Seed of the run (default 42): shuffling, flips and other augmentations, dropout masks, the
   * validation split — and the new head's initial weights when {@link replaceHead} was called
   * without a `seed`: the first fineTune on such a model re-initialises the head from this seed
   * (as `replaceHead({ seed })` would) before training, unless its weights changed since. Two runs
   * with the same seed give identical weights and history.
   */
  seed?: number;
  /** Called after each epoch. */
  onEpochEnd?: (log: EpochLog) => void | Promise<void>;
  /**
   * Progress output on stderr: `'auto'` (default: a one-line bar when stderr is a TTY, otherwise
   * `'lines'`), `'bar'`, `'lines'` (one line per epoch with loss, accuracy, validation figures and
   * seconds, plus a step line when 10 s passed without output), `'json'` (structured events, one
   * JSON line each), `false` or `'silent'` (nothing), or a function receiving every
   * {@link ProgressEvent}.
   */
  progress?: ProgressOption;
  /**
   * Write a checkpoint (weights, optimizer, schedule, RNG, history) to `dir` every `everyEpochs`
   * epochs (default 1), every `everySteps` optimizer steps when set (mid-epoch: the epoch's
   * example order and running sums are saved too), and at the end of each stage, atomically.
   */
  checkpoint?: { dir: string; everyEpochs?: number; everySteps?: number };
  /**
   * Continue from a checkpoint folder written by `checkpoint`, with the same model, data and
   * options: the result equals an uninterrupted run (early-stopping state is not checkpointed).
   */
  resumeFrom?: string;
  /** Callbacks, called per stage (each stage begins and ends like one Keras `fit`). */
  callbacks?: Callback[];
  /**
   * Stops the run after the current optimizer step when aborted (e.g. on Ctrl-C), also in the
   * middle of an epoch: the loop yields to the event loop after every step, so an abort from a
   * signal handler or a timer lands before the next step. With `checkpoint` set, that step is
   * checkpointed (with the epoch's step, example order, running sums and RNG state) so
   * `resumeFrom` continues exactly; the result has `interrupted`.
   */
  signal?: AbortSignal;
  /** Shorthand for an {@link EarlyStopping} callback with these options. */
  earlyStopping?: EarlyStoppingOptions;
  /** Label smoothing ε (Keras `label_smoothing`; default 0). */
  labelSmoothing?: number;
  /**
   * Per-class loss weights (Keras `class_weight`), or `'balanced'`: `n / (numClasses * count_c)`,
   * as scikit-learn's `compute_class_weight('balanced')`.
   */
  classWeights?: number[] | 'balanced';
}

/** What {@link fineTune} returns. */
export interface FineTuneResult {
  /** The trained model (the same object that was passed in). */
  model: PretrainedModel;
  /** One entry per epoch, in order, across stages. */
  history: EpochLog[];
  /**
   * True when `signal` stopped the run early: the last checkpoint (written at the interrupted
   * step when `checkpoint` is set) resumes it with `resumeFrom`.
   */
  interrupted?: boolean;
}

function check(name: string, v: number, ok: boolean, what: string): void {
  if (!ok) throw new TransferKitError('E_BAD_OPTION', `fineTune: \`${name}\` must be ${what}. Received: ${name}=${v}.`);
}

/** Mean loss and metric of `model` over one in-order pass of `feeder`, in inference mode. */
async function evaluateFeeder(model: tfl.LayersModel, feeder: Feeder, from: number, task: HeadTask, lossOptions: LossOptions): Promise<{ loss: number; metric: number }> {
  const last = model.layers.length - 1;
  // Sums stay on the device and are read once (one GPU→CPU transfer, async so WebGPU works).
  let sums = tf.zeros([2]);
  let n = 0;
  for await (const { x, y, count } of feeder.epoch(null)) {
    const next = tf.tidy(() => {
      const out = runLayers(model, from, x, last, false);
      return tf.add(sums, tf.stack([tf.mul(taskLoss(task, out, y, lossOptions), count), taskMetricSum(task, out, y)]));
    });
    tf.dispose([x, y, sums]);
    sums = next;
    n += count;
  }
  const [lossSum, metricSum] = await sums.data();
  sums.dispose();
  return { loss: lossSum / n, metric: metricSum / n };
}

const isNode = typeof process !== 'undefined' && process.versions?.node !== undefined;

/** Memory unless asked otherwise, or unless the cache would pass the memory budget (then disk, in Node). */
function chooseCacheStore(opts: FineTuneOptions, model: tfl.LayersModel, from: number, train: TrainData, flip: boolean): 'memory' | 'disk' {
  if (opts.cacheActivations === 'memory' || opts.cacheActivations === 'disk') return opts.cacheActivations;
  if (isStreaming(train) || from === 0) return 'memory';
  const limit = (opts.cacheMemoryLimitMB ?? 1024) * 2 ** 20;
  return isNode && cacheBytes(model, from, train.xs.shape[0], flip) > limit ? 'disk' : 'memory';
}

/** One stage of fineTune as a task of the training loop (train/loop.ts). */
async function runStage(
  pm: PretrainedModel,
  stage: Stage,
  epochs: number,
  peakLr: number,
  train: TrainData,
  opts: TensorFineTuneOptions,
  rng: SeededRandom,
  history: EpochLog[],
  where: { recipe: string; stageIndex: number; resume: CheckpointState | null; keepOptimizer?: boolean; onEpochBegin?: RecipeStage['onEpochBegin'] },
): Promise<boolean> {
  const model = pm.model;
  const task = pm.task ?? 'multiclass';
  const batchSize = opts.batchSize ?? 32;
  const numClasses = model.outputs[0].shape[1] as number;
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  if (vars.length === 0) {
    throw new TransferKitError('E_BAD_OPTION', `fineTune stage '${stage}': the model has no trainable weights. Unfreeze some layers (unfreeze(model, 'all')) or check the unfreeze option.`);
  }
  const isImage = model.inputs[0].shape.length === 4;
  const flip = isImage && (opts.augment?.flip ?? true);
  const from = opts.cacheActivations === false ? 0 : cachePoint(model);
  const cacheStore = chooseCacheStore(opts, model, from, train, flip);
  const feederOptions = { model, from, batchSize, task, numClasses, cacheStore, ...(opts.cacheDir !== undefined ? { cacheDir: opts.cacheDir } : {}) };
  const augmenting = isImage && hasRandomAugment(opts.augment);
  const trainFeeder = await makeFeeder(train, { ...feederOptions, flip, name: 'train', ...(augmenting ? { augment: opts.augment } : {}) });
  const valFeeder = opts.validation ? await makeFeeder(opts.validation, { ...feederOptions, flip: false, name: 'validation' }) : null;
  const stepsPerEpoch = trainFeeder.steps;
  const schedule = opts.schedule?.(stage, peakLr, epochs * stepsPerEpoch) ??
    (stage === 'head' ? new ConstantSchedule(peakLr) : new CosineDecay(peakLr, epochs * stepsPerEpoch));
  const groups = opts.paramGroups !== undefined ? paramGroups(pm, opts.paramGroups) : [{ params: vars }];
  const optimizer = createOptimizer(opts.optimizer ?? 'adam', groups, peakLr, opts.weightDecay);
  const microBatchSize = opts.microBatchSize ?? autoMicroBatch(model, from, batchSize);
  const lossOptions = resolveLoss(opts, train, numClasses, task);
  const userCallbacks: Callback[] = [
    ...(opts.onEpochEnd !== undefined ? [{ onEpochEnd: (log: TrainingLog) => opts.onEpochEnd?.(log as EpochLog) }] : []),
    ...(opts.callbacks ?? []),
    ...(opts.earlyStopping ? [new EarlyStopping(opts.earlyStopping)] : []),
  ];
  const imageTask: TrainingTask<FedBatch, EpochLog> = {
    stepsPerEpoch,
    progressMetric: 'metric',
    epoch: (rand, resume) => ({
      batches: trainFeeder.epoch(rand, resume !== undefined ? { start: resume.start, ...(Array.isArray(resume.order) ? { order: Int32Array.from(resume.order as number[]) } : {}) } : undefined),
      order: () => {
        const o = trainFeeder.currentOrder();
        return o === null ? null : Array.from(o);
      },
    }),
    trainStep: async ({ x, y, count }) => {
      try {
        const r = await trainStepAsync({ model, from, x, y, vars, optimizer, microBatchSize, clipNorm: opts.clipNorm, loss: lossOptions, task });
        return { loss: r.loss, examples: count, sums: { metric: r.correct } };
      } finally {
        tf.dispose([x, y]);
      }
    },
    epochLog: async (f) => {
      const metric = (f.sums.metric ?? 0) / f.examples;
      const log: EpochLog = {
        stage: f.stage,
        epoch: f.epoch,
        loss: f.loss,
        accuracy: task === 'regression' ? NaN : metric,
        ...(task === 'regression' ? { mae: metric } : {}),
        learningRate: f.learningRate,
        seconds: f.seconds,
        numTensors: 0,
        cachedFrom: from,
        cache: from === 0 || isStreaming(train) || augmenting ? 'none' : cacheStore,
        ...(microBatchSize !== undefined && microBatchSize < batchSize ? { microBatchSize } : {}),
      };
      if (valFeeder !== null) {
        const v = await evaluateFeeder(model, valFeeder, from, task, lossOptions);
        log.valLoss = v.loss;
        if (task === 'regression') {
          log.valAccuracy = NaN;
          log.valMae = v.metric;
        } else log.valAccuracy = v.metric;
      }
      return log;
    },
  };
  try {
    const r = await runLoop({
      task: imageTask, stage, epochs, optimizer, schedule, rng, history,
      callbacks: userCallbacks,
      context: { model: pm, stage, stopTraining: false },
      ...(where.onEpochBegin !== undefined ? { onEpochBegin: where.onEpochBegin } : {}),
      progress: progressReporter(opts.progress ?? 'auto', undefined, { metric: task === 'regression' ? 'mae' : 'accuracy' }),
      ...(opts.signal !== undefined ? { signal: opts.signal } : {}),
      ...(opts.checkpoint !== undefined ? { checkpoint: opts.checkpoint } : {}),
      target: { model },
      position: { recipe: where.recipe, stageIndex: where.stageIndex, keepOptimizer: where.keepOptimizer === true },
      resume: where.resume,
    });
    return r.interrupted;
  } finally {
    trainFeeder.dispose();
    valFeeder?.dispose();
    if (!where.keepOptimizer) optimizer.dispose();
  }
}

function resolveLoss(opts: FineTuneOptions, train: TrainData, numClasses: number, task: HeadTask): LossOptions {
  const eps = opts.labelSmoothing ?? 0;
  if (!(eps >= 0 && eps < 1)) throw new TransferKitError('E_BAD_OPTION', `fineTune: labelSmoothing must be in [0, 1). Received: labelSmoothing=${eps}.`);
  let classWeights: number[] | undefined;
  if (opts.classWeights !== undefined && task !== 'multiclass') {
    throw new TransferKitError('E_BAD_OPTION', `fineTune: classWeights apply to multiclass heads; this head's task is '${task}'.`);
  }
  if (opts.classWeights === 'balanced') {
    if (isStreaming(train)) {
      throw new TransferKitError('E_BAD_OPTION', "fineTune: classWeights 'balanced' needs the labels up front; with streamed data pass explicit weights (classWeights: [w0, w1, ...]).");
    }
    const counts = new Array(numClasses).fill(0);
    train.labels.forEach((l) => counts[l]++);
    classWeights = counts.map((c) => (c === 0 ? 0 : train.labels.length / (numClasses * c)));
  } else if (opts.classWeights !== undefined) {
    if (opts.classWeights.length !== numClasses || opts.classWeights.some((w) => !(w >= 0))) {
      throw new TransferKitError('E_BAD_OPTION', `fineTune: classWeights needs one weight >= 0 per class (${numClasses}). Received: classWeights=[${opts.classWeights.join(', ')}].`);
    }
    classWeights = opts.classWeights;
  }
  return { labelSmoothing: eps, classWeights };
}

/** Every option name of {@link FineTuneOptions}: others are refused (utils/option_keys.ts). */
const FINE_TUNE_OPTIONS = optionNames<FineTuneOptions>({ recipe: true, baseLr: true, lrMult: true, pctStart: true, div: true, unfreezeAtEpoch: true, backboneInitialRatioLr: true, backboneLrGrowth: true, shouldAlign: true, headEpochs: true, epochs: true, batchSize: true, microBatchSize: true, headLearningRate: true, learningRate: true, schedule: true, optimizer: true, weightDecay: true, clipNorm: true, paramGroups: true, unfreeze: true, bn: true, frozenBn: true, validation: true, validationSplit: true, stages: true, augment: true, cacheActivations: true, cacheMemoryLimitMB: true, cacheDir: true, featureCache: true, featureBatchSize: true, seed: true, onEpochEnd: true, progress: true, checkpoint: true, resumeFrom: true, callbacks: true, signal: true, earlyStopping: true, labelSmoothing: true, classWeights: true });

/**
 * Fine-tunes a re-headed pretrained model on labelled data.
 *
 * The run is determined by `options.seed` (default 42), including the head's initial weights
 * when {@link replaceHead} was given no `seed`: the first fineTune re-initialises such a head from
 * the run's seed (as `replaceHead({ seed })` would), so two identical calls give identical weights
 * and history. Aborting `options.signal` stops after the current step, mid-epoch included.
 *
 * @param pm - a model from {@link replaceHead} (or any PretrainedModel with a softmax output).
 * @param train - training data (inputs already preprocessed).
 * @example
 * ```ts
 * const { history } = await fineTune(model, train, { validation: val, headEpochs: 5, epochs: 5 });
 * ```
 */
export async function fineTune(pm: PretrainedModel, train: TrainData | EncoderData, options?: FineTuneOptions): Promise<FineTuneResult>;
/**
 * A text model (BERT family, with a classification head from {@link replaceHead} or its checkpoint):
 * the Hugging Face recipe on labelled texts, with every option of {@link fineTuneText}.
 * @example
 * ```ts
 * const bert = replaceHead(await loadPretrained('./bert-mini', { modality: 'text' }), { numClasses: 2 });
 * await fineTune(bert, { texts, labels }, { epochs: 3, validation: dev });
 * ```
 */
export async function fineTune(tm: TextModel, train: TextClassificationData, options?: FineTuneTextOptions): Promise<FineTuneTextResult>;
/**
 * Either modality, as {@link TransferModel} (e.g. from `loadPretrained(path, { modality: 'auto' })`):
 * dispatches to the two signatures above; data of the other modality is refused (`E_DATA`).
 */
export async function fineTune<M extends TransferModel>(model: M & UnnarrowedModel<M>, train: TrainData | EncoderData | TextClassificationData, options?: FineTuneOptions | FineTuneTextOptions): Promise<FineTuneResult | FineTuneTextResult>;
export async function fineTune(pm: TransferModel, train: TrainData | EncoderData | TextClassificationData, options: FineTuneOptions | FineTuneTextOptions = {}): Promise<FineTuneResult | FineTuneTextResult> {
  checkModality('fineTune', pm, train);
  if (isTextModel(pm)) return fineTuneText(pm, train as TextClassificationData, options as FineTuneTextOptions);
  return fineTuneImages(pm, train as TrainData | EncoderData, options as FineTuneOptions);
}

async function fineTuneImages(pm: PretrainedModel, train: TrainData | EncoderData, options: FineTuneOptions): Promise<FineTuneResult> {
  checkOptionKeys('fineTune', options, FINE_TUNE_OPTIONS);
  checkTrainData('training data', train);
  if (options.validation !== undefined) checkTrainData('options.validation', options.validation);
  await checkLabels('fineTune', pm, train, options.validation);
  await ensureBackend();
  if (pm.encoder !== undefined || isEncoderData(train) || isEncoderData(options.validation)) return fineTuneOnEncoder(pm, train, options);
  return fineTuneTensors(pm, train, options as TensorFineTuneOptions);
}

/** Plain JavaScript callers get no compile-time check of the data's shape: say what it must be. */
function checkTrainData(what: string, data: unknown): void {
  const d = (typeof data === 'object' && data !== null ? data : {}) as Record<string, unknown>;
  const labels = d.labels;
  const labelled = d.xs instanceof tf.Tensor && (ArrayBuffer.isView(labels) || Array.isArray(labels) || d.targets instanceof tf.Tensor);
  if (labelled || isStreaming(d as unknown as TrainData) || isEncoderData(d)) return;
  const got = typeof data === 'object' && data !== null ? `an object with keys [${Object.keys(d).join(', ')}]` : String(data);
  throw new TransferKitError(
    'E_DATA',
    `fineTune: ${what} must be { xs, labels, classNames } (xs a preprocessed tensor, labels an Int32Array of class indices, e.g. from loadImageFolder), ` +
      `a stream { batches, stepsPerEpoch } (streamImageFolder, fromTfDataset), or raw inputs { inputs, labels } for a model on a frozen encoder. Received: ${got}.`,
  );
}

/**
 * A head on a frozen encoder (ONNX Runtime or TF.js): embed the raw inputs once (cached on disk),
 * then train the head on the rows with every fineTune feature. Only head recipes apply: the
 * encoder is not part of the trained graph (ONNX Runtime has no training).
 */
async function fineTuneOnEncoder(pm: PretrainedModel, train: TrainData | EncoderData, options: FineTuneOptions): Promise<FineTuneResult> {
  const recipe = typeof options.recipe === 'object' ? options.recipe.name : options.recipe ?? 'feature-extraction';
  if (!['feature-extraction', 'head-only', 'full'].includes(recipe) || options.stages !== undefined) {
    throw new TransferKitError('E_BAD_OPTION', `fineTune: the model's encoder '${pm.encoder?.id ?? '?'}' is frozen (it runs outside the trained graph), so only recipe 'feature-extraction' applies. Received: recipe=${options.stages !== undefined ? 'custom stages' : recipe}. To fine-tune the encoder too, load it as a TF.js model (loadTextModel / loadPretrained).`);
  }
  const extract = { cache: options.featureCache ?? true, batchSize: options.featureBatchSize ?? 32, progress: options.progress === 'silent' || options.progress === false ? ('silent' as const) : ('auto' as const) };
  const owned: tf.Tensor[] = [];
  try {
    const tr = isEncoderData(train) ? await encodeData(pm, train, extract, 'fineTune: train') : train;
    if (isEncoderData(train)) owned.push((tr as LabeledData).xs);
    const val = isEncoderData(options.validation) ? await encodeData(pm, options.validation, extract, 'fineTune: validation') : options.validation;
    if (isEncoderData(options.validation)) owned.push((val as LabeledData).xs);
    const head = typeof options.recipe === 'object' ? { recipe: options.recipe } : { recipe: 'feature-extraction' as const, headEpochs: options.headEpochs ?? options.epochs ?? 5 };
    return await fineTuneTensors(pm, tr, { ...options, ...head, validation: val });
  } finally {
    tf.dispose(owned);
  }
}

async function fineTuneTensors(pm: PretrainedModel, train: TrainData, options: TensorFineTuneOptions): Promise<FineTuneResult> {
  let recipeObject: FineTuneRecipe;
  if (typeof options.recipe === 'object' && options.recipe !== null) {
    // A recipe object takes its own settings: flat recipe options beside it would be ignored.
    const flat = RECIPE_OPTION_NAMES.filter((k) => options[k] !== undefined);
    if (flat.length > 0) {
      throw new TransferKitError('E_BAD_OPTION', `fineTune: with a recipe object, pass ${flat.map((k) => `\`${k}\``).join(', ')} to the recipe (e.g. recipes.${options.recipe.name === 'fine-tune' ? 'fastai' : 'twoStage'}({ ${flat[0]}: ... })), not to fineTune. Received: recipe '${options.recipe.name}' and ${flat.join(', ')}.`);
    }
    if (typeof options.recipe.stages !== 'function' || typeof options.recipe.name !== 'string') {
      throw new TransferKitError('E_BAD_OPTION', 'fineTune: `recipe` must be a name or a recipe object { name, stages(model, run) } (recipes.twoStage(), recipes.fastai(), ...).');
    }
    recipeObject = options.recipe;
  } else recipeObject = recipeFromOptions(options);
  const recipe = recipeObject.name;
  const headEpochs = options.headEpochs ?? 5;
  const epochs = options.epochs ?? 5;
  const headLr = options.headLearningRate ?? 1e-3;
  const lr = options.learningRate ?? 1e-4;
  const batchSize = options.batchSize ?? 32;
  check('headEpochs', headEpochs, Number.isInteger(headEpochs) && headEpochs >= 0, 'an integer >= 0');
  check('epochs', epochs, Number.isInteger(epochs) && epochs >= 0, 'an integer >= 0');
  check('batchSize', batchSize, Number.isInteger(batchSize) && batchSize > 0, 'an integer > 0');
  check('headLearningRate', headLr, headLr > 0, '> 0');
  check('learningRate', lr, lr > 0, '> 0');
  // NaN or a fraction would seed every stream with the same garbage without a word.
  if (options.seed !== undefined) check('seed', options.seed, Number.isSafeInteger(options.seed), 'an integer');
  const outUnits = pm.model.outputs[0].shape[1];
  if (!isStreaming(train) && train.targets === undefined && train.xs.shape[0] !== train.labels.length) {
    throw new TransferKitError('E_DATA', `fineTune: train.xs has ${train.xs.shape[0]} examples but train.labels has ${train.labels.length}.`);
  }
  const maxLabel = isStreaming(train) || train.targets !== undefined ? -1 : train.labels.reduce((a, b) => Math.max(a, b), 0);
  if (typeof outUnits === 'number' && maxLabel >= outUnits) {
    throw new TransferKitError('E_DATA', `fineTune: label ${maxLabel} is out of range for a head with ${outUnits} outputs. Call replaceHead(base, { numClasses: ${maxLabel + 1} }) first.`);
  }
  if (options.validationSplit !== undefined) {
    if (options.validation !== undefined) throw new TransferKitError('E_BAD_OPTION', 'fineTune: pass either `validation` or `validationSplit`, not both.');
    if (isStreaming(train)) throw new TransferKitError('E_BAD_OPTION', 'fineTune: `validationSplit` needs in-memory data; with streamed data pass a `validation` stream.');
    const parts: LabeledData[] = trainValSplit(train, options.validationSplit, options.seed ?? 42);
    try {
      return await fineTuneTensors(pm, parts[0], { ...options, validationSplit: undefined, validation: parts[1] });
    } finally {
      tf.dispose(parts.flatMap((d) => [d.xs, ...(d.targets ? [d.targets] : [])]));
    }
  }
  // A head replaceHead built without a seed takes its initial weights from the run's seed (once;
  // a resumed run's weights come from the checkpoint instead).
  seedNewHead(pm.model, options.resumeFrom === undefined ? options.seed ?? 42 : null);
  const rng = new SeededRandom(options.seed ?? 42);
  const resume = options.resumeFrom !== undefined ? await (await checkpoints()).resumeCheckpoint(options.resumeFrom, { model: pm.model }, recipe, 'fineTune') : null;
  // Stage setups draw no random numbers, so the stream simply continues from the checkpoint.
  if (resume !== null) rng.state = resume.rng;
  const history = (resume?.history ?? []) as EpochLog[];
  const plans = recipeObject.stages(pm, options);
  let interrupted = false;
  applySeededDropout(pm.model);
  // Dropout masks come from the run's seeded stream, so the seed determines the whole run.
  await withDropoutSeeds(pm.model, () => Math.floor(rng.next() * 2 ** 31), async () => {
    for (const [i, plan] of plans.entries()) {
      plan.setup();
      if (resume !== null && i < resume.stageIndex) continue; // finished before the checkpoint
      if (plan.epochs === 0) continue;
      const here = resume !== null && i === resume.stageIndex ? resume : null;
      if (options.signal?.aborted === true) {
        interrupted = true;
        break;
      }
      interrupted = await runStage(pm, plan.name, plan.epochs, plan.learningRate, train, { ...options, ...plan.overrides, validation: options.validation }, rng, history, {
        recipe, stageIndex: i, resume: here, keepOptimizer: plan.keepOptimizer, onEpochBegin: plan.onEpochBegin?.bind(plan),
      });
      if (interrupted) break;
    }
  });
  return { model: pm, history, ...(interrupted ? { interrupted: true } : {}) };
}
