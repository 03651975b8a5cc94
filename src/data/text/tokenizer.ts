/**
 * Tokenization for text models: Hugging Face's own tokenizer pipeline (`@huggingface/tokenizers`,
 * pure JS, reads `tokenizer.json`) for the text → sub-word ids part, plus what a training loop
 * needs on top: truncation (HF `truncation=True`, `'longest_first'` for pairs), the special-token
 * template of the checkpoint (`[CLS] A [SEP] B [SEP]` with token type ids), and batching with
 * dynamic padding (each batch padded to its own longest sequence, as HF
 * `DataCollatorWithPadding`).
 *
 * `tokenizer.json` and `tokenizer_config.json` are untrusted input: the sections the pipeline
 * reads are checked before the tokenizers library sees them (a `model` with a `vocab` of at most
 * `maxVocabSize` tokens with integer ids in range, `added_tokens`, the padding id, the
 * post-processor's special tokens, `model_max_length`, truncation and padding lengths), the
 * optional sections the library insists on (`normalizer`, `pre_tokenizer`, `post_processor`,
 * `decoder`) default to none as in HF's Rust tokenizers, and whatever the library still refuses
 * is `E_IO_FORMAT` naming the file, never a raw error.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Tokenizer } from '@huggingface/tokenizers';
import { isTransferKitError, TransferKitError } from '../../errors.js';
import { shortJson } from '../../utils/json.js';
import { checkLimit, inputLimits } from '../../utils/limits.js';
import { wordPieceTokenizerJson, type WordPieceOptions } from './wordpiece_json.js';

/** One encoded text (or pair), before padding. */
export interface EncodedText {
  inputIds: number[];
  tokenTypeIds: number[];
}

/** A padded batch, as int32 tensors `[B, T]` (the caller disposes them). */
export interface TextBatch {
  inputIds: tf.Tensor2D;
  attentionMask: tf.Tensor2D;
  tokenTypeIds: tf.Tensor2D;
}

/** Options of {@link TextTokenizer.encode}. */
export interface EncodeOptions {
  /** Longest output, special tokens included (default: `model_max_length`, else 512). */
  maxLength?: number;
  /** Cut to `maxLength` (default true; false throws on a longer text instead). */
  truncation?: boolean;
}

type TemplatePiece = { SpecialToken: { id: string; type_id: number } } | { Sequence: { id: 'A' | 'B'; type_id: number } };

interface Template {
  single: TemplatePiece[];
  pair: TemplatePiece[];
  specials: Map<string, number[]>;
}

/**
 * The files a tokenizer was read from, for messages (defaults when built from objects).
 * @internal
 */
export interface TokenizerSources {
  json: string;
  config: string;
}

const DEFAULT_SOURCES: TokenizerSources = { json: 'tokenizer.json', config: 'tokenizer_config.json' };

const shown = (v: unknown): string => shortJson(v);

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** A token id: an integer in [0, maxVocabSize). */
const isId = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 && v < inputLimits().maxVocabSize;

function formatError(file: string, msg: string): never {
  throw new TransferKitError('E_IO_FORMAT', `${file}: ${msg}`);
}

/**
 * Checks what the pipeline reads from a `tokenizer.json` object and returns the object the
 * tokenizers library gets (absent optional sections as null, as HF's Rust tokenizers read them).
 */
