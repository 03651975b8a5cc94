/**
 * `DomainAdapter`: adapt a classifier trained on a labelled *source* domain to an unlabelled
 * *target* domain (product reviews → tweets, MNIST → MNIST-M, studio photos → phone photos).
 *
 * One training loop serves every loss-based method, as tllib's examples do: each step draws a
 * source batch and a target batch of the same size, runs them through the model as ONE batch
 * (so training-mode BatchNorm sees both domains), and minimises
 * `CE(source) + sum over methods of tradeoff_m * L_m`:
 * - `'dann'`: `L = DomainAdversarialLoss(D(GRL(f)))` (tllib `DomainAdversarialLoss`), the
 *   discriminator `D` being tllib's `DomainDiscriminator` and the GRL's coefficient tllib's
 *   warm start (Ganin et al.'s `2 / (1 + exp(-10 p)) - 1` by default);
 * - `'coral'`: Deep CORAL on the features; `'mmd'`: DAN's multi-kernel MMD on the features;
 * - `'self-training'`: tllib's `ConfidenceBasedSelfTrainingLoss` on target predictions, plus
 *   optional entropy minimisation;
 * - `'source-only'`: no adaptation term (the baseline every benchmark reports).
 * `'adabn'` trains nothing: it re-estimates BatchNorm statistics on target data, at its place in
 * the method list (so `['adabn', 'self-training']` adapts BN first, then self-trains).
 * `'label-shift'` trains nothing either: it estimates the target's class priors by EM on the
 * model's target predictions and rewrites the output layer for them (Saerens et al. 2002 with
 * Alexandari et al.'s BCTS calibration on `sourceVal`; see `label_shift.ts`). Put it last:
 * `['mmd', 'label-shift']` aligns features, then corrects the class priors the alignment cannot see.
 *
 * Defaults follow tllib's DANN example: SGD with momentum 0.9, weight decay 1e-3, learning rate
 * 0.01 annealed as `lr / (1 + 10 p)^0.75` (Ganin et al. 2016), batch 32 per domain.
 *
 * Model selection without target labels: `validator` scores the model after every epoch
 * ('source-accuracy', 'entropy', 'snd', 'dev') and, with `restoreBestWeights` (default), the epoch with
 * the best score is the one returned.
 *
 * Reference: tllib (Transfer-Learning-Library) `examples/domain_adaptation/image_classification/
 * {dann,dan,self_training}.py`; Ganin et al., JMLR 2016; Sun & Saenko 2016; Long et al. 2015;
 * Li et al. 2017 (AdaBN); Saito et al. 2021 (SND); You et al. 2019 (DEV).
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { TransferKitError } from '../errors.js';
import type { TextModel } from '../models/text/text_model.js';
import type { TransferModel, UnnarrowedModel } from '../models/transfer_model.js';
import { adaptTextModel, type TextAdaptationData, type TextAdaptationResult } from './text_adaptation.js';
import type { LabeledData } from '../data/dataset.js';
import type { PretrainedModel } from '../models/pretrained_model.js';
import { ConstantSchedule } from '../schedules/constant.js';
import { InverseDecay } from '../schedules/inverse_decay.js';
import type { LRSchedule } from '../schedules/schedule.js';
import { cachePoint, runLayers } from '../train/graph_executor.js';
import { crossEntropy } from '../train/losses.js';
import { createOptimizer, type OptimizerSpec } from '../train/optimizers.js';
import type { ParamGroup } from '../optimizers/optimizer.js';
import { clipGradNorm } from '../optimizers/clip_grad_norm.js';
import { permutation, SeededRandom } from '../utils/random.js';
import { applySeededDropout, withDropoutSeeds } from '../layers/seeded_dropout.js';
import { adaBN, type AdaBNOptions } from './adabn.js';
import { checkLabelShiftOptions, labelShift, outputDense, type LabelShiftOptions } from './label_shift.js';
import { gradientReverse, warmStartCoefficient, type WarmStartOptions } from './gradient_reversal.js';
import { coralLoss, type CoralVariant } from './losses/coral.js';
import { domainAdversarialLoss, domainDiscriminator, type DomainDiscriminatorOptions } from './losses/domain_adversarial.js';
import { entropyLoss } from './losses/entropy.js';
import { mkmmdLoss, type MmdOptions } from './losses/mmd.js';
import { selfTrainingLoss } from './losses/self_training.js';
import { higherIsBetter, scoreModel, type ValidatorName } from './validators/score.js';
import { accuracyOf } from './validators/outputs.js';
import { ensureBackend } from '../backends/backend.js';
import type { Callback, TrainingContext, TrainingLog } from '../callbacks/callback.js';
import { progressReporter, type ProgressOption } from '../callbacks/progress.js';
import { runLoop, type TrainingTask } from '../train/loop.js';
import type { CheckpointState } from '../train/checkpoint.js';

// Checkpoints use node:fs: loaded on first use so the browser build never pulls them in.
const checkpoints = () => import('../train/checkpoint.js');

/** Adaptation methods. */
export type AdaptationMethod = 'source-only' | 'dann' | 'coral' | 'mmd' | 'adabn' | 'label-shift' | 'self-training' | 'mlm';

/** Methods that add a loss term to the training loop. */
type LossMethod = 'dann' | 'coral' | 'mmd' | 'self-training';
const ALL_METHODS = new Set<string>(['source-only', 'dann', 'coral', 'mmd', 'adabn', 'label-shift', 'self-training', 'mlm']);
/** Methods that train nothing: each runs alone, at its place in the method list. */
const TRAINING_FREE = new Set<AdaptationMethod>(['adabn', 'label-shift']);

