/**
 * BERT configuration, with the keys and defaults of Hugging Face `BertConfig`
 * (`transformers/models/bert/configuration_bert.py`): the defaults are bert-base-uncased's, so a
 * `config.json` that omits a key means what it means to HF.
 */
import { TransferKitError } from '../../../errors.js';

/** The keys of a BERT `config.json` that shape the network (names as in the file). */
export interface BertConfig {
  model_type: 'bert';
  /** Vocabulary size (default 30522). */
  vocab_size: number;
  /** Width of every hidden state (default 768). */
  hidden_size: number;
  /** Encoder blocks (default 12). */
  num_hidden_layers: number;
  /** Attention heads per block; must divide `hidden_size` (default 12). */
  num_attention_heads: number;
  /** Width of the feed-forward layer (default 3072). */
  intermediate_size: number;
  /** `'gelu'` (erf form), `'gelu_new'`/`'gelu_pytorch_tanh'` (tanh form) or `'relu'` (default `'gelu'`). */
  hidden_act: string;
  /** Dropout after embeddings, attention output and feed-forward output (default 0.1). */
  hidden_dropout_prob: number;
  /** Dropout on attention probabilities (default 0.1). */
  attention_probs_dropout_prob: number;
  /** Longest sequence the position table covers (default 512). */
  max_position_embeddings: number;
  /** Segment vocabulary (default 2). */
  type_vocab_size: number;
  /** Std of the normal initialiser of fresh weights (default 0.02). */
  initializer_range: number;
  /** LayerNorm epsilon (default 1e-12). */
  layer_norm_eps: number;
  /** Padding token id (default 0). */
  pad_token_id: number;
  /** Dropout before the classifier; null means `hidden_dropout_prob` (as HF). */
  classifier_dropout: number | null;
  /** Labels of a classification head (`{ "0": "negative", ... }`), when the checkpoint has one. */
  id2label?: Record<string, string>;
  /** HF model classes the checkpoint was saved from, e.g. `['BertForSequenceClassification']`. */
  architectures?: string[];
}

/** bert-base-uncased, HF's `BertConfig()` defaults. */
export const BERT_DEFAULTS: Omit<BertConfig, 'id2label' | 'architectures'> = {
  model_type: 'bert',
  vocab_size: 30522,
  hidden_size: 768,
  num_hidden_layers: 12,
  num_attention_heads: 12,
  intermediate_size: 3072,
  hidden_act: 'gelu',
  hidden_dropout_prob: 0.1,
  attention_probs_dropout_prob: 0.1,
  max_position_embeddings: 512,
  type_vocab_size: 2,
  initializer_range: 0.02,
  layer_norm_eps: 1e-12,
  pad_token_id: 0,
  classifier_dropout: null,
};

/** Reads a BERT config object (from `config.json`), filling HF defaults and checking sizes. */
export function parseBertConfig(json: Record<string, unknown>, file = 'config.json'): BertConfig {
  const cfg = { ...BERT_DEFAULTS, ...json, model_type: 'bert' } as BertConfig;
  checkPositiveInts(cfg as unknown as Record<string, unknown>, ['vocab_size', 'hidden_size', 'num_hidden_layers', 'num_attention_heads', 'intermediate_size', 'max_position_embeddings'], file);
  if (cfg.hidden_size % cfg.num_attention_heads !== 0) {
    throw new TransferKitError('E_BAD_OPTION', `${file}: hidden_size (${cfg.hidden_size}) is not a multiple of num_attention_heads (${cfg.num_attention_heads}). Fix the config.`);
  }
  return cfg;
}

/** Throws naming the first key of `keys` that is not a positive integer. */
export function checkPositiveInts(cfg: Record<string, unknown>, keys: string[], file: string): void {
  for (const k of keys) {
    const v = cfg[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
      throw new TransferKitError('E_BAD_OPTION', `${file}: "${k}" must be a positive integer. Received: ${k}=${JSON.stringify(v)}.`);
    }
  }
}