function checkTokenizerJson(json: unknown, config: unknown, src: TokenizerSources): Record<string, unknown> {
  const file = src.json;
  if (!isObject(json) || !isObject(json.model)) {
    formatError(file, 'no "model" section; this is not a Hugging Face tokenizers file. Use the tokenizer.json a checkpoint ships, or its vocab.txt.');
  }
  if (!isObject(config)) throw new TransferKitError('E_BAD_OPTION', `${src.config}: a tokenizer config must be a JSON object. Received: ${shown(config)}.`);
  const model = (json as Record<string, unknown>).model as Record<string, unknown>;
  const vocab = model.vocab;
  // The library reads a model without a known type by its fields: a list vocabulary is Unigram.
  if (model.type === 'Unigram' || (model.type !== 'WordPiece' && model.type !== 'BPE' && Array.isArray(vocab))) {
    if (!Array.isArray(vocab)) formatError(file, `the Unigram "model" has no "vocab" list of [token, score] pairs. Received: vocab=${shown(vocab)}.`);
    checkLimit('maxVocabSize', (vocab as unknown[]).length, `${file}: the vocabulary has ${(vocab as unknown[]).length} tokens`);
    for (const e of vocab as unknown[]) {
      if (!Array.isArray(e) || typeof e[0] !== 'string' || typeof e[1] !== 'number') formatError(file, `a Unigram vocabulary entry is ${shown(e)}; each must be [token, score].`);
    }
  } else {
    if (!isObject(vocab)) formatError(file, `the "model" has no "vocab" object of token → id. Received: vocab=${shown(vocab)}. The file is incomplete; download it again.`);
    const entries = Object.entries(vocab as Record<string, unknown>);
    checkLimit('maxVocabSize', entries.length, `${file}: the vocabulary has ${entries.length} tokens`);
    for (const [token, id] of entries) {
      if (!isId(id)) formatError(file, `token ${shown(token)} has id ${shown(id)}; ids must be integers in [0, maxVocabSize=${inputLimits().maxVocabSize}). Received: vocab[${shown(token)}]=${shown(id)}.`);
    }
  }
  const added = (json as Record<string, unknown>).added_tokens ?? [];
  if (!Array.isArray(added)) formatError(file, `"added_tokens" must be a list. Received: added_tokens=${shown(added)}.`);
  checkLimit('maxVocabSize', (added as unknown[]).length, `${file}: "added_tokens" has ${(added as unknown[]).length} tokens`);
  for (const t of added as unknown[]) {
    if (!isObject(t) || typeof t.content !== 'string' || !isId(t.id)) formatError(file, `an added token is ${shown(t)}; each needs a string "content" and an integer "id" in [0, maxVocabSize).`);
  }
  const padding = (json as Record<string, unknown>).padding;
  if (padding !== null && padding !== undefined) {
    if (!isObject(padding)) formatError(file, `"padding" must be an object or null. Received: padding=${shown(padding)}.`);
    const p = padding as Record<string, unknown>;
    if (p.pad_id !== undefined && !isId(p.pad_id)) formatError(file, `"padding.pad_id" must be a token id. Received: pad_id=${shown(p.pad_id)}.`);
    const strategy = p.strategy;
    const fixed = isObject(strategy) ? strategy.Fixed : undefined;
    for (const [k, v] of [['padding.strategy.Fixed', fixed], ['padding.pad_to_multiple_of', p.pad_to_multiple_of]] as const) {
      if (v !== undefined && v !== null) checkLength(v, k, file);
    }
  }
  const truncation = (json as Record<string, unknown>).truncation;
  if (truncation !== null && truncation !== undefined) {
    if (!isObject(truncation)) formatError(file, `"truncation" must be an object or null. Received: truncation=${shown(truncation)}.`);
    checkLength((truncation as Record<string, unknown>).max_length, 'truncation.max_length', file);
  }
  const out: Record<string, unknown> = { ...(json as Record<string, unknown>), added_tokens: added };
  for (const k of ['normalizer', 'pre_tokenizer', 'post_processor', 'decoder']) out[k] = out[k] ?? null;
  return out;
}

/** A sequence length read from a file: an integer in [1, maxPositions]. */
function checkLength(v: unknown, what: string, file: string): void {
  const max = inputLimits().maxPositions;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1 || v > max) {
    formatError(file, `"${what}" must be a length in [1, maxPositions=${max}]. Received: ${what}=${shown(v)}. Fix the file, or raise the limit with setInputLimits({ maxPositions: ... }) if it is genuine.`);
  }
}

