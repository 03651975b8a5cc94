/**
 * Raw inputs → embedding rows for a head on a frozen encoder (what fineTune and evaluate do when
 * they receive {@link EncoderData}).
 */
import type * as tf from '@tensorflow/tfjs-core';
import { TransferKitError } from '../errors.js';
import type { LabeledData } from '../data/dataset.js';
import type { EncoderData, PretrainedModel } from '../models/pretrained_model.js';
import { extractFeatures, type ExtractFeaturesOptions } from './extract_features.js';

/** True when `d` holds raw encoder inputs rather than tensors or a stream. */
export function isEncoderData(d: unknown): d is EncoderData {
  return typeof d === 'object' && d !== null && Array.isArray((d as EncoderData).inputs);
}

/** Embeds `data.inputs` with `pm.encoder` (cached per `options`); the caller disposes `xs`. */
export async function encodeData(pm: PretrainedModel, data: EncoderData, options: ExtractFeaturesOptions, what: string): Promise<LabeledData> {
  if (pm.encoder === undefined) {
    throw new TransferKitError('E_BAD_OPTION', `${what} holds raw inputs, but the model has no frozen encoder. Build it with replaceHead(encoder, { numClasses }) from loadOnnxEncoder/textEncoder, or pass preprocessed tensors.`);
  }
  if (data.targets === undefined && data.labels.length !== data.inputs.length) {
    throw new TransferKitError('E_DATA', `${what}: ${data.inputs.length} inputs but ${data.labels.length} labels.`);
  }
  const { features } = await extractFeatures(pm.encoder, data.inputs, options);
  const out: LabeledData = { xs: features, labels: data.labels, classNames: data.classNames };
  if (data.targets !== undefined) out.targets = data.targets as tf.Tensor;
  return out;
}