/** Options of a {@link DomainAdapter}. */
export interface DomainAdapterOptions {
  /** One method, or several applied in order (consecutive loss methods train together). */
  method: AdaptationMethod | AdaptationMethod[];
  /** Epochs of training (default 10). An epoch is `stepsPerEpoch` steps. */
  epochs?: number;
  /** Steps per epoch (default: ceil(source examples / batchSize), as tllib's `iters_per_epoch` over the source set). */
  stepsPerEpoch?: number;
  /** Examples per domain per step (default 32). */
  batchSize?: number;
  /** Peak learning rate (default 0.01, tllib). */
  learningRate?: number;
  /** Optimizer (default 'momentum': SGD with momentum 0.9, tllib). */
  optimizer?: OptimizerSpec;
  /** Weight decay (default 1e-3, tllib's `--wd`). */
  weightDecay?: number;
  /**
   * Clip the gradients of every step (model and discriminator together) to this global L2 norm,
   * as fineTune's `clipNorm` and `torch.nn.utils.clip_grad_norm_` (default: no clipping, as tllib).
   */
  clipNorm?: number;
  /**
   * The layer whose output the adaptation losses (DANN's discriminator, CORAL, MMD) see, by name.
   * Default: a transferkit model's own `featureLayer`; a plain LayersModel's layer before the
   * last. Ganin & Lempitsky's digits network puts the discriminator on the flattened convolution
   * output, below a three-layer label predictor: name that layer here.
   */
  featureLayer?: string;
  /** Learning-rate multiplier of the layers up to and including the feature layer (default 1; tllib uses 0.1 for pretrained backbones). */
  backboneLrScale?: number;
  /** Schedule: 'dann' (default: `lr / (1 + 10 p)^0.75`), 'constant', or any {@link LRSchedule} over steps. */
  schedule?: 'dann' | 'constant' | LRSchedule;
  /** Weight of the adaptation loss: one number for every method, or one per method (default 1). */
  tradeoff?: number | Partial<Record<LossMethod, number>>;
  /** GRL coefficient schedule (tllib's warm start). Default `{ alpha: 10, lo: 0, hi: 1, maxIters: total steps }`, Ganin et al.'s; tllib's own default is `{ alpha: 1, maxIters: 1000 }`. */
  grl?: WarmStartOptions;
  /** The DANN discriminator (tllib `DomainDiscriminator`, default 1024 hidden units with BatchNorm). */
  discriminator?: DomainDiscriminatorOptions;
  /** CORAL form (default 'paper'). */
  coral?: { variant?: CoralVariant };
  /** MK-MMD kernels (default tllib's DAN bank). */
  mmd?: MmdOptions;
  /** Self-training: confidence threshold (default 0.9) and the weight of entropy minimisation on target predictions (default 0). */
  selfTraining?: { threshold?: number; entropyWeight?: number };
  /** AdaBN options. */
  adabn?: AdaBNOptions;
  /** Label-shift options (calibration on `sourceVal`, EM iterations and tolerance). */
  labelShift?: LabelShiftOptions;
  /** Unsupervised validators computed after every epoch; the first one selects the returned epoch. */
  validator?: ValidatorName | ValidatorName[];
  /** Return the weights of the best epoch under the first validator (default true when a validator is set). */
  restoreBestWeights?: boolean;
  /** @deprecated Use `restoreBestWeights` (the one name across transferkit); kept for one release. */
  restoreBest?: boolean;
  /** Stop when the first validator has not improved for this many epochs (default: never). */
  patience?: number;
  /** Target examples the validators use (default 1000; SND is quadratic in it). */
  validationSize?: number;
  /**
   * Compute the output of the frozen, deterministic bottom of the model once per phase for the
   * source and target sets, and train from there (default true). The same updates as running the
   * whole model every step, at a fraction of the cost when the backbone is frozen.
   */
  cacheActivations?: boolean;
  /** Seed of the batch order and the discriminator's initial weights (default 0). */
  seed?: number;
  /** Called after every epoch with its log. */
  onEpochEnd?: (log: AdaptationEpochLog) => void;
  /** Callbacks of the training loop, called per phase (each loss phase is one stage). */
  callbacks?: Callback[];
  /** Progress output on stderr (as fineTune's; default `'auto'`). */
  progress?: ProgressOption;
  /**
   * Write a checkpoint (model and discriminator weights, optimizer, schedule, samplers, RNG
   * streams, history) every `everyEpochs` epochs / `everySteps` steps and after each phase, atomically.
   */
  checkpoint?: { dir: string; everyEpochs?: number; everySteps?: number };
  /**
   * Continue from a checkpoint written by `checkpoint`, with the same model, data and options:
   * the weights equal an uninterrupted run's (model selection by `validator` restarts at the resume).
   */
  resumeFrom?: string;
  /** Stops after the current optimizer step when aborted (checkpointed when `checkpoint` is set); the result has `interrupted`. */
  signal?: AbortSignal;
}

/** Data of one adaptation run: labelled source, unlabelled target. */
export interface AdaptationData {
  /** Labelled source-domain data. */
  source: LabeledData;
  /** Unlabelled target-domain inputs (labels, if any, are never read). */
  target: { xs: tf.Tensor };
  /** Labelled source validation data (the 'source-accuracy' and 'dev' validators need it). */
  sourceVal?: LabeledData;
  /** Labelled target test data, for *reporting* only: never used for training or selection. */
  targetVal?: LabeledData;
}