function templateOf(json: Record<string, unknown>, file: string): Template {
  const pp = json.post_processor as Record<string, unknown> | null | undefined;
  const none: Template = { single: [{ Sequence: { id: 'A', type_id: 0 } }], pair: [{ Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }], specials: new Map() };
  if (pp == null) return none;
  if (!isObject(pp)) formatError(file, `"post_processor" must be an object or null. Received: ${shown(pp)}.`);
  const typeId = (v: unknown): v is number => typeof v === 'number' && (v === 0 || v === 1);
  if (pp.type === 'TemplateProcessing') {
    const specials = new Map<string, number[]>();
    const st = pp.special_tokens ?? {};
    if (!isObject(st)) formatError(file, `"post_processor.special_tokens" must be an object. Received: ${shown(st)}.`);
    for (const [k, v] of Object.entries(st as Record<string, unknown>)) {
      const ids = isObject(v) ? v.ids : undefined;
      if (!Array.isArray(ids) || ids.length === 0 || ids.length > 16 || !ids.every(isId)) formatError(file, `special token ${shown(k)} of the post_processor has ids ${shown(ids)}; expected a short list of token ids.`);
      specials.set(k, ids as number[]);
    }
    const pieces = (v: unknown, which: string): TemplatePiece[] => {
      const ok = Array.isArray(v) && v.length <= 16 && v.every((p) => isObject(p) && (
        (isObject(p.SpecialToken) && typeof p.SpecialToken.id === 'string' && typeId(p.SpecialToken.type_id)) ||
        (isObject(p.Sequence) && (p.Sequence.id === 'A' || p.Sequence.id === 'B') && typeId(p.Sequence.type_id))));
      if (!ok) formatError(file, `"post_processor.${which}" must be a list of {SpecialToken} / {Sequence} pieces. Received: ${which}=${shown(v)}.`);
      return v as TemplatePiece[];
    };
    return { single: pieces(pp.single, 'single'), pair: pieces(pp.pair, 'pair'), specials };
  }
  if (pp.type === 'BertProcessing' || pp.type === 'RobertaProcessing') {
    const pair = (v: unknown, which: string): [string, number] => {
      if (!Array.isArray(v) || typeof v[0] !== 'string' || !isId(v[1])) formatError(file, `"post_processor.${which}" must be [token, id]. Received: ${which}=${shown(v)}.`);
      return v as [string, number];
    };
    const [cls, clsId] = pair(pp.cls, 'cls');
    const [sep, sepId] = pair(pp.sep, 'sep');
    const s = (id: string, t: number): TemplatePiece => ({ SpecialToken: { id, type_id: t } });
    const a: TemplatePiece = { Sequence: { id: 'A', type_id: 0 } };
    const bType = pp.type === 'BertProcessing' ? 1 : 0;
    const b: TemplatePiece = { Sequence: { id: 'B', type_id: bType } };
    const pairPieces = pp.type === 'BertProcessing' ? [s(cls, 0), a, s(sep, 0), b, s(sep, 1)] : [s(cls, 0), a, s(sep, 0), s(sep, 0), b, s(sep, 0)];
    return { single: [s(cls, 0), a, s(sep, 0)], pair: pairPieces, specials: new Map([[cls, [clsId]], [sep, [sepId]]]) };
  }
  throw new TransferKitError('E_NOT_IMPLEMENTED', `${file}: post_processor type '${String(pp.type)}' is not supported. Supported: TemplateProcessing, BertProcessing, RobertaProcessing.`);
}

/** `model_max_length` of tokenizer_config.json: the default maxLength (see {@link TextTokenizer.modelMaxLength}). */
function modelMaxLengthOf(config: Record<string, unknown>, file: string): number {
  const mml = config.model_max_length;
  if (mml === undefined || mml === null) return 512;
  if (typeof mml !== 'number' || !(mml >= 1) || (mml <= Number.MAX_SAFE_INTEGER && !Number.isInteger(mml))) {
    formatError(file, `"model_max_length" must be a positive integer (the longest input the model takes). Received: model_max_length=${shown(mml)}. Fix the file or remove the key.`);
  }
  // HF writes a huge sentinel (int(1e30)) when the checkpoint sets no limit; anything beyond the
  // positions a model can have means the same.
  return (mml as number) <= inputLimits().maxPositions ? (mml as number) : 512;
}

