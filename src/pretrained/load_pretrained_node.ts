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
export async function loadPretrained(source: string, options: LoadPretrainedOptions | OnnxEncoderOptions | (LoadTextModelOptions & { modality: 'text' }) = {}): Promise<PretrainedModel | FrozenEncoder | TextModel> {
  if (source.startsWith('onnx:')) return await loadOnnxEncoder(source.slice('onnx:'.length), options as OnnxEncoderOptions);
  if ((options as { modality?: string }).modality === 'text') {
    const { modality: _m, ...text } = options as LoadTextModelOptions & { modality: 'text' };
    void _m;
    return await loadTextModel(source, text);
  }
  return await loadLayersPretrained(source, options as LoadPretrainedOptions);
}