/**
 * Figures of one epoch (or of a training-free method such as AdaBN: `steps` 0), in the
 * vocabulary of every training log: `stage` is the phase's methods (`'dann'`, `'coral+mmd'`,
 * `'source-only'`, `'adabn'`), `epoch` counts from 1 within it, `accuracy` is the accuracy on the
 * source training batches and `valAccuracy` on `sourceVal`.
 */
export interface AdaptationEpochLog extends TrainingLog {
  /** Optimizer steps in the epoch. */
  steps: number;
  /** Accuracy on the source training batches. */
  accuracy: number;
  /** Mean source cross-entropy. */
  classLoss: number;
  /** Mean weighted adaptation loss (sum over the methods). */
  transferLoss: number;
  /** DANN: the discriminator's accuracy (0.5 = the domains are indistinguishable). */
  domainAcc?: number;
  /** DANN: the GRL coefficient at the epoch's last step. */
  grlCoeff?: number;
  /** Self-training: fraction of target examples above the threshold. */
  pseudoLabelRate?: number;
  /** Accuracy on `targetVal` (reporting only). */
  targetValAcc?: number;
  /** Validator scores. */
  scores: Partial<Record<ValidatorName, number>>;
  /** Layer index the steps started from (0: the input; higher: activations cached below it). */
  cachedFrom?: number;
  /** Label shift: the estimated target class priors (in `classNames` order). */
  targetPriors?: number[];
}

/** Result of {@link DomainAdapter.fit}. */
export interface AdaptationResult {
  /** The adapted model (the same object that was passed in, now adapted). */
  model: PretrainedModel;
  /** Per-epoch figures. */
  history: AdaptationEpochLog[];
  /**
   * Which epoch's weights were returned, as a 1-based position in `history` (the last one unless
   * a validator selected another). A training-free step after training (`'label-shift'`, `'adabn'`)
   * applies to the weights the validator selected among the epochs before it, and is not itself a
   * candidate: `selectedEpoch` is then that step's entry.
   */
  selectedEpoch: number;
  /** True when `signal` stopped the run early (resume it with `resumeFrom`). */
  interrupted?: boolean;
}

/** What fit() accepts: a transferkit model, or a plain LayersModel whose feature layer is named in options (default: the layer before the last). */
export type AdaptableModel = PretrainedModel | tfl.LayersModel;

function isTextModel(m: AdaptableModel | TextModel): m is TextModel {
  return (m as TextModel).family !== undefined && (m as TextModel).inputNames !== undefined;
}

function isPretrained(m: AdaptableModel): m is PretrainedModel {
  return (m as PretrainedModel).featureLayer !== undefined && (m as PretrainedModel).model !== undefined;
}

/** Adapts a source-trained model to a target domain. */
export class DomainAdapter {
  /** The options it was built with. */
  readonly options: DomainAdapterOptions;
  private readonly methods: AdaptationMethod[];

  constructor(options: DomainAdapterOptions) {
    this.options = options;
    this.methods = Array.isArray(options.method) ? options.method : [options.method];
    if (this.methods.length === 0) throw new TransferKitError('E_BAD_OPTION', 'DomainAdapter: method must name at least one method. Received: method=[].');
    for (const m of this.methods) {
      if (!ALL_METHODS.has(m)) throw new TransferKitError('E_BAD_OPTION', `DomainAdapter: unknown method. Received: method='${String(m)}'. Choose from ${[...ALL_METHODS].join(', ')}.`);
    }
    for (const [k, v] of Object.entries({ epochs: options.epochs, batchSize: options.batchSize, stepsPerEpoch: options.stepsPerEpoch })) {
      if (v !== undefined && !(Number.isInteger(v) && v > 0)) throw new TransferKitError('E_BAD_OPTION', `DomainAdapter: ${k} must be an integer > 0. Received: ${k}=${v}.`);
    }
    const ls = this.methods.indexOf('label-shift');
    const retrained = this.methods.slice(ls + 1).filter((m) => !TRAINING_FREE.has(m));
    if (ls >= 0 && retrained.length > 0) {
      throw new TransferKitError('E_BAD_OPTION', `DomainAdapter: 'label-shift' must come after every training method (training after it learns the source priors back). Received: method=${JSON.stringify(options.method)}; move ${retrained.join(', ')} before it.`);
    }
    checkLabelShiftOptions(options.labelShift, 'DomainAdapter labelShift');
    if (options.clipNorm !== undefined && !(options.clipNorm > 0)) throw new TransferKitError('E_BAD_OPTION', `DomainAdapter: clipNorm must be > 0 (leave it out for no clipping). Received: clipNorm=${options.clipNorm}.`);
    if (options.learningRate !== undefined && !(options.learningRate >= 0)) throw new TransferKitError('E_BAD_OPTION', `DomainAdapter: learningRate must be >= 0. Received: learningRate=${options.learningRate}.`);
  }

