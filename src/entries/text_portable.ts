/**
 * `transferkit/text` for pages (the "browser" export condition): everything of the Node entry that does not read or write local files.
 * @packageDocumentation
 */
export { buildTextModel, parseTextConfig } from '../models/text/build_text_model.js';
export { parseBertConfig, BERT_DEFAULTS, type BertConfig } from '../models/text/bert/config.js';
export { parseDistilBertConfig, DISTILBERT_DEFAULTS, type DistilBertConfig } from '../models/text/distilbert/config.js';
export { parseRobertaConfig, type RobertaConfig } from '../models/text/roberta/config.js';
export { TEXT_FAMILIES, textFamily } from '../models/text/registry.js';
export type { TextFamilySpec } from '../models/text/family.js';
export type { EncoderNames, BlockNames, EncoderSpec } from '../models/text/encoder.js';
export { TextEmbeddings, type TextEmbeddingsArgs } from '../models/text/layers/text_embeddings.js';
export { LayerNorm, type LayerNormArgs } from '../models/text/layers/layer_norm.js';
export { Gelu, gelu, type GeluApproximation } from '../models/text/layers/gelu.js';
export { MultiHeadAttention, type MultiHeadAttentionArgs } from '../models/text/layers/multi_head_attention.js';
export { FirstToken, MaskedMeanPooling } from '../models/text/layers/pooling.js';
export { MaskedLMHead } from '../models/text/heads/masked_lm_head.js';
export { loadHfWeights, type HfWeightsOptions, type TextLoadReport } from '../models/text/hf_weights.js';
export { hfKeyMap, type HfKeyEntry } from '../models/text/hf_key_map.js';
export { TextTokenizer, padBatch, lengthGroupedBatches, type EncodedText, type TextBatch, type EncodeOptions } from '../data/text/tokenizer.js';
export { wordPieceTokenizerJson, parseVocab, type WordPieceOptions } from '../data/text/wordpiece_json.js';
export { buildWordPieceVocab, bertWords, BERT_SPECIAL_TOKENS, type BuildVocabOptions } from '../data/text/build_vocab.js';
export { fineTuneText, evaluateText, textParamGroups } from '../transfer/fine_tune_text.js';
export { pretrainMaskedLM, maskTokens, type MaskedLMOptions, type MaskedLMResult } from '../transfer/masked_lm.js';
