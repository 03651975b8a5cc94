/**
 * DistilBERT (HF `transformers/models/distilbert/modeling_distilbert.py`): no token types, no
 * pooler; module paths `transformer.layer.{i}.attention.q_lin`, `sa_layer_norm`, `ffn.lin1`,
 * `output_layer_norm`; its classifier is `pre_classifier` (ReLU) → dropout → `classifier` on the
 * first token. LayerNorm epsilon is fixed at 1e-12 in HF's code.
 */
import type { EncoderNames, EncoderSpec } from '../encoder.js';
import type { DistilBertConfig } from './config.js';

/** Checkpoint module paths of DistilBERT's encoder. */
export const DISTILBERT_NAMES: EncoderNames = {
  embeddings: 'embeddings',
  embeddingsNorm: 'embeddings.LayerNorm',
  block: (i) => ({
    query: `transformer.layer.${i}.attention.q_lin`,
    key: `transformer.layer.${i}.attention.k_lin`,
    value: `transformer.layer.${i}.attention.v_lin`,
    attentionOutput: `transformer.layer.${i}.attention.out_lin`,
    attentionNorm: `transformer.layer.${i}.sa_layer_norm`,
    intermediate: `transformer.layer.${i}.ffn.lin1`,
    output: `transformer.layer.${i}.ffn.lin2`,
    outputNorm: `transformer.layer.${i}.output_layer_norm`,
  }),
};

/** Module paths that belong to `DistilBertModel` (prefixed `distilbert.` inside task models). */
export const DISTILBERT_BASE_MODULES = /^(embeddings|transformer)\./;

/** Family-independent sizes of a DistilBERT config. */
export function distilBertSpec(c: DistilBertConfig): EncoderSpec {
  return {
    vocabSize: c.vocab_size,
    hiddenSize: c.dim,
    numLayers: c.n_layers,
    numHeads: c.n_heads,
    intermediateSize: c.hidden_dim,
    activation: c.activation,
    hiddenDropout: c.dropout,
    attentionDropout: c.attention_dropout,
    maxPositions: c.max_position_embeddings,
    typeVocabSize: 0,
    layerNormEps: 1e-12,
    initializerRange: c.initializer_range,
    padTokenId: c.pad_token_id,
  };
}