  /**
   * Adapts `model` with `data`; returns it with the per-epoch history. A text model (BERT family)
   * with texts takes the text path: `'mlm'` (domain-adaptive masked-LM pretraining on the target
   * texts, then fine-tuning on the source) or `'source-only'`; see {@link adaptTextModel}.
   */
  async fit(model: TextModel, data: TextAdaptationData): Promise<TextAdaptationResult>;
  async fit(model: AdaptableModel, data: AdaptationData): Promise<AdaptationResult>;
  /** Either modality ({@link TransferModel}, or a plain LayersModel); data of the other modality is refused (`E_DATA`). */
  async fit<M extends TransferModel>(model: M & UnnarrowedModel<M>, data: AdaptationData | TextAdaptationData): Promise<AdaptationResult | TextAdaptationResult>;
  async fit(model: AdaptableModel | TextModel, data: AdaptationData | TextAdaptationData): Promise<AdaptationResult | TextAdaptationResult> {
    const part = (k: 'source' | 'target'): unknown => (typeof data === 'object' && data !== null ? (data as unknown as Record<string, unknown>)[k] : undefined);
    const hasTexts = (v: unknown): boolean => typeof v === 'object' && v !== null && Array.isArray((v as { texts?: unknown }).texts);
    if (isTextModel(model) && !(hasTexts(part('source')) && hasTexts(part('target')))) {
      throw new TransferKitError('E_DATA', `DomainAdapter.fit: this is a text model (${model.family}); it takes { source: { texts, labels }, target: { texts } }. Tensors go with an image model.`);
    }
    if (!isTextModel(model) && (hasTexts(part('source')) || hasTexts(part('target')))) {
      throw new TransferKitError('E_DATA', "DomainAdapter.fit: texts ({ source: { texts } }) go with a text model (loadPretrained(dir, { modality: 'text' })); this model takes tensors { source: { xs, labels, classNames }, target: { xs } }.");
    }
    await ensureBackend();
    if (isTextModel(model)) return this.fitText(model, data as TextAdaptationData);
    if (this.methods.includes('mlm')) {
      throw new TransferKitError('E_BAD_OPTION', "DomainAdapter method 'mlm' (masked-LM domain-adaptive pretraining) adapts a text model: pass a TextModel (loadTextModel / buildTextModel) and { source: { texts, labels }, target: { texts } }.");
    }
    return this.fitTensors(model, data as AdaptationData);
  }

  private async fitText(tm: TextModel, data: TextAdaptationData): Promise<TextAdaptationResult> {
    const other = this.methods.filter((m) => m !== 'mlm' && m !== 'source-only');
    if (other.length > 0 || this.methods.length !== 1) {
      throw new TransferKitError('E_BAD_OPTION', `DomainAdapter on a text model supports method 'mlm' or 'source-only' alone. Received: method=${JSON.stringify(this.options.method)}. For ${other.join(', ') || 'feature-alignment methods'}, adapt a LayersModel over the text model's pooled features.`);
    }
    const o = this.options;
    return adaptTextModel(tm, data, {
      ...(o.checkpoint !== undefined ? { checkpoint: o.checkpoint } : {}),
      ...(o.resumeFrom !== undefined ? { resumeFrom: o.resumeFrom } : {}),
      method: this.methods[0] as 'mlm' | 'source-only',
      fineTune: {
        ...(o.epochs !== undefined ? { epochs: o.epochs } : {}), ...(o.batchSize !== undefined ? { batchSize: o.batchSize } : {}), ...(o.learningRate !== undefined ? { learningRate: o.learningRate } : {}), ...(o.clipNorm !== undefined ? { clipNorm: o.clipNorm } : {}),
        seed: o.seed ?? 0, ...(o.progress !== undefined ? { progress: o.progress } : {}), ...(o.callbacks !== undefined ? { callbacks: o.callbacks } : {}), ...(o.signal !== undefined ? { signal: o.signal } : {}),
      },
      mlm: { seed: o.seed ?? 0, ...(o.progress !== undefined ? { progress: o.progress } : {}), ...(o.callbacks !== undefined ? { callbacks: o.callbacks } : {}), ...(o.signal !== undefined ? { signal: o.signal } : {}) },
    });
  }

