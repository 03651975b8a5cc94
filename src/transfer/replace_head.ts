/**
 * `replaceHead`: cut a pretrained model at its feature layer and put a new classifier on it.
 *
 * As Keras' `include_top=False` + `pooling` + a new `Dense`, and timm's `reset_classifier`.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { TransferKitError } from '../errors.js';
import type { HeadTask, PretrainedModel } from '../models/pretrained_model.js';
import { isFrozenEncoder, type FrozenEncoder } from '../models/frozen_encoder.js';
import { prepareModel } from '../layers/prepare_model.js';
import { requireBackend } from '../backends/backend.js';
import { checkOptionKeys, optionNames } from '../utils/option_keys.js';
import { isTextModel, type TextModel } from '../models/text/text_model.js';
import { buildTextModel } from '../models/text/build_text_model.js';
import type { TransferModel, UnnarrowedModel } from '../models/transfer_model.js';

/** Options of {@link replaceHead}. */
export interface ReplaceHeadOptions {
  /** Number of outputs: classes (>= 2 for multiclass, >= 1 for multilabel) or regression targets (>= 1). */
  numClasses: number;
  /**
   * `'multiclass'` (default: softmax), `'multilabel'` (sigmoid per class) or `'regression'`
   * (linear outputs). fineTune picks the matching loss (categorical / binary cross-entropy / MSE).
   */
  task?: HeadTask;
  /** Class names (length `numClasses`), kept with the model. */
  classNames?: string[];
  /**
   * Pooling when the cut layer outputs a map [H, W, C]: `'avg'` (default), `'max'`, `'concat'`
   * (max and average side by side, 2C features: fastai's `AdaptiveConcatPool2d`, timm's
   * `'catavgmax'`), `'flatten'`, or `'none'` (Dense layers then act on the last axis, giving a
   * per-position output). When the cut defaults to a model's own global-average-pooling layer
   * (Teachable Machine's MobileNetV2), any pooling but `'avg'` cuts at that layer's input map
   * instead, as fastai's `create_body` cuts before the pool.
   */
  pooling?: 'avg' | 'max' | 'concat' | 'flatten' | 'none';
  /**
   * Where to cut: a layer name (e.g. `'block_16_project_BN'`) or index; the new head is built on
   * its output. Default: the model's feature layer.
   */
  at?: string | number;
  /** Hidden Dense layer widths between features and the classifier (default none). */
  hidden?: number[];
  /** Activation of hidden layers (default `'relu'`). */
  hiddenActivation?: 'relu' | 'gelu' | 'swish' | 'tanh';
  /**
   * Dropout rate before each Dense layer of the head (default 0.2, as Keras applications' top):
   * one rate for all, or one per Dense layer (`hidden.length + 1` rates, the classifier's last).
   */
  dropout?: number | number[];
  /**
   * A BatchNorm layer before each Dropout → Dense pair, whose Dense then has no bias (fastai's
   * `LinBnDrop(bn=True)`); momentum 0.9 and epsilon 1e-5, PyTorch's `BatchNorm1d` defaults.
   * Default false. Head BatchNorm layers always train fully: the recipes' `bn` policies protect
   * pretrained statistics, and a new head has none.
   */
  batchNorm?: boolean;
  /**
   * Initialiser of the head's Dense kernels: `'glorot-uniform'` (default, Keras' Dense) or
   * `'he-normal'` (fastai initialises its head with `kaiming_normal_`; TF.js' He normal is
   * truncated at two standard deviations).
   */
  init?: 'glorot-uniform' | 'he-normal';
  /**
   * Defaults of a known head, overridden by any option given explicitly. `'fastai'`: fastai's
   * `create_head` as `vision_learner` builds it — concat pooling, then BatchNorm → Dropout(0.25)
   * → Dense(512, no bias) → ReLU → BatchNorm → Dropout(0.5) → Dense(numClasses, no bias), He-normal
   * kernels (`pooling: 'concat', hidden: [512], batchNorm: true, dropout: [0.25, 0.5], init: 'he-normal'`).
   */
  preset?: 'fastai';
  /**
   * Seed of the head's weight initialisers (Dense kernel `k` uses `seed + k`). Default: none, and
   * then the first {@link fineTune} call on the model re-initialises the head from ITS `seed`
   * (default 42) before training, exactly as if `seed` had been given here — so
   * `replaceHead(base, { numClasses })` followed by `fineTune(model, data, { seed })` is
   * reproducible. fineTune leaves a head alone when its weights changed since replaceHead (set,
   * loaded or trained), and later fineTune calls continue from the trained head.
   */
  seed?: number;
}

