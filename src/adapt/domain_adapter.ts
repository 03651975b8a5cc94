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
 *
 * Defaults follow tllib's DANN example: SGD with momentum 0.9, weight decay 1e-3, learning rate
 * 0.01 annealed as `lr / (1 + 10 p)^0.75` (Ganin et al. 2016), batch 32 per domain.
 *
 * Model selection without target labels: `validator` scores the model after every epoch
 * ('source-accuracy', 'entropy', 'snd', 'dev') and, with `restoreBest` (default), the epoch with
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
import { permutation, SeededRandom } from '../utils/random.js';
import { applySeededDropout, withDropoutSeeds } from '../transfer/seeded_dropout.js';
import { adaBN, type AdaBNOptions } from './adabn.js';
import { gradientReverse, warmStartCoefficient, type WarmStartOptions } from './gradient_reversal.js';
import { coralLoss, type CoralVariant } from './losses/coral.js';
import { domainAdversarialLoss, domainDiscriminator, type DomainDiscriminatorOptions } from './losses/domain_adversarial.js';
import { entropyLoss } from './losses/entropy.js';
import { mkmmdLoss, type MmdOptions } from './losses/mmd.js';
import { selfTrainingLoss } from './losses/self_training.js';
import { higherIsBetter, scoreModel, type ValidatorName } from './validators/score.js';
import { accuracyOf } from './validators/outputs.js';
import { ensureBackend } from '../backends/backend.js';

/** Adaptation methods. */
export type AdaptationMethod = 'source-only' | 'dann' | 'coral' | 'mmd' | 'adabn' | 'self-training' | 'mlm';

/** Methods that add a loss term to the training loop. */
type LossMethod = 'dann' | 'coral' | 'mmd' | 'self-training';
const ALL_METHODS = new Set<string>(['source-only', 'dann', 'coral', 'mmd', 'adabn', 'self-training', 'mlm']);

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
  /** Unsupervised validators computed after every epoch; the first one selects the returned epoch. */
  validator?: ValidatorName | ValidatorName[];
  /** Return the weights of the best epoch under the first validator (default true when a validator is set). */
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

/** Figures of one epoch (or of a training-free method such as AdaBN: `steps` 0). */
export interface AdaptationEpochLog {
  /** 0-based epoch over the whole run. */
  epoch: number;
  /** The method(s) of the phase this epoch belongs to. */
  phase: string;
  /** Optimizer steps in the epoch. */
  steps: number;
  /** Learning rate at the epoch's last step. */
  lr: number;
  /** Mean total loss. */
  loss: number;
  /** Mean source cross-entropy. */
  classLoss: number;
  /** Mean weighted adaptation loss (sum over the methods). */
  transferLoss: number;
  /** Accuracy on the source training batches. */
  sourceAcc: number;
  /** DANN: the discriminator's accuracy (0.5 = the domains are indistinguishable). */
  domainAcc?: number;
  /** DANN: the GRL coefficient at the epoch's last step. */
  grlCoeff?: number;
  /** Self-training: fraction of target examples above the threshold. */
  pseudoLabelRate?: number;
  /** Accuracy on `sourceVal`. */
  sourceValAcc?: number;
  /** Accuracy on `targetVal` (reporting only). */
  targetValAcc?: number;
  /** Validator scores. */
  scores: Partial<Record<ValidatorName, number>>;
  /** Layer index the steps started from (0: the input; higher: activations cached below it). */
  cachedFrom?: number;
  /** Wall time of the epoch (seconds). */
  seconds: number;
}

/** Result of {@link DomainAdapter.fit}. */
export interface AdaptationResult {
  /** The adapted model (the same object that was passed in, now adapted). */
  model: PretrainedModel;
  /** Per-epoch figures. */
  history: AdaptationEpochLog[];
  /** The epoch whose weights were returned (the last one unless a validator selected another). */
  selectedEpoch: number;
}

/** What fit() accepts: a transferkit model, or a plain LayersModel whose feature layer is named in options (default: the layer before the last). */
export type AdaptableModel = PretrainedModel | tfl.LayersModel;

function isTextModel(m: AdaptableModel | TextModel): m is TextModel {
  return (m as TextModel).family !== undefined && (m as TextModel).inputNames !== undefined;
}

function isPretrained(m: AdaptableModel): m is PretrainedModel {
  return (m as PretrainedModel).featureLayer !== undefined && (m as PretrainedModel).model !== undefined;
}