  private async fitTensors(model: AdaptableModel, data: AdaptationData): Promise<AdaptationResult> {
    const lm = isPretrained(model) ? model.model : model;
    const featureLayer = this.options.featureLayer ?? (isPretrained(model) ? model.featureLayer : lm.layers[lm.layers.length - 2].name);
    const featureIndex = lm.layers.findIndex((l) => l.name === featureLayer);
    if (featureIndex < 0) {
      const near = lm.layers.slice(-6).map((l) => l.name).join(', ');
      throw new TransferKitError('E_LAYER_NOT_FOUND', `DomainAdapter: feature layer '${featureLayer}' is not in model '${lm.name}' (its last layers: ${near}). Pass options.featureLayer naming the layer that feeds the classifier head.`);
    }
    if (featureIndex >= lm.layers.length - 1) throw new TransferKitError('E_MODEL_TOPOLOGY', `DomainAdapter: feature layer '${featureLayer}' is the model's output; name the layer that feeds the classifier.`);
    checkData(lm, data);
    if (this.methods.includes('label-shift')) {
      // Before any training: a head label shift cannot rewrite fails now, not after the epochs.
      outputDense(lm);
      if (data.sourceVal === undefined && this.options.labelShift?.calibration !== undefined && this.options.labelShift.calibration !== 'none') {
        throw new TransferKitError('E_DATA', `DomainAdapter: labelShift.calibration '${this.options.labelShift.calibration}' fits on labelled source validation data: pass data.sourceVal, or leave calibration out (without sourceVal label shift runs uncalibrated on the source training data).`);
      }
    }
    const pm: PretrainedModel = isPretrained(model)
      ? model
      : { model: lm, inputShape: lm.inputs[0].shape.slice(1) as number[], preprocessing: { scale: 1, offset: 0, source: 'identity' }, featureLayer, headLayers: lm.layers.slice(featureIndex + 1).map((l) => l.name), source: lm.name };

    const o = this.options;
    const validators = o.validator === undefined ? [] : Array.isArray(o.validator) ? o.validator : [o.validator];
    const restoreBest = o.restoreBestWeights ?? o.restoreBest ?? validators.length > 0;
    const history: AdaptationEpochLog[] = [];
    // The best epoch under the first validator, by its 1-based position in `history`.
    let best: { index: number; score: number; weights: tf.Tensor[] } | null = null;
    let sinceBest = 0;
    const context: TrainingContext = { model: pm, stage: '', stopTraining: false };

    /** Completes an epoch's log: validation accuracies and validator scores. */
    const complete = async (log: Omit<AdaptationEpochLog, 'scores' | 'valAccuracy' | 'targetValAcc'>): Promise<AdaptationEpochLog> => {
      const full: AdaptationEpochLog = { ...log, scores: {} };
      if (data.sourceVal !== undefined) full.valAccuracy = await accuracyOf(lm, data.sourceVal);
      if (data.targetVal !== undefined) full.targetValAcc = await accuracyOf(lm, data.targetVal);
      for (const v of validators) {
        // Source accuracy was just measured above; the others need their own passes.
        full.scores[v] = v === 'source-accuracy' && full.valAccuracy !== undefined ? full.valAccuracy : await scoreModel(v, lm, featureIndex, data, { validationSize: o.validationSize, seed: o.seed });
      }
      return full;
    };
    /** After each epoch (pushed to history): the user's hook, then model selection and patience. */
    const select: Callback = {
      onEpochEnd: (l, ctx) => {
        const full = l as AdaptationEpochLog;
        o.onEpochEnd?.(full);
        if (validators.length === 0) return;
        const v = validators[0];
        const sc = full.scores[v] as number;
        const higher = higherIsBetter(v);
        if (best === null || (higher ? sc > best.score : sc < best.score)) {
          if (best !== null) tf.dispose(best.weights);
          best = { index: history.length, score: sc, weights: restoreBest ? lm.weights.map((w) => tf.clone(w.read())) : [] };
          sinceBest = 0;
        } else if (o.patience !== undefined && ++sinceBest >= o.patience) ctx.stopTraining = true;
      },
    };

    // Split the method list into phases: AdaBN and label shift alone, consecutive loss methods together.
    const phases: AdaptationMethod[][] = [];
    for (const m of this.methods) {
      const last = phases[phases.length - 1];
      if (!TRAINING_FREE.has(m) && last !== undefined && !TRAINING_FREE.has(last[0])) last.push(m);
      else phases.push([m]);
    }
    const recipe = `adapt:${phases.map((ph) => ph.join('+')).join(',')}`;
    const ckpt = o.checkpoint !== undefined || o.resumeFrom !== undefined ? await checkpoints() : null;
    const resume = o.resumeFrom !== undefined ? await (ckpt as CheckpointModule).peekCheckpoint(o.resumeFrom) : null;
    if (resume !== null && resume.recipe !== recipe) {
      throw new TransferKitError('E_BAD_OPTION', `The checkpoint at ${o.resumeFrom} was written by a DomainAdapter with methods '${resume.recipe.slice(6)}'. Received: method=${JSON.stringify(o.method)}. Resume with the same options.`);
    }
    if (resume !== null) history.push(...(resume.history as AdaptationEpochLog[]));
    /**
     * A training-free step after training (label shift, AdaBN) post-processes the model the
     * validator chose: restore the best epoch so far first, and keep the step out of selection
     * (label shift is built to lower source accuracy; selecting on it would undo it).
     */
    const settleSelection = (): void => {
      const chosen = best as { index: number; score: number; weights: tf.Tensor[] } | null;
      if (chosen === null) return;
      if (restoreBest && chosen.index !== history.length) lm.weights.forEach((w, j) => w.write(chosen.weights[j]));
      tf.dispose(chosen.weights);
      best = null;
      sinceBest = 0;
    };
    let interrupted = false;
    let trained = resume !== null && resume.stageIndex > 0 && phases.slice(0, resume.stageIndex).some((ph) => !TRAINING_FREE.has(ph[0]));
    for (const [i, phase] of phases.entries()) {
      if (interrupted) break;
      // Early stopping ends training; the training-free steps after it still run.
      if (context.stopTraining && !TRAINING_FREE.has(phase[0])) continue;
      if (resume !== null && i < resume.stageIndex) continue; // done before the checkpoint
      const here = resume !== null && i === resume.stageIndex ? resume : null;
      if (o.signal?.aborted === true) {
        interrupted = true;
        break;
      }
      if (TRAINING_FREE.has(phase[0])) {
        if (here !== null) await (ckpt as CheckpointModule).readCheckpoint(o.resumeFrom as string, { model: lm });
        if (trained) settleSelection();
        // The user's callbacks and the progress output see the step as a one-epoch stage, as
        // every training phase (the loop's events, in its order).
        context.stage = phase[0];
        const userCallbacks = o.callbacks ?? [];
        for (const cb of userCallbacks) await cb.onTrainBegin?.(context);
        for (const cb of userCallbacks) await cb.onEpochBegin?.(1, context);
        const t0 = performance.now();
        let targetPriors: number[] | undefined;
        if (phase[0] === 'adabn') await adaBN(lm, data.target.xs, o.adabn);
        else {
          // Calibrate on held-out source data when there is some; else the training data, uncalibrated (it would fit the training fit).
          const validation = data.sourceVal ?? data.source;
          const calibration = data.sourceVal !== undefined ? o.labelShift?.calibration : 'none';
          targetPriors = (await labelShift(lm, data.target.xs, validation, { ...o.labelShift, ...(calibration !== undefined ? { calibration } : {}) })).targetPriors;
        }
        const log = await complete({ stage: phase[0], epoch: 1, steps: 0, learningRate: 0, loss: 0, classLoss: 0, transferLoss: 0, accuracy: 0, seconds: 0, numTensors: 0, ...(targetPriors !== undefined ? { targetPriors } : {}) });
        log.seconds = (performance.now() - t0) / 1000;
        log.numTensors = tf.memory().numTensors;
        history.push(log);
        if (o.checkpoint !== undefined) {
          await (ckpt as CheckpointModule).writeCheckpoint(o.checkpoint.dir, { model: lm }, { version: 1, recipe, stageIndex: i + 1, epochsDone: 0, step: 0, optimizer: null, schedule: null, rng: 0, history });
        }
        progressReporter(o.progress ?? 'auto')?.({ type: 'epoch', log });
        if (trained) o.onEpochEnd?.(log);
        else await select.onEpochEnd?.(log, context);
        for (const cb of userCallbacks) await cb.onEpochEnd?.(log, context);
        for (const cb of userCallbacks) await cb.onTrainEnd?.([log], context);
        continue;
      }
      trained = true;
      interrupted = await this.trainPhase(lm, featureIndex, phase.filter((m) => m !== 'source-only') as LossMethod[], data, {
        history, context, callbacks: [select, ...(o.callbacks ?? [])], recipe, stageIndex: i, resume: here, complete,
      });
    }

    // A checkpoint of a finished run (every phase done): no phase read its weights, so load them here.
    if (resume !== null && resume.stageIndex >= phases.length) await (ckpt as CheckpointModule).readCheckpoint(o.resumeFrom as string, { model: lm });
    let selectedEpoch = history.length;
    const chosen = best as { index: number; score: number; weights: tf.Tensor[] } | null;
    if (chosen !== null) {
      // Interrupted, the model keeps the last step's weights (those of the checkpoint a resume continues from), as fineTune's.
      if (restoreBest && !interrupted && chosen.index !== selectedEpoch) {
        lm.weights.forEach((w, j) => w.write(chosen.weights[j]));
        selectedEpoch = chosen.index;
      }
      tf.dispose(chosen.weights);
    }
    return { model: pm, history, selectedEpoch, ...(interrupted ? { interrupted: true } : {}) };
  }