/** The sources of the tokenizer being constructed by {@link tokenizerFromFiles} (synchronous, so never shared). */
let constructing: TokenizerSources | undefined;

/**
 * A {@link TextTokenizer} from the objects of `tokenizer.json` and `tokenizer_config.json`, with
 * every error naming those files (used by `loadTokenizer`).
 * @internal
 */
export function tokenizerFromFiles(tokenizerJson: unknown, tokenizerConfig: unknown, sources: TokenizerSources): TextTokenizer {
  constructing = sources;
  try {
    return new TextTokenizer(tokenizerJson as Record<string, unknown>, tokenizerConfig as Record<string, unknown>);
  } finally {
    constructing = undefined;
  }
}

/**
 * A WordPiece {@link TextTokenizer} from the lines of a `vocab.txt` (errors name `sources.json`,
 * the vocabulary file, and `sources.config`, where `modelMaxLength` came from).
 * @internal
 */
export function tokenizerFromVocab(vocab: string[], options: WordPieceOptions & { modelMaxLength?: unknown }, sources: TokenizerSources): TextTokenizer {
  const doLowerCase = options.doLowerCase ?? true;
  const config: Record<string, unknown> = { do_lower_case: doLowerCase, model_max_length: options.modelMaxLength ?? 512, tokenizer_class: 'BertTokenizer' };
  if (options.stripAccents !== undefined) config.strip_accents = options.stripAccents;
  const tok = tokenizerFromFiles(wordPieceTokenizerJson(vocab, options, sources.json), config, sources);
  tok.vocabLines = [...vocab];
  return tok;
}

function specialCount(pieces: TemplatePiece[], specials: Map<string, number[]>): number {
  return pieces.reduce((n, p) => n + ('SpecialToken' in p ? (specials.get(p.SpecialToken.id)?.length ?? 1) : 0), 0);
}

/**
 * A checkpoint's tokenizer.
 * @example
 * ```ts
 * const tok = TextTokenizer.fromVocab(vocabLines, { doLowerCase: true });
 * const enc = tok.encode('Hello world!');           // { inputIds: [101, ..., 102], tokenTypeIds }
 * const batch = tok.batch(['a', 'longer text'], { maxLength: 128 }); // padded int32 tensors
 * ```
 */
export class TextTokenizer {
  private readonly tokenizer: Tokenizer;
  private readonly template: Template;
  /** The `tokenizer.json` object (written back on export). */
  readonly json: Record<string, unknown>;
  /** The `tokenizer_config.json` object. */
  readonly config: Record<string, unknown>;
  readonly padId: number;
  readonly maskId: number | undefined;
  readonly unkId: number | undefined;
  /** Ids the template adds (never masked or replaced by MLM). */
  readonly specialIds: ReadonlySet<number>;
  /** Default `maxLength` (tokenizer_config `model_max_length`, else 512). */
  readonly modelMaxLength: number;
  /** The `vocab.txt` lines this tokenizer was built from (kept so export writes the same ids). */
  vocabLines?: readonly string[];

  constructor(tokenizerJson: Record<string, unknown>, tokenizerConfig: Record<string, unknown> = {}) {
    const src = constructing ?? DEFAULT_SOURCES;
    const checked = checkTokenizerJson(tokenizerJson, tokenizerConfig, src);
    this.json = tokenizerJson;
    this.config = tokenizerConfig;
    this.template = templateOf(tokenizerJson, src.json);
    try {
      this.tokenizer = new Tokenizer(checked, tokenizerConfig);
    } catch (err) {
      if (isTransferKitError(err)) throw err;
      throw new TransferKitError('E_IO_FORMAT', `${src.json}: the tokenizers library cannot read it: ${(err as Error).message}. Use the tokenizer.json the checkpoint ships (written by HF tokenizers), or its vocab.txt.`, { cause: err });
    }
    const id = (t: unknown): number | undefined => (typeof t === 'string' ? this.tokenizer.token_to_id(t) : undefined);
    const padding = tokenizerJson.padding as { pad_id?: number } | null | undefined;
    this.padId = padding?.pad_id ?? id(tokenizerConfig.pad_token) ?? id('[PAD]') ?? id('<pad>') ?? 0;
    this.maskId = id(tokenizerConfig.mask_token) ?? id('[MASK]') ?? id('<mask>');
    this.unkId = id(tokenizerConfig.unk_token) ?? id('[UNK]') ?? id('<unk>');
    this.specialIds = new Set([...this.template.specials.values()].flat().concat(this.padId));
    this.modelMaxLength = modelMaxLengthOf(tokenizerConfig, src.config);
  }

