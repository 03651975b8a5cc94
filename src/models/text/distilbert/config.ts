/**
 * DistilBERT configuration, with the keys and defaults of Hugging Face `DistilBertConfig`
 * (`transformers/models/distilbert/configuration_distilbert.py`; defaults are
 * distilbert-base-uncased's).
 */
import { TransferKitError } from '../../../errors.js';
import { checkCommon, checkConfigObject, checkFractions, checkTextSizes } from '../bert/config.js';

/** The keys of a DistilBERT `config.json` that shape the network. */
export interface DistilBertConfig {
  model_type: 'distilbert';
  vocab_size: number;
  max_position_embeddings: number;
  /** Sinusoidal (fixed) position table instead of a learned one (default false). */
  sinusoidal_pos_embds: boolean;
  n_layers: number;
  n_heads: number;
  /** Hidden width (default 768). */
  dim: number;
  /** Feed-forward width (default 3072). */
  hidden_dim: number;
  dropout: number;
  attention_dropout: number;
  /** `'gelu'` (erf form) or `'relu'`. */
  activation: string;
  initializer_range: number;
  /** Dropout before the classifier (default 0.2). */
  seq_classif_dropout: number;
  pad_token_id: number;
  id2label?: Record<string, string>;
  architectures?: string[];
}

export const DISTILBERT_DEFAULTS: Omit<DistilBertConfig, 'id2label' | 'architectures'> = {
  model_type: 'distilbert',
  vocab_size: 30522,
  max_position_embeddings: 512,
  sinusoidal_pos_embds: false,
  n_layers: 6,
  n_heads: 12,
  dim: 768,
  hidden_dim: 3072,
  dropout: 0.1,
  attention_dropout: 0.1,
  activation: 'gelu',
  initializer_range: 0.02,
  seq_classif_dropout: 0.2,
  pad_token_id: 0,
};

/** Reads a DistilBERT config object, filling HF defaults and checking sizes. */
export function parseDistilBertConfig(json: Record<string, unknown>, file = 'config.json'): DistilBertConfig {
  checkConfigObject(json, file);
  const cfg = { ...DISTILBERT_DEFAULTS, ...json, model_type: 'distilbert' } as DistilBertConfig;
  const c = cfg as unknown as Record<string, unknown>;
  checkTextSizes(c, { layers: 'n_layers', hidden: 'dim', heads: 'n_heads', intermediate: 'hidden_dim', vocab: 'vocab_size', positions: 'max_position_embeddings' }, file);
  checkFractions(c, ['dropout', 'attention_dropout', 'seq_classif_dropout'], file);
  checkCommon(c, { act: 'activation', vocab: 'vocab_size' }, file);
  if (cfg.sinusoidal_pos_embds) {
    throw new TransferKitError('E_NOT_IMPLEMENTED', `${file}: sinusoidal_pos_embds=true is not supported yet (every published DistilBERT checkpoint uses learned positions). Set it to false.`);
  }
  return cfg;
}
