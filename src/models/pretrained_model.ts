/**
 * The typed handle every transferkit primitive works on: a trainable `tf.LayersModel` plus
 * what a user needs to feed it correctly (input size, preprocessing) and where its features are.
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import type * as tf from '@tensorflow/tfjs-core';
import type { EncoderInput, FrozenEncoder } from './frozen_encoder.js';

export type { Preprocessing } from '../data/preprocessing.js';
import type { Preprocessing } from '../data/preprocessing.js';

/**
 * What the head predicts (as the Keras guide's three head/loss pairs):
 * - `'multiclass'`: one class per example; softmax + categorical cross-entropy;
 * - `'multilabel'`: any subset of classes; sigmoid per class + binary cross-entropy;
 * - `'regression'`: real values; linear outputs + mean squared error.
 */
export type HeadTask = 'multiclass' | 'multilabel' | 'regression';

/** A pretrained (or re-headed) model with its input contract and named feature layer. */
export interface PretrainedModel {
  /** The trainable model; every backbone layer is addressable by name (nested models are inlined). */
  model: tfl.LayersModel;
  /** Input shape without the batch axis, e.g. [224, 224, 3]. */
  inputShape: number[];
  /** How to turn [0, 255] pixels into inputs. */
  preprocessing: Preprocessing;
  /** Name of the layer whose output is the backbone's feature vector (or map). */
  featureLayer: string;
  /** Names of the layers after `featureLayer` (the classifier head). */
  headLayers: string[];
  /** Class names of the head (or output names for regression), when known. */
  classNames?: string[];
  /** What the head predicts (default `'multiclass'`); set by replaceHead and saved with the model. */
  task?: HeadTask;
  /** Where the model was loaded from. */
  source: string;
  /**
   * Set by `replaceHead(encoder, ...)`: the frozen encoder whose embeddings `model` takes as input.
   * fineTune then accepts raw inputs ({@link EncoderData}) and embeds them (cached) itself.
   */
  encoder?: FrozenEncoder;
}

/** Raw inputs for a model on a frozen encoder: texts or images, with labels (or targets). */
export interface EncoderData {
  /** Texts, decoded images, or (image encoders) image file paths. */
  inputs: readonly EncoderInput[];
  /** Class index per input (multiclass). */
  labels: Int32Array;
  /** Class names, index = label. */
  classNames: string[];
  /** Targets [N, K] for multilabel / regression heads (as LabeledData.targets). */
  targets?: tf.Tensor;
}

/**
 * What layer-selecting primitives (`freeze`, `unfreeze`, `summary`) need of a model: the graph and
 * the name of its feature layer. Both {@link PretrainedModel} and text models satisfy it.
 */
export type ModelHandle = Pick<PretrainedModel, 'model' | 'featureLayer'>;
