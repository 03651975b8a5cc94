/**
 * The one model type of the primitives: whatever `loadPretrained` returns for a vision model or a
 * BERT-family text model. Code written against it (an application that takes a user's model path,
 * `loadPretrained(path, { modality: 'auto' })`) passes it to `freeze`, `replaceHead`, `fineTune`,
 * `evaluate`, `predict`, `saveModel` and `DomainAdapter.fit` without narrowing first; where one
 * modality is needed, {@link isTextModel} narrows it (a text model carries `family` and a
 * tokenizer, an image model `inputShape` and `preprocessing`).
 */
import { TransferKitError } from '../errors.js';
import type { PretrainedModel } from './pretrained_model.js';
import { isTextModel, type TextModel } from './text/text_model.js';

export type TransferModel = PretrainedModel | TextModel;

/**
 * Refuses data of the other modality before any work, naming what the model takes: a text model
 * given tensors (or an image model given `{ texts }`) would otherwise fail deep inside with a
 * message about the wrong thing. `what` names the call, e.g. `'fineTune'`.
 * @throws TransferKitError `E_DATA`
 */
export function checkModality(what: string, model: TransferModel, data: unknown): void {
  const isObject = typeof data === 'object' && data !== null;
  const hasTexts = isObject && Array.isArray((data as { texts?: unknown }).texts);
  const keys = isObject ? Object.keys(data as object).join(', ') : typeof data;
  if (isTextModel(model) && !hasTexts) {
    throw new TransferKitError('E_DATA', `${what}: this is a text model (${model.family}); it takes { texts, labels }. Received ${Array.isArray(data) ? 'an array' : `{ ${keys} }`}; tensors and images go with an image model.`);
  }
  if (!isTextModel(model) && hasTexts) {
    throw new TransferKitError('E_DATA', `${what}: this is an image model (from ${model.source}); it takes tensors ({ xs, labels, classNames }) or, on a frozen encoder, { inputs, labels, classNames }. Received { ${keys} }: texts go with a text model, loadPretrained(dir, { modality: 'text' }).`);
  }
}
