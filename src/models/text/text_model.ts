/**
 * The typed handle of a text encoder (BERT family): the trainable LayersModel, its configuration
 * as read from `config.json`, which head it carries, and the tokenizer that feeds it.
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import type { HeadTask } from '../pretrained_model.js';
import type { TextTokenizer } from '../../data/text/tokenizer.js';
import type { BertConfig } from './bert/config.js';
import type { DistilBertConfig } from './distilbert/config.js';
import type { RobertaConfig } from './roberta/config.js';
import type { EncoderSpec } from './encoder.js';
import type { TextLoadReport } from './hf_weights.js';

/** Encoder families transferkit builds (HF `model_type`). */
export type TextFamily = 'bert' | 'distilbert' | 'roberta';

/** A family's `config.json`, parsed. */
export type TextConfig = BertConfig | DistilBertConfig | RobertaConfig;

/**
 * The head on the encoder, named after HF's model classes:
 * - `'base'`: `BertModel` / `DistilBertModel`; outputs `[last_hidden_state, pooler_output]` for
 *   BERT (pooler kept unless `addPoolingLayer: false`), `last_hidden_state` for DistilBERT;
 * - `'sequence-classification'`: `*ForSequenceClassification`; logits `[B, numLabels]`;
 * - `'token-classification'`: `*ForTokenClassification`; logits `[B, T, numLabels]`;
 * - `'sentence-embedding'`: attention-masked mean of the last hidden state, `[B, H]`
 *   (sentence-transformers' mean pooling).
 */
export type TextTask = 'base' | 'sequence-classification' | 'token-classification' | 'sentence-embedding';

/** Names of a text model's inputs, in the order `model.apply` takes them. */
export type TextInputName = 'input_ids' | 'attention_mask' | 'token_type_ids';

/** A BERT-family model ready to fine-tune. */
export interface TextModel {
  model: tfl.LayersModel;
  family: TextFamily;
  config: TextConfig;
  /** Family-independent sizes (what the builders read). */
  spec: EncoderSpec;
  task: TextTask;
  /** Classification heads: what the logits mean (HF `problem_type`; 1 label means regression, as HF). */
  problemType: HeadTask;
  /** Inputs in `model.apply` order. */
  inputNames: TextInputName[];
  /** The last encoder layer (what `freeze(tm, 'backbone')` freezes up to). */
  featureLayer: string;
  /** Layers after the encoder (pooler excluded): the new head. */
  headLayers: string[];
  /** Labels of the classification head, index-aligned with the logits. */
  classNames?: string[];
  /** The checkpoint's tokenizer, when the folder has one. */
  tokenizer?: TextTokenizer;
  /** Where it came from. */
  source: string;
  /** What loading matched (set by `loadTextModel` when weights were read). */
  loadReport?: TextLoadReport;
}

/** Options of the builders and of `loadTextModel`. */
export interface TextModelOptions {
  /** Which head (default: from the checkpoint's `architectures`, else `'base'`). */
  task?: TextTask;
  /** Labels of a classification head (default: `config.id2label`, else 2). */
  numLabels?: number;
  /** Label names (default: `config.id2label` values). */
  classNames?: string[];
  /** BERT `'base'` only: keep the pooler (default true, as HF `add_pooling_layer`). */
  addPoolingLayer?: boolean;
  /** Seed of the fresh weights' initialisers (default: unseeded). Same seed, same weights. */
  seed?: number;
}

/**
 * True for a BERT-family text model (what `loadPretrained(dir, { modality: 'text' })`,
 * `loadTextModel` and `buildTextModel` return): the primitives dispatch on it.
 */
export function isTextModel(m: unknown): m is TextModel {
  const t = m as Partial<TextModel> | null;
  return typeof t === 'object' && t !== null && typeof t.family === 'string' && Array.isArray(t.inputNames) && t.model !== undefined;
}