  private tradeoff(m: LossMethod): number {
    const t = this.options.tradeoff;
    if (t === undefined) return 1;
    if (typeof t === 'number') return t;
    return t[m] ?? 1;
  }

  /** One phase of loss-based methods, as a task of the training loop (train/loop.ts). Returns true when interrupted. */
  private async trainPhase(
    lm: tfl.LayersModel,
    featureIndex: number,
    methods: LossMethod[],
    data: AdaptationData,
    run: {
      history: AdaptationEpochLog[];
      context: TrainingContext;
      callbacks: Callback[];
      recipe: string;
      stageIndex: number;
      resume: CheckpointState | null;
      complete: (log: Omit<AdaptationEpochLog, 'scores' | 'valAccuracy' | 'targetValAcc'>) => Promise<AdaptationEpochLog>;
    },
  ): Promise<boolean> {
    const o = this.options;
    const batch = o.batchSize ?? 32;
    const ns = data.source.xs.shape[0];
    const nt = data.target.xs.shape[0];
    const epochs = o.epochs ?? 10;
    const stepsPerEpoch = o.stepsPerEpoch ?? Math.ceil(ns / batch);
    const total = epochs * stepsPerEpoch;
    const lr0 = o.learningRate ?? 0.01;
    const schedule: LRSchedule = o.schedule === undefined || o.schedule === 'dann' ? InverseDecay.dann(lr0, total) : o.schedule === 'constant' ? new ConstantSchedule(lr0) : o.schedule;
    const k = data.source.classNames.length;
    const last = lm.layers.length - 1;
    const seed = o.seed ?? 0;
    const dann = methods.includes('dann');
    const sourceOnly = methods.length === 0;
    const stage = sourceOnly ? 'source-only' : methods.join('+');
    const featureDim = (lm.layers[featureIndex].outputShape as number[]).slice(1).reduce((a, b) => a * b, 1);
    const disc = dann ? domainDiscriminator(featureDim, { seed, ...o.discriminator }) : null;
    if (disc !== null) applySeededDropout(disc);
    const grl: WarmStartOptions = { alpha: 10, lo: 0, hi: 1, maxIters: total, ...o.grl };
    const threshold = o.selfTraining?.threshold ?? 0.9;
    const entropyWeight = o.selfTraining?.entropyWeight ?? 0;

    // Parameter groups: backbone (up to the feature layer), head, discriminator.
    const read = (w: tfl.LayerVariable) => w.read() as tf.Variable;
    const backbone = lm.layers.slice(0, featureIndex + 1).flatMap((l) => l.trainableWeights.map(read));
    const backboneNames = new Set(backbone.map((v) => v.name));
    const head = lm.trainableWeights.map(read).filter((v) => !backboneNames.has(v.name));
    const discVars = disc === null ? [] : disc.trainableWeights.map(read);
    const groups: ParamGroup[] = [
      ...(backbone.length > 0 ? [{ params: backbone, lrScale: o.backboneLrScale ?? 1, name: 'backbone' }] : []),
      ...(head.length > 0 ? [{ params: head, name: 'head' }] : []),
      ...(discVars.length > 0 ? [{ params: discVars, name: 'discriminator' }] : []),
    ];
    if (groups.length === 0) {
      disc?.dispose();
      throw new TransferKitError('E_BAD_OPTION', `DomainAdapter: model '${lm.name}' has no trainable weights; unfreeze the layers to adapt (or use method 'adabn', which trains nothing).`);
    }
    const vars = groups.flatMap((g) => g.params);
    const optimizer = createOptimizer(o.optimizer ?? 'momentum', groups, lr0, o.weightDecay ?? 1e-3);
    // The discriminator's every weight (BatchNorm statistics included) is part of a checkpoint.
    const target = { model: lm, ...(disc !== null ? { extra: disc.weights.map(read) } : {}) };
    // Dropout masks from their own seeded stream: the same run twice gives the same model.
    applySeededDropout(lm);
    const dropoutRng = new SeededRandom(seed ^ 0x0d0d0d0d);
    const rng = new SeededRandom(seed);
    const r = () => rng.next();
    const sourceSampler = new CyclicSampler(ns, batch, r);
    const targetSampler = new CyclicSampler(nt, batch, r);
    const labels = data.source.labels;
    // Activation caching: layers 0..from are frozen and deterministic, so their outputs are fixed.
    const from = o.cacheActivations === false ? 0 : Math.min(cachePoint(lm), featureIndex);
    const cacheOf = (xs: tf.Tensor): tf.Tensor => {
      if (from === 0) return xs;
      const parts: tf.Tensor[] = [];
      for (let i = 0; i < xs.shape[0]; i += 128) parts.push(tf.tidy(() => runLayers(lm, 0, tf.slice(xs, i, Math.min(128, xs.shape[0] - i)), from, false)));
      const out = tf.concat(parts, 0);
      tf.dispose(parts);
      return out;
    };
    let coeff = 0;
    const phaseTask: TrainingTask<null, AdaptationEpochLog> = {
      stepsPerEpoch,
      progressMetric: 'hits',
      // Batches come from the cyclic samplers (their position is task state), one pair per step.
      epoch: (_rand, at) => ({ batches: new Array<null>(stepsPerEpoch - (at?.start ?? 0)).fill(null), order: () => null }),
      trainStep: async (_b, step) => {
        coeff = dann ? warmStartCoefficient(step, grl) : 0;
        const si = sourceSampler.next();
        const ti = targetSampler.next();
        const figures = tf.tidy(() => {
          const xs = tf.gather(srcX as tf.Tensor, tf.tensor1d(si, 'int32'));
          const xt = sourceOnly ? xs : tf.gather(tgtX as tf.Tensor, tf.tensor1d(ti, 'int32'));
          const y = tf.oneHot(tf.tensor1d(Array.from(si, (i) => labels[i]), 'int32'), k);
          const parts: Record<string, tf.Scalar> = {};
          const { value, grads } = tf.variableGrads(() => {
            // Source-only never shows the model a target example (training-mode BatchNorm
            // would otherwise normalise with target statistics).
            const x = sourceOnly ? xs : tf.concat([xs, xt], 0);
            const rows = sourceOnly ? batch : 2 * batch;
            const f = runLayers(lm, from, x, featureIndex, true);
            const p = runLayers(lm, featureIndex, f, last, true) as tf.Tensor2D;
            const ps = tf.slice(p, 0, batch) as tf.Tensor2D;
            const pt = sourceOnly ? ps : (tf.slice(p, batch, batch) as tf.Tensor2D);
            const flat = tf.reshape(f, [rows, -1]);
            const fs = tf.slice(flat, 0, batch);
            const ft = sourceOnly ? fs : tf.slice(flat, batch, batch);
            const cls = crossEntropy(ps, y);
            let transfer: tf.Scalar = tf.scalar(0);
            parts.hits = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(ps, -1), tf.argMax(y, -1)), 'float32')) as tf.Scalar);
            for (const m of methods) {
              let l: tf.Scalar;
              if (m === 'dann') {
                const d = runLayers(disc as tfl.LayersModel, 0, gradientReverse(flat, coeff), (disc as tfl.LayersModel).layers.length - 1, true);
                const adv = domainAdversarialLoss(tf.slice(d, 0, batch), tf.slice(d, batch, batch));
                parts.domainAcc = tf.keep(adv.accuracy);
                l = adv.loss;
              } else if (m === 'coral') l = coralLoss(fs, ft, o.coral?.variant);
              else if (m === 'mmd') l = mkmmdLoss(fs, ft, o.mmd);
              else {
                l = selfTrainingLoss(pt, pt, threshold);
                parts.pseudo = tf.keep(tf.mean(tf.cast(tf.greater(tf.max(pt, -1), threshold), 'float32')) as tf.Scalar);
                if (entropyWeight > 0) transfer = tf.add(transfer, tf.mul(entropyWeight, entropyLoss(pt))) as tf.Scalar;
              }
              transfer = tf.add(transfer, tf.mul(this.tradeoff(m), l)) as tf.Scalar;
            }
            parts.cls = tf.keep(cls);
            parts.transfer = tf.keep(transfer);
            return tf.add(cls, transfer) as tf.Scalar;
          }, vars);
          optimizer.step(o.clipNorm !== undefined ? clipGradNorm(grads, o.clipNorm).grads : grads);
          return { loss: value, ...parts } as unknown as tf.NamedTensorMap;
        });
        const names = Object.keys(figures);
        const values = await Promise.all(names.map(async (n) => (await figures[n].data())[0]));
        tf.dispose(Object.values(figures));
        const v = Object.fromEntries(names.map((n, j) => [n, values[j]]));
        return { loss: v.loss, examples: batch, sums: { cls: v.cls, transfer: v.transfer, hits: v.hits, domainAcc: v.domainAcc ?? 0, pseudo: v.pseudo ?? 0 } };
      },
      epochLog: async (f) => run.complete({
        stage: f.stage,
        epoch: f.epoch,
        steps: f.steps,
        learningRate: f.learningRate,
        loss: f.loss,
        classLoss: (f.sums.cls ?? 0) / f.steps,
        transferLoss: (f.sums.transfer ?? 0) / f.steps,
        accuracy: (f.sums.hits ?? 0) / f.examples,
        ...(dann ? { domainAcc: (f.sums.domainAcc ?? 0) / f.steps, grlCoeff: coeff } : {}),
        ...(methods.includes('self-training') ? { pseudoLabelRate: (f.sums.pseudo ?? 0) / f.steps } : {}),
        cachedFrom: from,
        seconds: f.seconds,
        numTensors: 0,
      }),
      getState: () => ({ dropout: dropoutRng.state, source: sourceSampler.getState(), target: targetSampler.getState() }),
      setState: (st) => {
        dropoutRng.state = st.dropout as number;
        sourceSampler.setState(st.source as SamplerState);
        targetSampler.setState(st.target as SamplerState);
      },
    };
    let srcX: tf.Tensor | null = null;
    let tgtX: tf.Tensor | null = null;
    try {
      // A resume inside this phase loads its weights (the discriminator's included) before caching.
      if (run.resume !== null) await (await checkpoints()).readCheckpoint(o.resumeFrom as string, run.resume.epochsDone === 0 && run.resume.step === 0 ? { model: lm } : target);
      srcX = cacheOf(data.source.xs);
      tgtX = sourceOnly ? srcX : cacheOf(data.target.xs);
      run.context.stage = stage;
      const res = await withDropoutSeeds(disc !== null ? [lm, disc] : [lm], () => Math.floor(dropoutRng.next() * 2 ** 31), () =>
        runLoop({
          task: phaseTask, stage, epochs, optimizer, schedule, rng, history: run.history, callbacks: run.callbacks, context: run.context,
          progress: progressReporter(o.progress ?? 'auto'),
          ...(o.signal !== undefined ? { signal: o.signal } : {}),
          ...(o.checkpoint !== undefined ? { checkpoint: o.checkpoint } : {}),
          target,
          position: { recipe: run.recipe, stageIndex: run.stageIndex },
          resume: run.resume !== null && (run.resume.epochsDone > 0 || run.resume.step > 0) ? run.resume : null,
        }),
      );
      return res.interrupted;
    } finally {
      optimizer.dispose();
      disc?.dispose();
      if (from !== 0) tf.dispose([srcX, ...(sourceOnly ? [] : [tgtX])].filter((t): t is tf.Tensor => t !== null));
    }
  }
}

