/**
 * `freeze` / `unfreeze`: choose which layers train.
 *
 * As Keras, trainability is per layer (`layer.trainable`) and frozen BatchNorm layers run in
 * inference mode (see batch_norm.ts). Unlike Keras no recompile is needed: transferkit's training
 * loop reads `model.trainableWeights` at every step.
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { TransferKitError } from '../errors.js';
import type { ModelHandle } from '../models/pretrained_model.js';
import { clearBatchNormMode, isBatchNorm, setBatchNormMode, type BatchNormMode } from '../layers/batch_norm.js';
import { prepareModel } from '../layers/prepare_model.js';

/**
 * Which layers a freeze/unfreeze applies to.
 * - `'all'`: every layer.
 * - `'backbone'`: every layer up to and including the model's feature layer (needs a PretrainedModel).
 * - any other string: a named block — every layer whose name is it or starts with it plus `_`
 *   (`'block_13'` selects `block_13_expand`, `block_13_depthwise_BN`, ...).
 * - `{ upTo: name, inclusive? }`: layers from the first up to `name` (inclusive by default).
 * - `{ from: name }`: layers from `name` (inclusive) to the last.
 * - `{ range: [start, end] }`: layer indices start (inclusive) to end (exclusive), as a slice.
 * - `{ fraction: f }`: the bottom fraction `f` of the backbone (of all layers for a bare model),
 *   so `freeze(m, { fraction: 0.7 })` freezes the bottom 70 %.
 * - `RegExp`: layers whose name matches.
 * - `string[]`: exactly these layer names.
 * - a predicate `(layer, index) => boolean`.
 */
export type LayerSpec =
  | 'all'
  | 'backbone'
  | string
  | { upTo: string; inclusive?: boolean }
  | { from: string }
  | { range: [number, number] }
  | { fraction: number }
  | RegExp
  | string[]
  | ((layer: tfl.layers.Layer, index: number) => boolean);

/** Options of {@link freeze} and {@link unfreeze}. */
export interface FreezeOptions {
  /**
   * BatchNorm policy for the selected BN layers. Default: Keras' rule — frozen BN runs in inference
   * mode with fixed statistics (`'frozen'`), unfrozen BN trains fully (`'train'`).
   * `'train-affine'` keeps statistics fixed but trains gamma/beta (fastai's `train_bn` on a frozen
   * body; Keras' fine-tuning recipe); `'train'` on `freeze` keeps BN layers fully training inside
   * an otherwise frozen selection.
   */
  bn?: BatchNormMode;
}

function indexOf(model: tfl.LayersModel, name: string, option: string): number {
  const i = model.layers.findIndex((l) => l.name === name);
  if (i < 0) {
    const near = model.layers.filter((l) => l.name.includes(name.split('_')[0] ?? name)).slice(0, 6).map((l) => l.name);
    throw new TransferKitError('E_LAYER_NOT_FOUND', `No layer named '${name}'. Received: ${option}=${name}.${near.length ? ` Similar names: ${near.join(', ')}.` : ''} List names with model.layers.map(l => l.name).`);
  }
  return i;
}

/** The layers `spec` selects, in model order. */
export function selectLayers(target: tfl.LayersModel | ModelHandle, spec: LayerSpec): tfl.layers.Layer[] {
  const model = 'model' in target ? target.model : target;
  const layers = model.layers;
  if (spec === 'all') return [...layers];
  if (spec === 'backbone') {
    if (!('model' in target)) {
      throw new TransferKitError('E_BAD_OPTION', "Layer spec 'backbone' needs a PretrainedModel (it knows its feature layer). Received: a bare LayersModel. Use { upTo: '<layer name>' } instead.");
    }
    return layers.slice(0, indexOf(model, target.featureLayer, 'featureLayer') + 1);
  }
  if (typeof spec === 'string') {
    const chosen = layers.filter((l) => l.name === spec || l.name.startsWith(`${spec}_`));
    if (chosen.length === 0) {
      const blocks = [...new Set(layers.map((l) => /^(block_\d+|[A-Za-z]+\d*)/.exec(l.name)?.[1]).filter(Boolean))].slice(0, 12);
      throw new TransferKitError('E_LAYER_NOT_FOUND', `No layer is named '${spec}' or starts with '${spec}_'. Received: block=${spec}. Some block names: ${blocks.join(', ')}.`);
    }
    return chosen;
  }
  if (spec instanceof RegExp) return layers.filter((l) => spec.test(l.name));
  if (Array.isArray(spec)) return spec.map((n) => layers[indexOf(model, n, 'names')]);
  if (typeof spec === 'function') return layers.filter((l, i) => spec(l, i));
  if ('upTo' in spec) return layers.slice(0, indexOf(model, spec.upTo, 'upTo') + (spec.inclusive === false ? 0 : 1));
  if ('from' in spec) return layers.slice(indexOf(model, spec.from, 'from'));
  if ('range' in spec) {
    const [a, b] = spec.range;
    if (!Number.isInteger(a) || !Number.isInteger(b) || a < 0 || b > layers.length || a > b) {
      throw new TransferKitError('E_BAD_OPTION', `range must be [start, end] with 0 <= start <= end <= ${layers.length} (the layer count). Received: range=[${a}, ${b}].`);
    }
    return layers.slice(a, b);
  }
  if ('fraction' in spec) {
    const f = spec.fraction;
    if (!(f >= 0 && f <= 1)) throw new TransferKitError('E_BAD_OPTION', `fraction must be in [0, 1]. Received: fraction=${f}.`);
    const depth = 'model' in target ? indexOf(model, target.featureLayer, 'featureLayer') + 1 : layers.length;
    return layers.slice(0, Math.round(depth * f));
  }
  throw new TransferKitError('E_BAD_OPTION', `Unrecognised layer spec. Received: ${JSON.stringify(spec)}. Use 'all', 'backbone', { upTo }, { from }, a RegExp, a name list or a predicate.`);
}

function setTrainable(target: tfl.LayersModel | ModelHandle, spec: LayerSpec, trainable: boolean, options: FreezeOptions): tfl.layers.Layer[] {
  const model = 'model' in target ? target.model : target;
  prepareModel(model);
  const chosen = selectLayers(target, spec);
  for (const layer of chosen) {
    layer.trainable = trainable;
    if (!isBatchNorm(layer)) continue;
    if (options.bn === undefined) clearBatchNormMode(layer);
    else setBatchNormMode(layer, options.bn);
  }
  return chosen;
}

/**
 * Freezes the selected layers: no gradient updates, and BatchNorm layers among them run in
 * inference mode with fixed statistics (as Keras).
 * @returns the layers frozen.
 * @example
 * ```ts
 * freeze(base, 'backbone');            // feature extractor
 * unfreeze(base, { from: 'block_13_expand' }); // then fine-tune the top blocks
 * ```
 */
export function freeze(target: tfl.LayersModel | ModelHandle, spec: LayerSpec = 'all', options: FreezeOptions = {}): tfl.layers.Layer[] {
  return setTrainable(target, spec, false, options);
}

/** Makes the selected layers trainable again (BatchNorm among them trains fully unless `options.bn` says otherwise). */
export function unfreeze(target: tfl.LayersModel | ModelHandle, spec: LayerSpec = 'all', options: FreezeOptions = {}): tfl.layers.Layer[] {
  return setTrainable(target, spec, true, options);
}