  /** A WordPiece tokenizer from a BERT `vocab.txt` (see {@link wordPieceTokenizerJson}). */
  static fromVocab(vocab: string[], options: WordPieceOptions & { modelMaxLength?: number } = {}): TextTokenizer {
    const mml = options.modelMaxLength;
    if (mml !== undefined && !(Number.isSafeInteger(mml) && mml >= 1)) throw new TransferKitError('E_BAD_OPTION', `modelMaxLength must be a positive integer. Received: modelMaxLength=${mml}.`);
    return tokenizerFromVocab(vocab, options, DEFAULT_SOURCES);
  }

  /** Vocabulary size, added tokens included. */
  get vocabSize(): number {
    return this.tokenizer.get_vocab(true).size;
  }

  /** Sub-word tokens of `text` (no special tokens). */
  tokenize(text: string): string[] {
    return this.tokenizer.tokenize(text, { add_special_tokens: false });
  }

  /** Token id of `token`, if in the vocabulary. */
  tokenToId(token: string): number | undefined {
    return this.tokenizer.token_to_id(token);
  }

  /** Text of `ids` (special tokens skipped). */
  decode(ids: number[]): string {
    return this.tokenizer.decode(ids, { skip_special_tokens: true });
  }

  /** Ids and type ids of a text or pair, truncated and wrapped in the checkpoint's special tokens. */
  encode(text: string, pair?: string | null, options: EncodeOptions = {}): EncodedText {
    const maxLength = options.maxLength ?? this.modelMaxLength;
    checkMaxLength(maxLength);
    let a = this.tokenizer.encode(text, { add_special_tokens: false }).ids;
    let b = pair == null ? null : this.tokenizer.encode(pair, { add_special_tokens: false }).ids;
    const pieces = b === null ? this.template.single : this.template.pair;
    const budget = maxLength - specialCount(pieces, this.template.specials);
    if (budget < 0) throw new TransferKitError('E_BAD_OPTION', `maxLength ${maxLength} leaves no room for the ${specialCount(pieces, this.template.specials)} special tokens.`);
    const total = a.length + (b?.length ?? 0);
    if (total > budget) {
      if (options.truncation === false) throw new TransferKitError('E_DATA', `A text has ${total} tokens; maxLength ${maxLength} allows ${budget} besides special tokens, and truncation is off.`);
      if (b === null) a = a.slice(0, budget);
      else {
        // HF 'longest_first': drop one token at a time from the longer sequence.
        let la = a.length;
        let lb = b.length;
        while (la + lb > budget) {
          if (la > lb) la--;
          else lb--;
        }
        a = a.slice(0, la);
        b = b.slice(0, lb);
      }
    }
    const inputIds: number[] = [];
    const tokenTypeIds: number[] = [];
    for (const p of pieces) {
      const ids = 'SpecialToken' in p ? (this.template.specials.get(p.SpecialToken.id) ?? [this.tokenToId(p.SpecialToken.id) as number]) : p.Sequence.id === 'A' ? a : (b as number[]);
      const type = 'SpecialToken' in p ? p.SpecialToken.type_id : p.Sequence.type_id;
      for (const i of ids) {
        inputIds.push(i);
        tokenTypeIds.push(type);
      }
    }
    return { inputIds, tokenTypeIds };
  }

