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
 * `M` when `M` is the whole {@link TransferModel} union (a model not narrowed to one kind), else
 * `never`. The primitives' either-kind overloads take `M & UnnarrowedModel<M>`, so a model whose
 * kind is known still resolves to its own overload, where data of the other kind is a compile
 * error; only an unnarrowed model reaches the overload that checks the data at run time.
 */
export type UnnarrowedModel<M> = PretrainedModel extends M ? (TextModel extends M ? M : never) : never;

/**
 * Refuses data of the other modality before any work, naming what the model takes: a text model
 * given tensors (or an image model given `{ texts }`) would otherwise fail deep inside with a
 * message about the wrong thing. `what` names the call, e.g. `'fineTune'`.
 * @throws TransferKitError `E_DATA`
 */
export function checkModality(what: string, model: TransferModel, data: unknown): void {
  const isObject = typeof data === 'object' && data !== null;
  const hasTexts = isObject && Array.isArray((data as { texts?: unknown }).texts);
  const received = !isObject
    ? typeof data
    : Array.isArray(data)
      ? 'an array'
      : typeof (data as { dataSync?: unknown }).dataSync === 'function' && Array.isArray((data as { shape?: unknown }).shape)
        ? `a tensor of shape [${(data as { shape: number[] }).shape.join(', ')}]`
        : `{ ${Object.keys(data as object).join(', ')} }`;
  if (isTextModel(model) && !hasTexts) {
    throw new TransferKitError('E_DATA', `${what}: this is a text model (${model.family}); it takes { texts, labels }. Received ${received}; tensors and images go with an image model.`);
  }
  if (!isTextModel(model) && hasTexts) {
    if (model.encoder !== undefined) {
      throw new TransferKitError('E_DATA', `${what}: this model is a head on the frozen ${model.encoder.modality} encoder ${model.encoder.id}; it takes { inputs, labels, classNames } (inputs: the raw ${model.encoder.modality === 'text' ? 'texts' : 'images'}, labels: an Int32Array). Received ${received}.`);
    }
    throw new TransferKitError('E_DATA', `${what}: this is an image model (from ${model.source}); it takes tensors ({ xs, labels, classNames }) or, on a frozen encoder, { inputs, labels, classNames }. Received ${received}: texts go with a text model, loadPretrained(dir, { modality: 'text' }).`);
  }
}