type CheckpointModule = typeof import('../train/checkpoint.js');

/** A sampler's position: the current pass's order and how far it got. */
interface SamplerState {
  order: number[];
  pos: number;
}

/** Batches of `size` indices from a cyclic order over 0..n-1, reshuffled with `rand` at every pass. */
class CyclicSampler {
  private order: Int32Array;
  private pos = 0;

  constructor(
    private readonly n: number,
    private readonly size: number,
    private readonly rand: () => number,
  ) {
    this.order = permutation(n, rand);
  }

  next(): Int32Array {
    const out = new Int32Array(this.size);
    for (let i = 0; i < this.size; i++) {
      if (this.pos === this.n) {
        this.order = permutation(this.n, this.rand);
        this.pos = 0;
      }
      out[i] = this.order[this.pos++];
    }
    return out;
  }

  getState(): SamplerState {
    return { order: Array.from(this.order), pos: this.pos };
  }

  setState(s: SamplerState): void {
    this.order = Int32Array.from(s.order);
    this.pos = s.pos;
  }
}

function checkData(lm: tfl.LayersModel, data: AdaptationData): void {
  const inShape = lm.inputs[0].shape.slice(1);
  const check = (name: string, xs: tf.Tensor | undefined) => {
    if (xs === undefined) throw new TransferKitError('E_DATA', `DomainAdapter.fit: data.${name}.xs is missing.`);
    const got = xs.shape.slice(1);
    if (got.length !== inShape.length || got.some((d, i) => inShape[i] !== null && inShape[i] !== d)) {
      throw new TransferKitError('E_DATA', `DomainAdapter.fit: data.${name}.xs has example shape ${JSON.stringify(got)}; model '${lm.name}' takes ${JSON.stringify(inShape)}.`);
    }
    if (xs.shape[0] < 2) throw new TransferKitError('E_DATA', `DomainAdapter.fit: data.${name} needs at least 2 examples. Received: ${xs.shape[0]}.`);
  };
  check('source', data.source?.xs);
  check('target', data.target?.xs);
  if (data.source.labels.length !== data.source.xs.shape[0]) {
    throw new TransferKitError('E_DATA', `DomainAdapter.fit: data.source has ${data.source.xs.shape[0]} inputs but ${data.source.labels.length} labels.`);
  }
  const k = data.source.classNames.length;
  const bad = data.source.labels.findIndex((l) => !(l >= 0 && l < k));
  if (bad >= 0) throw new TransferKitError('E_DATA', `DomainAdapter.fit: source label ${data.source.labels[bad]} at index ${bad} is outside [0, ${k}) (classNames has ${k} entries).`);
  if (data.sourceVal !== undefined) check('sourceVal', data.sourceVal.xs);
  if (data.targetVal !== undefined) check('targetVal', data.targetVal.xs);
}
