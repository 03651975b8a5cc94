/**
 * BERT configuration, with the keys and defaults of Hugging Face `BertConfig`
 * (`transformers/models/bert/configuration_bert.py`): the defaults are bert-base-uncased's, so a
 * `config.json` that omits a key means what it means to HF.
 */
import { TransferKitError } from '../../../errors.js';
import { shortJson } from '../../../utils/json.js';
import { checkLimit, inputLimits } from '../../../utils/limits.js';

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
  checkConfigObject(json, file);
  const cfg = { ...BERT_DEFAULTS, ...json, model_type: 'bert' } as BertConfig;
  const c = cfg as unknown as Record<string, unknown>;
  checkTextSizes(c, { layers: 'num_hidden_layers', hidden: 'hidden_size', heads: 'num_attention_heads', intermediate: 'intermediate_size', vocab: 'vocab_size', positions: 'max_position_embeddings', typeVocab: 'type_vocab_size' }, file);
  checkFractions(c, ['hidden_dropout_prob', 'attention_probs_dropout_prob', 'classifier_dropout'], file);
  checkCommon(c, { act: 'hidden_act', vocab: 'vocab_size', eps: 'layer_norm_eps' }, file);
  return cfg;
}

const shown = (v: unknown): string => shortJson(v);

const badConfig = (file: string, msg: string): never => {
  throw new TransferKitError('E_BAD_OPTION', `${file}: ${msg}`);
};

/** Throws unless `json` is a JSON object (not null, an array or a scalar). */
export function checkConfigObject(json: unknown, file: string): void {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    badConfig(file, `a model config must be a JSON object of settings. Received: ${shown(json)}. Use the config.json of a Hugging Face BERT-family checkpoint.`);
  }
}

/** Throws naming the first key of `keys` that is not a positive integer. */
export function checkPositiveInts(cfg: Record<string, unknown>, keys: string[], file: string): void {
  for (const k of keys) {
    const v = cfg[k];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) {
      badConfig(file, `"${k}" must be a positive integer. Received: ${k}=${shown(v)}. Fix the value in the config.`);
    }
  }
}

/** The config keys that size a text encoder, by role (names differ between families). */
export interface TextSizeKeys {
  layers: string;
  hidden: string;
  heads: string;
  intermediate: string;
  vocab: string;
  positions: string;
  typeVocab?: string;
}

/**
 * Checks the sizes of a text model config *before* anything is built: positive integers, under
 * the input limits (layers ≤ maxTextLayers, hidden ≤ maxHiddenSize, intermediate ≤ 4 ×
 * maxHiddenSize, vocabularies ≤ maxVocabSize, positions ≤ maxPositions, the embedding and
 * feed-forward matrices ≤ maxTensorElements), and the hidden size a multiple of the heads.
 */
export function checkTextSizes(cfg: Record<string, unknown>, keys: TextSizeKeys, file: string): void {
  checkPositiveInts(cfg, Object.values(keys) as string[], file);
  const v = (k: string): number => cfg[k] as number;
  const at = (k: string): string => `${file}: "${k}"`;
  checkLimit('maxTextLayers', v(keys.layers), at(keys.layers));
  checkLimit('maxHiddenSize', v(keys.hidden), at(keys.hidden));
  checkLimit('maxHiddenSize', v(keys.intermediate), `${at(keys.intermediate)} (at most 4 × maxHiddenSize)`, 4 * inputLimits().maxHiddenSize);
  checkLimit('maxVocabSize', v(keys.vocab), at(keys.vocab));
  if (keys.typeVocab !== undefined) checkLimit('maxVocabSize', v(keys.typeVocab), at(keys.typeVocab));
  checkLimit('maxPositions', v(keys.positions), at(keys.positions));
  if (v(keys.hidden) % v(keys.heads) !== 0) {
    badConfig(file, `${keys.hidden} (${v(keys.hidden)}) is not a multiple of ${keys.heads} (${v(keys.heads)}). Each attention head takes an equal share of the hidden size. Received: ${keys.hidden}=${v(keys.hidden)}, ${keys.heads}=${v(keys.heads)}. Fix the config.`);
  }
  // The largest single weights, as maxTensorElements counts tensors read from files.
  checkLimit('maxTensorElements', v(keys.vocab) * v(keys.hidden), `${file}: the word embeddings ("${keys.vocab}" × "${keys.hidden}" = ${v(keys.vocab)} × ${v(keys.hidden)})`);
  checkLimit('maxTensorElements', v(keys.intermediate) * v(keys.hidden), `${file}: the feed-forward weights ("${keys.intermediate}" × "${keys.hidden}" = ${v(keys.intermediate)} × ${v(keys.hidden)})`);
}

