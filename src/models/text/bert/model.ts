/**
 * BERT (HF `transformers/models/bert/modeling_bert.py`): layer names are the module paths of
 * `BertModel` (`embeddings.LayerNorm`, `encoder.layer.{i}.attention.self.query`, `pooler.dense`),
 * heads those of `BertForSequenceClassification` / `BertForTokenClassification` (`classifier`,
 * after the pooler and dropout).
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { hfDense, type EncoderNames, type EncoderSpec } from '../encoder.js';
import type { TextFamilySpec } from '../family.js';
import { FirstToken } from '../layers/pooling.js';
import { parseBertConfig, type BertConfig } from './config.js';

/** Checkpoint module paths of BERT's encoder (RoBERTa's too). */
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

export const BERT: TextFamilySpec = {
  modelType: 'bert',
  parseConfig: parseBertConfig,
  spec: (c) => bertSpec(c as BertConfig),
  names: BERT_NAMES,
  baseModules: /^(embeddings|encoder|pooler)\./,
  basePrefix: 'bert.',
  tokenTypes: true,
  pooler: (hidden, c, seed) => bertPooler(hidden, c as BertConfig, seed),
  sequenceHead: (hidden, config, numLabels, nextSeed) => {
    const c = config as BertConfig;
    const pooled = bertPooler(hidden, c, nextSeed());
    const d = tfl.layers.dropout({ rate: bertClassifierDropout(c), name: 'dropout' }).apply(pooled) as tfl.SymbolicTensor;
    return hfDense(numLabels, 'classifier', c.initializer_range, undefined, nextSeed()).apply(d) as tfl.SymbolicTensor;
  },
  tokenHeadDropout: (c) => bertClassifierDropout(c as BertConfig),
  architectures: { base: 'BertModel', 'sentence-embedding': 'BertModel', 'sequence-classification': 'BertForSequenceClassification', 'token-classification': 'BertForTokenClassification', mlm: 'BertForMaskedLM' },
  mlm: { dense: 'cls.predictions.transform.dense', norm: 'cls.predictions.transform.LayerNorm', bias: 'cls.predictions.bias', decoder: 'cls.predictions.decoder.weight' },
};
