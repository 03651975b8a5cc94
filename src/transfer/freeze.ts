/**
 * `freeze` / `unfreeze`: choose which layers train.
 *
 * As Keras, trainability is per layer (`layer.trainable`) and frozen BatchNorm layers run in
 * inference mode (see batch_norm.ts). Unlike Keras no recompile is needed: transferkit's training
 * loop reads `model.trainableWeights` at every step.
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { TransferKitError } from '../errors.js';
import type { PretrainedModel } from '../models/pretrained_model.js';
import { applyKerasBatchNormSemantics, clearBatchNormMode, isBatchNorm } from './batch_norm.js';

/**
 * Which layers a freeze/unfreeze applies to.
 * - `'all'`: every layer.
 * - `'backbone'`: every layer up to and including the model's feature layer (needs a PretrainedModel).
 * - `{ upTo: name, inclusive? }`: layers from the first up to `name` (inclusive by default).
 * - `{ from: name }`: layers from `name` (inclusive) to the last.
 * - `RegExp`: layers whose name matches.
 * - `string[]`: exactly these layer names.
 * - a predicate `(layer, index) => boolean`.
 */
export type LayerSpec =
  | 'all'
  | 'backbone'
  | { upTo: string; inclusive?: boolean }
  | { from: string }
  | RegExp
  | string[]
  | ((layer: tfl.layers.Layer, index: number) => boolean);

function indexOf(model: tfl.LayersModel, name: string, option: string): number {
  const i = model.layers.findIndex((l) => l.name === name);
  if (i < 0) {
    const near = model.layers.filter((l) => l.name.includes(name.split('_')[0] ?? name)).slice(0, 6).map((l) => l.name);
    throw new TransferKitError('E_LAYER_NOT_FOUND', `No layer named '${name}'. Received: ${option}=${name}.${near.length ? ` Similar names: ${near.join(', ')}.` : ''} List names with model.layers.map(l => l.name).`);
  }
  return i;
}

/** The layers `spec` selects, in model order. */
export function selectLayers(target: tfl.LayersModel | PretrainedModel, spec: LayerSpec): tfl.layers.Layer[] {
  const model = 'model' in target ? target.model : target;
  const layers = model.layers;
  if (spec === 'all') return [...layers];
  if (spec === 'backbone') {
    if (!('model' in target)) {
      throw new TransferKitError('E_BAD_OPTION', "Layer spec 'backbone' needs a PretrainedModel (it knows its feature layer). Received: a bare LayersModel. Use { upTo: '<layer name>' } instead.");
    }
    return layers.slice(0, indexOf(model, target.featureLayer, 'featureLayer') + 1);
  }
  if (spec instanceof RegExp) return layers.filter((l) => spec.test(l.name));
  if (Array.isArray(spec)) return spec.map((n) => layers[indexOf(model, n, 'names')]);
  if (typeof spec === 'function') return layers.filter((l, i) => spec(l, i));
  if ('upTo' in spec) return layers.slice(0, indexOf(model, spec.upTo, 'upTo') + (spec.inclusive === false ? 0 : 1));
  if ('from' in spec) return layers.slice(indexOf(model, spec.from, 'from'));
  throw new TransferKitError('E_BAD_OPTION', `Unrecognised layer spec. Received: ${JSON.stringify(spec)}. Use 'all', 'backbone', { upTo }, { from }, a RegExp, a name list or a predicate.`);
}

function setTrainable(target: tfl.LayersModel | PretrainedModel, spec: LayerSpec, trainable: boolean): tfl.layers.Layer[] {
  const model = 'model' in target ? target.model : target;
  applyKerasBatchNormSemantics(model);
  const chosen = selectLayers(target, spec);
  for (const layer of chosen) {
    layer.trainable = trainable;
    if (isBatchNorm(layer)) clearBatchNormMode(layer);
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
export function freeze(target: tfl.LayersModel | PretrainedModel, spec: LayerSpec = 'all'): tfl.layers.Layer[] {
  return setTrainable(target, spec, false);
}

/** Makes the selected layers trainable again (BatchNorm among them trains with batch statistics). */
export function unfreeze(target: tfl.LayersModel | PretrainedModel, spec: LayerSpec = 'all'): tfl.layers.Layer[] {
  return setTrainable(target, spec, true);
}