interface Sums {
  loss: tf.Scalar;
  cls: tf.Scalar;
  transfer: tf.Scalar;
  hits: tf.Scalar;
  domainAcc: tf.Scalar;
  pseudo: tf.Scalar;
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
    if (options.learningRate !== undefined && !(options.learningRate >= 0)) throw new TransferKitError('E_BAD_OPTION', `DomainAdapter: learningRate must be >= 0. Received: learningRate=${options.learningRate}.`);
  }

  /**
   * Adapts `model` with `data`; returns it with the per-epoch history. A text model (BERT family)
   * with texts takes the text path: `'mlm'` (domain-adaptive masked-LM pretraining on the target
   * texts, then fine-tuning on the source) or `'source-only'`; see {@link adaptTextModel}.
   */
  async fit(model: TextModel, data: TextAdaptationData): Promise<TextAdaptationResult>;
  async fit(model: AdaptableModel, data: AdaptationData): Promise<AdaptationResult>;
  async fit(model: AdaptableModel | TextModel, data: AdaptationData | TextAdaptationData): Promise<AdaptationResult | TextAdaptationResult> {
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
      method: this.methods[0] as 'mlm' | 'source-only',
      fineTune: { ...(o.epochs !== undefined ? { epochs: o.epochs } : {}), ...(o.batchSize !== undefined ? { batchSize: o.batchSize } : {}), ...(o.learningRate !== undefined ? { learningRate: o.learningRate } : {}), seed: o.seed ?? 0 },
      mlm: { seed: o.seed ?? 0 },
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
    const pm: PretrainedModel = isPretrained(model)
      ? model
      : { model: lm, inputShape: lm.inputs[0].shape.slice(1) as number[], preprocessing: { scale: 1, offset: 0, source: 'identity' }, featureLayer, headLayers: lm.layers.slice(featureIndex + 1).map((l) => l.name), source: lm.name };

    const validators = this.options.validator === undefined ? [] : Array.isArray(this.options.validator) ? this.options.validator : [this.options.validator];
    const restoreBest = this.options.restoreBest ?? validators.length > 0;
    const history: AdaptationEpochLog[] = [];
    let best: { epoch: number; score: number; weights: tf.Tensor[] } | null = null;
    let sinceBest = 0;
    let stopped = false;

    const endEpoch = async (log: Omit<AdaptationEpochLog, 'scores' | 'sourceValAcc' | 'targetValAcc'>): Promise<void> => {
      const full: AdaptationEpochLog = { ...log, scores: {} };
      if (data.sourceVal !== undefined) full.sourceValAcc = await accuracyOf(lm, data.sourceVal);
      if (data.targetVal !== undefined) full.targetValAcc = await accuracyOf(lm, data.targetVal);
      for (const v of validators) {
        // Source accuracy was just measured above; the others need their own passes.
        full.scores[v] = v === 'source-accuracy' && full.sourceValAcc !== undefined ? full.sourceValAcc : await scoreModel(v, lm, featureIndex, data, { validationSize: this.options.validationSize, seed: this.options.seed });
      }
      history.push(full);
      this.options.onEpochEnd?.(full);
      if (validators.length > 0) {
        const v = validators[0];
        const s = full.scores[v] as number;
        const higher = higherIsBetter(v);
        if (best === null || (higher ? s > best.score : s < best.score)) {
          if (best !== null) tf.dispose(best.weights);
          best = { epoch: full.epoch, score: s, weights: restoreBest ? lm.weights.map((w) => tf.clone(w.read())) : [] };
          sinceBest = 0;
        } else if (this.options.patience !== undefined && ++sinceBest >= this.options.patience) stopped = true;
      }
    };

    // Split the method list into phases: AdaBN alone, consecutive loss methods together.
    const phases: AdaptationMethod[][] = [];
    for (const m of this.methods) {
      const last = phases[phases.length - 1];
      if (m !== 'adabn' && last !== undefined && last[0] !== 'adabn') last.push(m);
      else phases.push([m]);
    }
    let epoch = 0;
    for (const phase of phases) {
      if (stopped) break;
      if (phase[0] === 'adabn') {
        const t0 = Date.now();
        await adaBN(lm, data.target.xs, this.options.adabn);
        await endEpoch({ epoch: epoch++, phase: 'adabn', steps: 0, lr: 0, loss: 0, classLoss: 0, transferLoss: 0, sourceAcc: 0, seconds: (Date.now() - t0) / 1000 });
        continue;
      }
      // Dropout masks from the run's seed: the same run twice gives the same model.
      applySeededDropout(lm);
      const dropoutRng = new SeededRandom((this.options.seed ?? 0) ^ 0x0d0d0d0d);
      const start = epoch;
      epoch = await withDropoutSeeds(() => Math.floor(dropoutRng.next() * 2 ** 31), () =>
        this.trainPhase(lm, featureIndex, phase.filter((m) => m !== 'source-only') as LossMethod[], data, start, endEpoch, () => stopped),
      );
    }

    let selectedEpoch = history.length > 0 ? history[history.length - 1].epoch : -1;
    const chosen = best as { epoch: number; score: number; weights: tf.Tensor[] } | null;
    if (chosen !== null) {
      if (restoreBest && chosen.epoch !== selectedEpoch) {
        lm.weights.forEach((w, i) => w.write(chosen.weights[i]));
        selectedEpoch = chosen.epoch;
      }
      tf.dispose(chosen.weights);
    }
    return { model: pm, history, selectedEpoch };
  }

  private tradeoff(m: LossMethod): number {
    const t = this.options.tradeoff;
    if (t === undefined) return 1;
    if (typeof t === 'number') return t;
    return t[m] ?? 1;
  }

  private async trainPhase(
    lm: tfl.LayersModel,
    featureIndex: number,
    methods: LossMethod[],
    data: AdaptationData,
    firstEpoch: number,
    endEpoch: (log: Omit<AdaptationEpochLog, 'scores' | 'sourceValAcc' | 'targetValAcc'>) => Promise<void>,
    stopped: () => boolean,
  ): Promise<number> {
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
    if (groups.length === 0) throw new TransferKitError('E_BAD_OPTION', `DomainAdapter: model '${lm.name}' has no trainable weights; unfreeze the layers to adapt (or use method 'adabn', which trains nothing).`);
    const vars = groups.flatMap((g) => g.params);
    const optimizer = createOptimizer(o.optimizer ?? 'momentum', groups, lr0, o.weightDecay ?? 1e-3);
    const rand = new SeededRandom(seed);
    const r = () => rand.next();
    const nextSource = cyclicBatches(ns, batch, r);
    const nextTarget = cyclicBatches(nt, batch, r);
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
    const srcX = cacheOf(data.source.xs);
    const tgtX = sourceOnly ? srcX : cacheOf(data.target.xs);
    let step = 0;
    let epoch = firstEpoch;
    try {
      for (let e = 0; e < epochs && !stopped(); e++) {
        const t0 = Date.now();
        let sums: Sums | null = null;
        let coeff = 0;
        for (let s = 0; s < stepsPerEpoch; s++, step++) {
          const lr = schedule.at(step);
          optimizer.setLearningRate(lr);
          coeff = dann ? warmStartCoefficient(step, grl) : 0;
          const si = nextSource();
          const ti = nextTarget();
          const stepSums = tf.tidy(() => {
            const xs = tf.gather(srcX, tf.tensor1d(si, 'int32'));
            const xt = sourceOnly ? xs : tf.gather(tgtX, tf.tensor1d(ti, 'int32'));
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
            optimizer.step(grads);
            const out: Sums = {
              loss: value,
              cls: parts.cls,
              transfer: parts.transfer,
              hits: parts.hits,
              domainAcc: parts.domainAcc ?? tf.scalar(0),
              pseudo: parts.pseudo ?? tf.scalar(0),
            };
            return out as unknown as tf.TensorContainerObject;
          }) as unknown as Sums;
          // Running sums stay on the device; read once per epoch (cheap on GPU backends).
          if (sums === null) sums = stepSums;
          else {
            const prev: Sums = sums;
            sums = tf.tidy(() => Object.fromEntries(Object.keys(prev).map((key) => [key, tf.add(prev[key as keyof Sums], stepSums[key as keyof Sums])])) as unknown as tf.TensorContainerObject) as unknown as Sums;
            tf.dispose([...Object.values(prev), ...Object.values(stepSums)]);
          }
        }
        const s = sums as Sums;
        const v = Object.fromEntries(await Promise.all(Object.entries(s).map(async ([key, t]) => [key, (await (t as tf.Tensor).data())[0]]))) as Record<keyof Sums, number>;
        tf.dispose(Object.values(s));
        const n = stepsPerEpoch;
        if (!Number.isFinite(v.loss)) {
          throw new TransferKitError('E_TRAINING_DIVERGED', `DomainAdapter: the loss became ${v.loss} in epoch ${epoch} (methods ${methods.join('+') || 'source-only'}). Lower learningRate or the tradeoff.`);
        }
        await endEpoch({
          epoch: epoch++,
          phase: methods.length === 0 ? 'source-only' : methods.join('+'),
          steps: n,
          lr: schedule.at(step - 1),
          loss: v.loss / n,
          classLoss: v.cls / n,
          transferLoss: v.transfer / n,
          sourceAcc: v.hits / (n * batch),
          ...(dann ? { domainAcc: v.domainAcc / n, grlCoeff: coeff } : {}),
          ...(methods.includes('self-training') ? { pseudoLabelRate: v.pseudo / n } : {}),
          cachedFrom: from,
          seconds: (Date.now() - t0) / 1000,
        });
      }
    } finally {
      optimizer.dispose();
      disc?.dispose();
      if (from !== 0) tf.dispose(sourceOnly ? [srcX] : [srcX, tgtX]);
    }
    return epoch;
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

/** Batches of `size` indices from a cyclic order over 0..n-1, reshuffled with `rand` at every pass. */
function cyclicBatches(n: number, size: number, rand: () => number): () => Int32Array {
  let order = permutation(n, rand);
  let pos = 0;
  return () => {
    const out = new Int32Array(size);
    for (let i = 0; i < size; i++) {
      if (pos === n) {
        order = permutation(n, rand);
        pos = 0;
      }
      out[i] = order[pos++];
    }
    return out;
  };
}