/**
 * Heads built without a seed, by model: the Dense kernels, the values they were initialised with
 * (tensor data ids: any write replaces them) and how to redraw them from a seed. Module-private;
 * {@link seedNewHead} consumes an entry.
 */
interface UnseededHead {
  kernels: { variable: tfl.LayerVariable; k: number; dataId: unknown }[];
  init: ReplaceHeadOptions['init'];
}
const unseededHeads = new WeakMap<tfl.LayersModel, UnseededHead>();

function kernelInitializer(init: ReplaceHeadOptions['init'], seed: number | undefined, k: number) {
  const s = seed === undefined ? {} : { seed: seed + k };
  return init === 'he-normal' ? tfl.initializers.heNormal(s) : tfl.initializers.glorotUniform(s);
}

const dataIdOf = (v: tfl.LayerVariable): unknown => (v.read() as unknown as { dataId: unknown }).dataId;

/**
 * fineTune's side of the `seed` default: when `model` carries a head that {@link replaceHead} built
 * without a seed and whose kernels still hold their initial values, redraws them from `seed` (the
 * same values `replaceHead({ seed })` gives) and returns true. Each head is considered once: the
 * entry is dropped either way (`seed` null: only dropped, e.g. when a checkpoint supplies the
 * weights), so a second fineTune continues from the trained head.
 * @internal
 */
export function seedNewHead(model: tfl.LayersModel, seed: number | null): boolean {
  const head = unseededHeads.get(model);
  if (head === undefined) return false;
  unseededHeads.delete(model);
  if (seed === null || head.kernels.some((c) => dataIdOf(c.variable) !== c.dataId)) return false;
  // In a tidy: the drawn values (and any intermediates of the initialiser) are released once written.
  tf.tidy(() => {
    for (const { variable, k } of head.kernels) variable.write(kernelInitializer(head.init, seed, k).apply(variable.shape, 'float32'));
  });
  return true;
}

/** fastai `create_head(nf, n_out)` with its defaults (`lin_ftrs=[512]`, `ps=0.5`, `concat_pool`, `first_bn`). */
const FASTAI_HEAD: Partial<ReplaceHeadOptions> = { pooling: 'concat', hidden: [512], hiddenActivation: 'relu', batchNorm: true, dropout: [0.25, 0.5], init: 'he-normal' };

/** The options with a preset's defaults filled in (explicit options win). */
function withPreset(options: ReplaceHeadOptions): ReplaceHeadOptions {
  if (options.preset === undefined) return options;
  if (options.preset !== 'fastai') throw new TransferKitError('E_BAD_OPTION', `replaceHead: unknown preset. Received: preset=${String(options.preset)}. Known: 'fastai'.`);
  const explicit = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  return { ...FASTAI_HEAD, ...explicit } as ReplaceHeadOptions;
}

