/**
 * The Node entry's `loadPretrained`: the portable one (TF.js layers models, zoo ids) plus
 * `'onnx:<folder | hub id>'` sources, ONNX encoders run by ONNX Runtime through the optional peer
 * `@huggingface/transformers`. Kept apart so browser bundles never reach node:fs or the peer.
 */
import { loadPretrained as loadLayersPretrained, type LoadPretrainedOptions } from './load_pretrained.js';
import type { PretrainedModel } from '../models/pretrained_model.js';
import type { FrozenEncoder } from '../models/frozen_encoder.js';
import { loadOnnxEncoder, type OnnxEncoderOptions } from '../encoders/onnx_encoder.js';
import { loadTextModel, type LoadTextModelOptions } from '../models/text/load_text_model.js';
import type { TextModel } from '../models/text/text_model.js';
import type { TransferModel } from '../models/transfer_model.js';
import { closeZooIds, pretrainedConfig } from '../models/vision/registry.js';
import { TransferKitError } from '../errors.js';
import { checkOptionKeys, optionNames } from '../utils/option_keys.js';

/** Options of `loadPretrained(source, { modality: 'auto' })`: what both loaders share. */
export interface AutoLoadOptions {
  /** Tell the modality from the source (see {@link loadPretrained}). */
  modality: 'auto';
  /** Zoo ids and Hub ids: download options (cache folder, progress, offline). */
  download?: LoadPretrainedOptions['download'];
}

/**
 * `'onnx:<folder | hub id>'`: an ONNX encoder run by ONNX Runtime through the optional peer
 * `@huggingface/transformers`, as a frozen feature extractor (see {@link loadOnnxEncoder}).
 * @example
 * ```ts
 * const encoder = await loadPretrained('onnx:models/all-MiniLM-L6-v2', { pooling: 'mean', normalize: true });
 * const model = replaceHead(encoder, { numClasses: 2 });
 * ```
 */
export async function loadPretrained(source: `onnx:${string}`, options?: OnnxEncoderOptions): Promise<FrozenEncoder>;
/**
 * `{ modality: 'text' }`: a BERT-family text model from a Hugging Face folder (config.json,
 * model.safetensors or pytorch_model.bin, tokenizer files) or a Hub id (org/name, fetched into the
 * cache unless offline), with every option of {@link loadTextModel} (`task`, `numLabels`, ...).
 * The primitives take it as they take image models: `freeze`, `replaceHead`, `fineTune`,
 * `evaluate`, `predict`, `saveModel` (HF layout) and `DomainAdapter`.
 * @example
 * ```ts
 * const bert = await loadPretrained('./bert-mini', { modality: 'text' });
 * ```
 */
export async function loadPretrained(source: string, options: LoadTextModelOptions & { modality: 'text' }): Promise<TextModel>;
/**
 * `{ modality: 'auto' }`: the modality told from the source, for code that takes any model path
 * (a CLI, an app's settings) and hands it to the primitives as one {@link TransferModel}. A folder
 * with `config.json` and no `model.json` is a Hugging Face text model, as is a Hub id that is not
 * a local path (`org/name`, or a bare name not close to a zoo id, e.g. `bert-base-uncased`);
 * folders with `model.json`, `.json` paths, http(s) URLs and zoo ids are image models, and so are
 * missing local paths and near-misses of zoo ids (the image loader names them). `'onnx:'` sources
 * are refused (frozen encoders: load them without a modality). Narrow with {@link isTextModel}
 * where one modality is needed.
 * @example
 * ```ts
 * const model = replaceHead(await loadPretrained(userPath, { modality: 'auto' }), { numClasses: 2 });
 * await fineTune(model, isTextModel(model) ? texts : images);
 * ```
 */
export async function loadPretrained(source: string, options: AutoLoadOptions): Promise<TransferModel>;
/**
 * Loads a pretrained TF.js layers model (a folder holding model.json, a model.json path, an
 * http(s) URL, or a zoo id) and prepares it for transfer learning: nested models are inlined so
 * every layer is addressable by its Keras name, and BatchNorm layers follow Keras' rule (a frozen
 * BN layer runs in inference mode).
 * @example
 * ```ts
 * const base = await loadPretrained('../shared/models/mobilenet_v2_0.35_224_teachable');
 * base.model.getLayer('block_16_project'); // addressable by its Keras name
 * ```
 */