/** Dropout rates: numbers in [0, 1) (null allowed, meaning "the default"). */
export function checkFractions(cfg: Record<string, unknown>, keys: string[], file: string): void {
  for (const k of keys) {
    const v = cfg[k];
    if (v === null || v === undefined) continue;
    if (typeof v !== 'number' || !(v >= 0 && v < 1)) badConfig(file, `"${k}" must be a rate in [0, 1). Received: ${k}=${shown(v)}. Fix the value in the config.`);
  }
}

/** The `hidden_act` / `activation` values the encoder builds (see `activationLayer`). */
export const TEXT_ACTIVATIONS: readonly string[] = ['gelu', 'gelu_new', 'gelu_pytorch_tanh', 'gelu_fast', 'relu'];

/** The activation name, the padding id, epsilon, the initialiser range, labels and architectures. */
export function checkCommon(cfg: Record<string, unknown>, keys: { act: string; vocab: string; eps?: string }, file: string): void {
  if (typeof cfg[keys.act] !== 'string') badConfig(file, `"${keys.act}" must be the name of an activation. Received: ${keys.act}=${shown(cfg[keys.act])}.`);
  // Checked here, before anything is built: the encoder would refuse it half-way, with weights made.
  if (!TEXT_ACTIVATIONS.includes(cfg[keys.act] as string)) {
    throw new TransferKitError('E_NOT_IMPLEMENTED', `${file}: activation ${shown(cfg[keys.act])} ("${keys.act}") is not supported. Supported: ${TEXT_ACTIVATIONS.join(', ')}.`);
  }
  const pad = cfg.pad_token_id;
  if (pad !== null && pad !== undefined && (typeof pad !== 'number' || !Number.isSafeInteger(pad) || pad < 0 || pad >= (cfg[keys.vocab] as number))) {
    badConfig(file, `"pad_token_id" must be a token id in [0, ${keys.vocab}=${String(cfg[keys.vocab])}). Received: pad_token_id=${shown(pad)}. Fix the value in the config.`);
  }
  if (keys.eps !== undefined) {
    const eps = cfg[keys.eps];
    if (typeof eps !== 'number' || !(eps > 0 && eps < 1)) badConfig(file, `"${keys.eps}" must be a small positive number. Received: ${keys.eps}=${shown(eps)}. Fix the value in the config.`);
  }
  const range = cfg.initializer_range;
  if (typeof range !== 'number' || !(range >= 0 && range < 10)) badConfig(file, `"initializer_range" must be a non-negative number (0.02 in BERT). Received: initializer_range=${shown(range)}.`);
  const labels = cfg.id2label;
  if (labels !== undefined && labels !== null) {
    if (typeof labels !== 'object' || Array.isArray(labels)) badConfig(file, `"id2label" must map label ids to names. Received: id2label=${shown(labels)}.`);
    const entries = Object.entries(labels as Record<string, unknown>);
    checkLimit('maxVocabSize', entries.length, `${file}: "id2label" has ${entries.length} labels`);
    for (const [id, name] of entries) {
      if (!/^(0|[1-9]\d*)$/.test(id) || typeof name !== 'string') badConfig(file, `"id2label" must map integer ids to label names. Received: id2label["${id}"]=${shown(name)}.`);
    }
  }
  const arch = cfg.architectures;
  if (arch !== undefined && arch !== null && (!Array.isArray(arch) || !arch.every((a) => typeof a === 'string'))) {
    badConfig(file, `"architectures" must be a list of class names, e.g. ["BertForSequenceClassification"]. Received: architectures=${shown(arch)}.`);
  }
}