/** One dropout rate per Dense layer of the head, validated. */
function dropoutRates(options: ReplaceHeadOptions): number[] {
  const layers = (options.hidden ?? []).length + 1;
  const d = options.dropout ?? 0.2;
  const rates = Array.isArray(d) ? d : new Array<number>(layers).fill(d);
  if (rates.length !== layers) {
    throw new TransferKitError('E_BAD_OPTION', `replaceHead: dropout lists ${rates.length} rates but the head has ${layers} Dense layers (hidden: [${(options.hidden ?? []).join(', ')}] plus the classifier). Pass one rate, or one per Dense layer.`);
  }
  for (const r of rates) if (!(r >= 0 && r < 1)) throw new TransferKitError('E_BAD_OPTION', `dropout must be in [0, 1). Received: dropout=${JSON.stringify(d)}.`);
  return rates;
}

const GLOBAL_POOLS = new Set(['GlobalAveragePooling2D', 'GlobalMaxPooling2D']);

function uniqueName(model: tfl.LayersModel, base: string): string {
  const names = new Set(model.layers.map((l) => l.name));
  if (!names.has(base)) return base;
  let i = 1;
  while (names.has(`${base}_${i}`)) i++;
  return `${base}_${i}`;
}

/** Every option name of {@link ReplaceHeadOptions}: others are refused. */
const REPLACE_HEAD_OPTIONS = optionNames<ReplaceHeadOptions>({ numClasses: true, task: true, classNames: true, pooling: true, at: true, hidden: true, hiddenActivation: true, dropout: true, batchNorm: true, init: true, preset: true, seed: true });

/**
 * Returns a new PretrainedModel: the same backbone layers (shared weights) up to
 * `featureLayer`, then [pooling] → [[batchNorm] → dropout → dense(hidden, act)]* → [batchNorm] →
 * dropout → dense(numClasses, softmax | sigmoid | linear by `task`).
 *
 * @example
 * ```ts
 * const model = replaceHead(base, { numClasses: 2, classNames: ['ants', 'bees'] });
 * const fastai = replaceHead(base, { numClasses: 2, preset: 'fastai' }); // fastai's create_head
 * ```
 */
export function replaceHead(base: PretrainedModel | FrozenEncoder, headOptions: ReplaceHeadOptions): PretrainedModel;
/**
 * A text model (BERT family): a new sequence-classification model of the same configuration
 * whose encoder (and pooler) weights are copied from `base`, with a new classifier of
 * `numClasses` outputs (1: regression, as HF `num_labels=1`) drawn from `seed` — what HF's
 * `AutoModelForSequenceClassification.from_pretrained(base, num_labels=...)` gives. `base` is left
 * as it was (dispose it when done); the tokenizer comes along.
 * @example
 * ```ts
 * const bert = replaceHead(await loadPretrained('./bert-mini', { modality: 'text' }), { numClasses: 2, seed: 1 });
 * ```
 */
export function replaceHead(base: TextModel, headOptions: TextHeadOptions): TextModel;
/**
 * Either modality ({@link TransferModel}): a model of the same modality with the new head. Options
 * only one modality knows are refused by name on the other.
 */
export function replaceHead<M extends TransferModel>(base: M & UnnarrowedModel<M>, headOptions: ReplaceHeadOptions | TextHeadOptions): TransferModel;
export function replaceHead(base: TransferModel | FrozenEncoder, headOptions: ReplaceHeadOptions | TextHeadOptions): TransferModel {
  if (isTextModel(base)) return textHead(base, headOptions as TextHeadOptions);
  return imageHead(base, headOptions as ReplaceHeadOptions);
}

/** Options of {@link replaceHead} on a text model. */
export interface TextHeadOptions {
  /** Outputs of the classifier: classes (>= 2), or 1 for a regression head (HF `num_labels`). */
  numClasses: number;
  /** Class names, index-aligned with the outputs. */
  classNames?: string[];
  /** Seed of the new classifier's weights (default unseeded). */
  seed?: number;
}

const TEXT_HEAD_OPTIONS = optionNames<TextHeadOptions>({ numClasses: true, classNames: true, seed: true });