  /** Encodes every text (and pair) once, so epochs only pad. */
  encodeAll(texts: readonly string[], pairs?: readonly string[] | null, options: EncodeOptions = {}): EncodedText[] {
    if (pairs != null && pairs.length !== texts.length) throw new TransferKitError('E_DATA', `${texts.length} texts but ${pairs.length} pairs; pass one pair per text.`);
    return texts.map((t, i) => this.encode(t, pairs?.[i] ?? null, options));
  }

  /** Encodes and pads `texts` into one batch (see {@link padBatch}). */
  batch(texts: readonly string[], options: EncodeOptions & { pairs?: readonly string[]; padToMultipleOf?: number } = {}): TextBatch {
    return padBatch(this.encodeAll(texts, options.pairs, options), this.padId, options.padToMultipleOf);
  }
}

/** `maxLength`-like options: integers in [1, maxPositions]. */
function checkMaxLength(v: number, name = 'maxLength'): void {
  const max = inputLimits().maxPositions;
  if (!Number.isSafeInteger(v) || v < 1 || v > max) {
    throw new TransferKitError('E_BAD_OPTION', `${name} must be an integer in [1, ${max}] (maxPositions; a text model has at most that many positions). Received: ${name}=${v}. Pass the model's max_position_embeddings or less.`);
  }
}

/**
 * Pads encoded texts to the batch's longest (rounded up to `padToMultipleOf`), right side, as HF
 * `DataCollatorWithPadding`; the attention mask is 1 on real tokens.
 */
export function padBatch(items: readonly EncodedText[], padId: number, padToMultipleOf?: number): TextBatch {
  if (items.length === 0) throw new TransferKitError('E_DATA', 'padBatch: the batch is empty.');
  if (!Number.isInteger(padId) || padId < 0 || padId > 2147483647) throw new TransferKitError('E_BAD_OPTION', `padBatch: padId must be a token id (an integer >= 0). Received: padId=${padId}.`);
  if (padToMultipleOf !== undefined) checkMaxLength(padToMultipleOf, 'padToMultipleOf');
  let t = 0;
  for (const e of items) t = Math.max(t, e.inputIds.length);
  if (padToMultipleOf !== undefined && padToMultipleOf > 1) t = Math.ceil(t / padToMultipleOf) * padToMultipleOf;
  const n = items.length;
  const ids = new Int32Array(n * t).fill(padId);
  const mask = new Int32Array(n * t);
  const types = new Int32Array(n * t);
  items.forEach((e, r) => {
    ids.set(e.inputIds, r * t);
    types.set(e.tokenTypeIds, r * t);
    mask.fill(1, r * t, r * t + e.inputIds.length);
  });
  return { inputIds: tf.tensor2d(ids, [n, t], 'int32'), attentionMask: tf.tensor2d(mask, [n, t], 'int32'), tokenTypeIds: tf.tensor2d(types, [n, t], 'int32') };
}

/**
 * Batches of indices grouped by length, as HF `get_length_grouped_indices` (`group_by_length`):
 * a random permutation cut into mega-batches of `50 * batchSize`, each sorted by length
 * (longest first), then cut into batches; the batch holding the longest example goes first so an
 * out-of-memory error shows at once. Less padding per batch, still random across epochs.
 */
export function lengthGroupedBatches(lengths: readonly number[], batchSize: number, rand: () => number, megaBatchMult = 50): number[][] {
  const n = lengths.length;
  const perm = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [perm[i], perm[j]] = [perm[j], perm[i]];
  }
  const mega = megaBatchMult * batchSize;
  const batches: number[][] = [];
  for (let s = 0; s < n; s += mega) {
    const chunk = perm.slice(s, s + mega).sort((x, y) => lengths[y] - lengths[x]);
    for (let b = 0; b < chunk.length; b += batchSize) batches.push(chunk.slice(b, b + batchSize));
  }
  let longest = 0;
  batches.forEach((b, i) => {
    if (lengths[b[0]] > lengths[batches[longest][0]]) longest = i;
  });
  [batches[0], batches[longest]] = [batches[longest], batches[0]];
  return batches;
}
