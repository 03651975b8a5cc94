/**
 * DistilBERT (HF `transformers/models/distilbert/modeling_distilbert.py`): no token types, no
 * pooler; module paths `transformer.layer.{i}.attention.q_lin`, `sa_layer_norm`, `ffn.lin1`,
 * `output_layer_norm`; its classifier is `pre_classifier` (ReLU) → dropout → `classifier` on the
 * first token. LayerNorm epsilon is fixed at 1e-12 in HF's code.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { hfDense, type EncoderNames, type EncoderSpec } from '../encoder.js';
import type { TextFamilySpec } from '../family.js';
import { FirstToken } from '../layers/pooling.js';
import { parseDistilBertConfig, type DistilBertConfig } from './config.js';

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

export const DISTILBERT: TextFamilySpec = {
  modelType: 'distilbert',
  parseConfig: parseDistilBertConfig,
  spec: (c) => distilBertSpec(c as DistilBertConfig),
  names: DISTILBERT_NAMES,
  baseModules: /^(embeddings|transformer)\./,
  basePrefix: 'distilbert.',
  tokenTypes: false,
  sequenceHead: (hidden, config, numLabels, nextSeed) => {
    const c = config as DistilBertConfig;
    const first = new FirstToken({ name: 'first_token' }).apply(hidden) as tfl.SymbolicTensor;
    const pre = hfDense(c.dim, 'pre_classifier', c.initializer_range, 'relu', nextSeed()).apply(first) as tfl.SymbolicTensor;
    const d = tfl.layers.dropout({ rate: c.seq_classif_dropout, name: 'dropout' }).apply(pre) as tfl.SymbolicTensor;
    return hfDense(numLabels, 'classifier', c.initializer_range, undefined, nextSeed()).apply(d) as tfl.SymbolicTensor;
  },
  tokenHeadDropout: (c) => (c as DistilBertConfig).dropout,
  architectures: { base: 'DistilBertModel', 'sentence-embedding': 'DistilBertModel', 'sequence-classification': 'DistilBertForSequenceClassification', 'token-classification': 'DistilBertForTokenClassification', mlm: 'DistilBertForMaskedLM' },
  mlm: { dense: 'vocab_transform', norm: 'vocab_layer_norm', bias: 'vocab_projector.bias', decoder: 'vocab_projector.weight' },
};
