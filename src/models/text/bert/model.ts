/**
 * BERT (HF `transformers/models/bert/modeling_bert.py`): layer names are the module paths of
 * `BertModel` (`embeddings.LayerNorm`, `encoder.layer.{i}.attention.self.query`, `pooler.dense`),
 * heads those of `BertForSequenceClassification` / `BertForTokenClassification` (`classifier`).
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { buildEncoder, hfDense, type EncoderNames, type EncoderSpec } from '../encoder.js';
import { FirstToken } from '../layers/pooling.js';
import type { BertConfig } from './config.js';

/** Checkpoint module paths of BERT's encoder. */
export const BERT_NAMES: EncoderNames = {
  embeddings: 'embeddings',
  embeddingsNorm: 'embeddings.LayerNorm',
  block: (i) => ({
    query: `encoder.layer.${i}.attention.self.query`,
    key: `encoder.layer.${i}.attention.self.key`,
    value: `encoder.layer.${i}.attention.self.value`,
    attentionOutput: `encoder.layer.${i}.attention.output.dense`,
    attentionNorm: `encoder.layer.${i}.attention.output.LayerNorm`,
    intermediate: `encoder.layer.${i}.intermediate.dense`,
    output: `encoder.layer.${i}.output.dense`,
    outputNorm: `encoder.layer.${i}.output.LayerNorm`,
  }),
};

/** Module paths that belong to `BertModel` (prefixed `bert.` inside task models). */
export const BERT_BASE_MODULES = /^(embeddings|encoder|pooler)\./;

/** Family-independent sizes of a BERT config. */
export function bertSpec(c: BertConfig): EncoderSpec {
  return {
    vocabSize: c.vocab_size,
    hiddenSize: c.hidden_size,
    numLayers: c.num_hidden_layers,
    numHeads: c.num_attention_heads,
    intermediateSize: c.intermediate_size,
    activation: c.hidden_act,
    hiddenDropout: c.hidden_dropout_prob,
    attentionDropout: c.attention_probs_dropout_prob,
    maxPositions: c.max_position_embeddings,
    typeVocabSize: c.type_vocab_size,
    layerNormEps: c.layer_norm_eps,
    initializerRange: c.initializer_range,
    padTokenId: c.pad_token_id,
  };
}

/** HF `BertPooler`: tanh Dense on the first token's state. */
export function bertPooler(hidden: tfl.SymbolicTensor, c: BertConfig, seed?: number): tfl.SymbolicTensor {
  const cls = new FirstToken({ name: 'pooler.first_token' }).apply(hidden) as tfl.SymbolicTensor;
  return hfDense(c.hidden_size, 'pooler.dense', c.initializer_range, 'tanh', seed).apply(cls) as tfl.SymbolicTensor;
}

/** Dropout before BERT's classifier: `classifier_dropout`, else `hidden_dropout_prob` (as HF). */
export function bertClassifierDropout(c: BertConfig): number {
  return c.classifier_dropout ?? c.hidden_dropout_prob;
}

export { buildEncoder };