export async function loadPretrained(source: string, options?: LoadPretrainedOptions): Promise<PretrainedModel>;
export async function loadPretrained(source: string, options: LoadPretrainedOptions | OnnxEncoderOptions | (LoadTextModelOptions & { modality: 'text' }) | AutoLoadOptions = {}): Promise<PretrainedModel | FrozenEncoder | TextModel> {
  if ((options as { modality?: string }).modality === 'auto') {
    checkAutoOptions(options as AutoLoadOptions);
    if (source.startsWith('onnx:')) {
      throw new TransferKitError('E_BAD_OPTION', `loadPretrained('${source}', { modality: 'auto' }): an 'onnx:' source is a frozen encoder, not a model to fine-tune. Load it without the modality (loadPretrained('${source}')), then replaceHead(encoder, { numClasses }) gives a model that takes its raw inputs.`);
    }
    const { download } = options as AutoLoadOptions;
    const modality = await detectModality(source);
    if (modality === 'text') return await loadTextModel(source, download !== undefined ? { download } : {});
    return await loadLayersPretrained(source, download !== undefined ? { download } : {});
  }
  if ((options as { modality?: string }).modality === 'text') {
    const { modality: _m, ...text } = options as LoadTextModelOptions & { modality: 'text' };
    void _m;
    return await loadTextModel(source, text);
  }
  if (source.startsWith('onnx:')) return await loadOnnxEncoder(source.slice('onnx:'.length), options as OnnxEncoderOptions);
  return await loadLayersPretrained(source, options as LoadPretrainedOptions);
}

/** Every option name of {@link AutoLoadOptions}: the rest belong to one modality, so name it. */
const AUTO_OPTIONS = optionNames<AutoLoadOptions>({ modality: true, download: true });

function checkAutoOptions(options: AutoLoadOptions): void {
  const other = Object.keys(options).filter((k) => !(AUTO_OPTIONS as readonly string[]).includes(k));
  if (other.length > 0) {
    throw new TransferKitError('E_BAD_OPTION', `loadPretrained: ${other.map((k) => `'${k}'`).join(', ')} ${other.length > 1 ? 'are options' : 'is an option'} of one modality; { modality: 'auto' } takes only download. Pass { modality: 'text', ... } or { modality: 'image', ... } to use ${other.length > 1 ? 'them' : 'it'}.`);
  }
  checkOptionKeys("loadPretrained (modality 'auto')", options, AUTO_OPTIONS);
}

/** A Hugging Face Hub repository id, `org/name` (a bare `name` would be read as a zoo id). */
const HUB_REPO = /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/;

/** What `source` holds, told without loading it (see the `'auto'` overload for the rules). */
async function detectModality(source: string): Promise<'image' | 'text'> {
  if (/^https?:\/\//.test(source) || /\.json$/i.test(source)) return 'image';
  const fs = await import('node:fs');
  const path = await import('node:path');
  const local = source.replace(/^file:\/\//, '');
  // A save killed inside its folder swap leaves no folder at the path for a moment (as both loaders do).
  await (await import('../io/_atomic.js')).settleFolder(local);
  if (fs.existsSync(local)) {
    if (!fs.statSync(local).isDirectory() || fs.existsSync(path.join(local, 'model.json'))) return 'image';
    if (fs.existsSync(path.join(local, 'config.json'))) return 'text';
    throw new TransferKitError('E_IO_NOT_FOUND', `${local} holds neither model.json (a TF.js layers model) nor config.json (a Hugging Face text model). Point loadPretrained at the model's folder.`);
  }
  if (pretrainedConfig(source) !== null) return 'image';
  if (source.startsWith('file://') || /^[.~]|^[A-Za-z]:[\\/]|^[\\/]/.test(source)) return 'image'; // a path that is not there: the image loader names it
  if (HUB_REPO.test(source)) return 'text';
  // A bare name that is no zoo id: a close zoo id means a typo (the image loader lists them);
  // otherwise a legacy Hub id without an organisation (bert-base-uncased, roberta-base).
  return /^[\w.-]+$/.test(source) && closeZooIds(source).length === 0 ? 'text' : 'image';
}
