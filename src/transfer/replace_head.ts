/**
 * `replaceHead`: cut a pretrained model at its feature layer and put a new classifier on it.
 *
 * As Keras' `include_top=False` + `pooling` + a new `Dense`, and timm's `reset_classifier`.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { TransferKitError } from '../errors.js';
import type { HeadTask, PretrainedModel } from '../models/pretrained_model.js';
import { isFrozenEncoder, type FrozenEncoder } from '../encoders/frozen_encoder.js';
import { prepareModel } from './prepare_model.js';

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
   * Pooling when the cut layer outputs a map [H, W, C]: `'avg'` (default), `'max'`, `'flatten'`, or
   * `'none'` (Dense layers then act on the last axis, giving a per-position output).
   */
  pooling?: 'avg' | 'max' | 'flatten' | 'none';
  /**
   * Where to cut: a layer name (e.g. `'block_16_project_BN'`) or index; the new head is built on
   * its output. Default: the model's feature layer.
   */
  at?: string | number;
  /** Hidden Dense layer widths between features and the classifier (default none). */
  hidden?: number[];
  /** Activation of hidden layers (default `'relu'`). */
  hiddenActivation?: 'relu' | 'gelu' | 'swish' | 'tanh';
  /** Dropout rate before each Dense layer of the head (default 0.2, as Keras applications' top). */
  dropout?: number;
  /** Seed of the head's weight initialisers (default: unseeded). */
  seed?: number;
}

function uniqueName(model: tfl.LayersModel, base: string): string {
  const names = new Set(model.layers.map((l) => l.name));
  if (!names.has(base)) return base;
  let i = 1;
  while (names.has(`${base}_${i}`)) i++;
  return `${base}_${i}`;
}

/**
 * Returns a new PretrainedModel: the same backbone layers (shared weights) up to
 * `featureLayer`, then [pooling] → [dropout → dense(hidden, act)]* → dropout → dense(numClasses, softmax |
 * sigmoid | linear by `task`).
 *
 * @example
 * ```ts
 * const model = replaceHead(base, { numClasses: 2, classNames: ['ants', 'bees'] });
 * ```
 */
export function replaceHead(base: PretrainedModel | FrozenEncoder, options: ReplaceHeadOptions): PretrainedModel {
  const { numClasses, pooling = 'avg', dropout = 0.2, task = 'multiclass' } = options;
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
  if (!(dropout >= 0 && dropout < 1)) {
    throw new TransferKitError('E_BAD_OPTION', `dropout must be in [0, 1). Received: dropout=${dropout}.`);
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
  // Node 0 is the backbone's own application of the layer (training may add more nodes later).
  let x = feature.getOutputAt(0) as tfl.SymbolicTensor;
  if (x.shape.length === 4 && pooling !== 'none') {
    const name = uniqueName(model, 'head_pool');
    if (pooling === 'avg') x = tfl.layers.globalAveragePooling2d({ name }).apply(x) as tfl.SymbolicTensor;
    else if (pooling === 'max') x = tfl.layers.globalMaxPooling2d({ name }).apply(x) as tfl.SymbolicTensor;
    else x = tfl.layers.flatten({ name }).apply(x) as tfl.SymbolicTensor;
  } else if (x.shape.length !== 2 && pooling !== 'none') {
    throw new TransferKitError('E_MODEL_TOPOLOGY', `Layer '${feature.name}' outputs rank ${x.shape.length}; replaceHead expects a feature vector [batch, C] or map [batch, H, W, C] (or pooling: 'none').`);
  }
  const out = headLayers(x, options, (n) => uniqueName(model, n));
  const next = tfl.model({ inputs: model.inputs, outputs: out, name: model.name });
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

/** [dropout → dense(hidden, act)]* → dropout → dense(numClasses, softmax | sigmoid | linear) on `x`. */
function headLayers(input: tfl.SymbolicTensor, options: ReplaceHeadOptions, name: (base: string) => string): tfl.SymbolicTensor {
  const { numClasses, hidden = [], hiddenActivation = 'relu', dropout = 0.2, seed, task = 'multiclass' } = options;
  let x = input;
  const init = (k: number) => tfl.initializers.glorotUniform(seed === undefined ? {} : { seed: seed + k });
  hidden.forEach((units, k) => {
    if (dropout > 0) x = tfl.layers.dropout({ rate: dropout, name: name(`head_dropout_${k}`) }).apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.dense({ units, activation: hiddenActivation === 'gelu' ? 'gelu' : hiddenActivation, kernelInitializer: init(k + 1), name: name(`head_hidden_${k}`) }).apply(x) as tfl.SymbolicTensor;
  });
  if (dropout > 0) x = tfl.layers.dropout({ rate: dropout, name: name('head_dropout') }).apply(x) as tfl.SymbolicTensor;
  const activation = task === 'multiclass' ? 'softmax' : task === 'multilabel' ? 'sigmoid' : 'linear';
  return tfl.layers.dense({ units: numClasses, activation, kernelInitializer: init(0), name: name('head_predictions') }).apply(x) as tfl.SymbolicTensor;
}

/**
 * A head on a frozen encoder's embeddings: the model's input is the embedding row (named
 * `embedding`), so fineTune trains only the head, on rows that extractFeatures computes once.
 */
function encoderHead(encoder: FrozenEncoder, options: ReplaceHeadOptions): PretrainedModel {
  const input = tfl.input({ shape: [encoder.dim], name: 'embedding' });
  const out = headLayers(input, options, (n) => n);
  const model = tfl.model({ inputs: input, outputs: out, name: 'frozen_encoder_head' });
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