function textHead(base: TextModel, options: TextHeadOptions): TextModel {
  checkOptionKeys('replaceHead (text model)', options, TEXT_HEAD_OPTIONS);
  requireBackend('replaceHead');
  const n = options.numClasses;
  if (!Number.isInteger(n) || n < 1) throw new TransferKitError('E_BAD_OPTION', `replaceHead: numClasses must be an integer >= 1 (1 = regression). Received: numClasses=${n}.`);
  // The base's own head settings (labels, problem type) do not carry over to the new head.
  const { problem_type: _p, id2label: _i, label2id: _l, num_labels: _n, architectures: _a, ...config } = base.config as unknown as Record<string, unknown>;
  void [_p, _i, _l, _n, _a];
  const tm = buildTextModel(config, {
    task: 'sequence-classification', numLabels: n, ...(options.classNames !== undefined ? { classNames: options.classNames } : {}), ...(options.seed !== undefined ? { seed: options.seed } : {}), source: base.source,
  });
  // The encoder (and pooler) weights by name; the new head keeps its fresh initialisation, also
  // where the base had a head of the same name and shape (re-heading a fine-tuned classifier).
  const headLayers = new Set(tm.headLayers);
  const from = new Map(base.model.weights.map((w) => [w.originalName, w]));
  const missing: string[] = [];
  for (const w of tm.model.weights) {
    const layer = w.originalName.slice(0, w.originalName.lastIndexOf('/'));
    if (headLayers.has(layer)) continue;
    const src = from.get(w.originalName);
    if (src === undefined || src.shape.join() !== w.shape.join()) {
      // A base without a pooler (task 'base', addPoolingLayer: false) leaves it freshly drawn, as HF does.
      if (!layer.startsWith('pooler')) missing.push(src === undefined ? w.originalName : `${w.originalName} [${src.shape}] vs [${w.shape}]`);
      continue;
    }
    w.write(src.read());
  }
  if (missing.length > 0) {
    tm.model.dispose();
    throw new TransferKitError('E_MODEL_TOPOLOGY', `replaceHead: the text model's encoder weights do not match its configuration (${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', ...' : ''}).`);
  }
  if (base.tokenizer !== undefined) tm.tokenizer = base.tokenizer;
  return tm;
}

/**
 * Counts `next`'s hold on the layers it shares with `base`. TF.js counts a layer's users by its
 * `apply` calls, and the new model reuses the backbone's existing nodes without applying them
 * again, so disposing either model would free the shared weights under the other (and disposing
 * both threw "already disposed"). With one count per model, `dispose()` on a derived model frees
 * only its head, and the backbone's weights go with the last model holding them, in any order.
 */
function shareLayers(next: tfl.LayersModel, base: tfl.LayersModel): void {
  const own = new Set(base.layers);
  for (const layer of next.layers) {
    const counted = layer as unknown as { _refCount: number | null };
    // A nested model is released twice by its container's dispose() (as a layer and as an
    // internal container), so it takes two counts.
    if (own.has(layer) && typeof counted._refCount === 'number' && counted._refCount > 0) counted._refCount += layer instanceof tfl.LayersModel ? 2 : 1;
  }
}

function imageHead(base: PretrainedModel | FrozenEncoder, headOptions: ReplaceHeadOptions): PretrainedModel {
  checkOptionKeys('replaceHead', headOptions, REPLACE_HEAD_OPTIONS);
  requireBackend('replaceHead');
  const options = withPreset(headOptions);
  const { numClasses, pooling = 'avg', task = 'multiclass' } = options;
  if (!['multiclass', 'multilabel', 'regression'].includes(task)) {
    throw new TransferKitError('E_BAD_OPTION', `replaceHead: unknown task. Received: task=${String(task)}. Choose 'multiclass', 'multilabel' or 'regression'.`);
  }
  const minOut = task === 'multiclass' ? 2 : 1;
  if (!Number.isInteger(numClasses) || numClasses < minOut) {
    throw new TransferKitError('E_BAD_OPTION', `numClasses must be an integer >= ${minOut} for task '${task}'. Received: numClasses=${numClasses}.`);
  }
  if (options.classNames !== undefined && options.classNames.length !== numClasses) {
    throw new TransferKitError('E_BAD_OPTION', `classNames has ${options.classNames.length} names but numClasses=${numClasses}. Pass one name per class.`);
  }
  dropoutRates(options);
  if (!['avg', 'max', 'concat', 'flatten', 'none'].includes(pooling)) {
    throw new TransferKitError('E_BAD_OPTION', `replaceHead: unknown pooling. Received: pooling=${String(pooling)}. Choose 'avg', 'max', 'concat', 'flatten' or 'none'.`);
  }
  if (isFrozenEncoder(base)) return encoderHead(base, options);
  const model = base.model;
  let feature: tfl.layers.Layer | undefined;
  const at = options.at ?? base.featureLayer;
  if (typeof at === 'number') {
    if (!Number.isInteger(at) || at < 1 || at >= model.layers.length) {
      throw new TransferKitError('E_BAD_OPTION', `replaceHead: layer index out of range. Received: at=${at}; the model has layers 1..${model.layers.length - 1}.`);
    }
    feature = model.layers[at];
  } else {
    feature = model.layers.find((l) => l.name === at);
    if (feature === undefined) {
      const near = model.layers.filter((l) => l.name.startsWith(at.split('_').slice(0, 2).join('_'))).slice(0, 6).map((l) => l.name);
      throw new TransferKitError('E_LAYER_NOT_FOUND', `replaceHead: no layer named '${at}'. Received: at=${at}.${near.length ? ` Similar: ${near.join(', ')}.` : ''}`);
    }
  }
  if (options.at === undefined && pooling !== 'avg' && GLOBAL_POOLS.has(feature.getClassName())) {
    // The model pools on its own; the head's pooling needs the map before it.
    feature = feature.inboundNodes[0].inboundLayers[0] as tfl.layers.Layer;
  }
  // Node 0 is the backbone's own application of the layer (training may add more nodes later).
  let x = feature.getOutputAt(0) as tfl.SymbolicTensor;
  if (x.shape.length === 4 && pooling !== 'none') {
    const name = uniqueName(model, 'head_pool');
    if (pooling === 'avg') x = tfl.layers.globalAveragePooling2d({ name }).apply(x) as tfl.SymbolicTensor;
    else if (pooling === 'max') x = tfl.layers.globalMaxPooling2d({ name }).apply(x) as tfl.SymbolicTensor;
    else if (pooling === 'concat') {
      // fastai's order: max first, then average.
      const mx = tfl.layers.globalMaxPooling2d({ name: uniqueName(model, 'head_pool_max') }).apply(x) as tfl.SymbolicTensor;
      const av = tfl.layers.globalAveragePooling2d({ name: uniqueName(model, 'head_pool_avg') }).apply(x) as tfl.SymbolicTensor;
      x = tfl.layers.concatenate({ name }).apply([mx, av]) as tfl.SymbolicTensor;
    } else x = tfl.layers.flatten({ name }).apply(x) as tfl.SymbolicTensor;
  } else if (x.shape.length !== 2 && pooling !== 'none') {
    throw new TransferKitError('E_MODEL_TOPOLOGY', `Layer '${feature.name}' outputs rank ${x.shape.length}; replaceHead expects a feature vector [batch, C] or map [batch, H, W, C] (or pooling: 'none').`);
  }
  const { output: out, kernels } = headLayers(x, options, (n) => uniqueName(model, n));
  const next = tfl.model({ inputs: model.inputs, outputs: out, name: model.name });
  shareLayers(next, model);
  rememberUnseeded(next, options, kernels);
  prepareModel(next);
  const featureIdx = next.layers.findIndex((l) => l.name === (feature as tfl.layers.Layer).name);
  return {
    ...base,
    model: next,
    featureLayer: feature.name,
    headLayers: next.layers.slice(featureIdx + 1).map((l) => l.name),
    classNames: options.classNames,
    task,
  };
}

/**
 * [[batchNorm] → dropout → dense(hidden, act)]* → [batchNorm] → dropout → dense(numClasses,
 * softmax | sigmoid | linear) on `x` (fastai's `LinBnDrop` order; a Dense after a BatchNorm has no bias).
 */
function headLayers(input: tfl.SymbolicTensor, options: ReplaceHeadOptions, name: (base: string) => string): { output: tfl.SymbolicTensor; kernels: { layer: tfl.layers.Layer; k: number }[] } {
  const { numClasses, hidden = [], hiddenActivation = 'relu', seed, task = 'multiclass', batchNorm = false, init = 'glorot-uniform' } = options;
  const rates = dropoutRates(options);
  let x = input;
  const kernel = (k: number) => kernelInitializer(init, seed, k);
  const kernels: { layer: tfl.layers.Layer; k: number }[] = [];
  const dense = (k: number, args: Parameters<typeof tfl.layers.dense>[0]) => {
    const layer = tfl.layers.dense({ ...args, kernelInitializer: kernel(k) });
    kernels.push({ layer, k });
    return layer.apply(x) as tfl.SymbolicTensor;
  };
  const block = (k: number, suffix: string) => {
    // PyTorch's BatchNorm1d defaults (momentum 0.1 = Keras 0.9, eps 1e-5): with Keras' 0.99 the
    // moving statistics would barely move in the few hundred steps a head trains.
    if (batchNorm) x = tfl.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-5, name: name(`head_bn${suffix}`) }).apply(x) as tfl.SymbolicTensor;
    if (rates[k] > 0) x = tfl.layers.dropout({ rate: rates[k], name: name(`head_dropout${suffix}`) }).apply(x) as tfl.SymbolicTensor;
  };
  hidden.forEach((units, k) => {
    block(k, `_${k}`);
    x = dense(k + 1, { units, activation: hiddenActivation === 'gelu' ? 'gelu' : hiddenActivation, useBias: !batchNorm, name: name(`head_hidden_${k}`) });
  });
  block(hidden.length, '');
  const activation = task === 'multiclass' ? 'softmax' : task === 'multilabel' ? 'sigmoid' : 'linear';
  const output = dense(0, { units: numClasses, activation, useBias: !batchNorm, name: name('head_predictions') });
  return { output, kernels };
}

/** Registers a head built without a seed, for {@link seedNewHead}. */
function rememberUnseeded(model: tfl.LayersModel, options: ReplaceHeadOptions, kernels: { layer: tfl.layers.Layer; k: number }[]): void {
  if (options.seed !== undefined) return;
  unseededHeads.set(model, {
    init: options.init,
    kernels: kernels.map(({ layer, k }) => {
      const variable = (layer as unknown as { kernel: tfl.LayerVariable }).kernel;
      return { variable, k, dataId: dataIdOf(variable) };
    }),
  });
}

/**
 * A head on a frozen encoder's embeddings: the model's input is the embedding row (named
 * `embedding`), so fineTune trains only the head, on rows that extractFeatures computes once.
 */
function encoderHead(encoder: FrozenEncoder, options: ReplaceHeadOptions): PretrainedModel {
  const input = tfl.input({ shape: [encoder.dim], name: 'embedding' });
  const { output: out, kernels } = headLayers(input, options, (n) => n);
  const model = tfl.model({ inputs: input, outputs: out, name: 'frozen_encoder_head' });
  rememberUnseeded(model, options, kernels);
  return {
    model,
    inputShape: [encoder.dim],
    preprocessing: { scale: 1, offset: 0, source: `embeddings of ${encoder.id}` },
    featureLayer: 'embedding',
    headLayers: model.layers.slice(1).map((l) => l.name),
    classNames: options.classNames,
    task: options.task ?? 'multiclass',
    source: encoder.id,
    encoder,
  };
}
