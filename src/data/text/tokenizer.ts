/**
 * Tokenization for text models: Hugging Face's own tokenizer pipeline (`@huggingface/tokenizers`,
 * pure JS, reads `tokenizer.json`) for the text → sub-word ids part, plus what a training loop
 * needs on top: truncation (HF `truncation=True`, `'longest_first'` for pairs), the special-token
 * template of the checkpoint (`[CLS] A [SEP] B [SEP]` with token type ids), and batching with
 * dynamic padding (each batch padded to its own longest sequence, as HF
 * `DataCollatorWithPadding`).
 */
import * as tf from '@tensorflow/tfjs-core';
import { Tokenizer } from '@huggingface/tokenizers';
import { TransferKitError } from '../../errors.js';
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

function templateOf(json: Record<string, unknown>): Template {
  const pp = json.post_processor as Record<string, unknown> | null | undefined;
  const none: Template = { single: [{ Sequence: { id: 'A', type_id: 0 } }], pair: [{ Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }], specials: new Map() };
  if (pp == null) return none;
  if (pp.type === 'TemplateProcessing') {
    const specials = new Map<string, number[]>();
    for (const [k, v] of Object.entries((pp.special_tokens ?? {}) as Record<string, { ids: number[] }>)) specials.set(k, v.ids);
    return { single: pp.single as TemplatePiece[], pair: pp.pair as TemplatePiece[], specials };
  }
  if (pp.type === 'BertProcessing' || pp.type === 'RobertaProcessing') {
    const [cls, clsId] = pp.cls as [string, number];
    const [sep, sepId] = pp.sep as [string, number];
    const s = (id: string, t: number): TemplatePiece => ({ SpecialToken: { id, type_id: t } });
    const a: TemplatePiece = { Sequence: { id: 'A', type_id: 0 } };
    const bType = pp.type === 'BertProcessing' ? 1 : 0;
    const b: TemplatePiece = { Sequence: { id: 'B', type_id: bType } };
    const pair = pp.type === 'BertProcessing' ? [s(cls, 0), a, s(sep, 0), b, s(sep, 1)] : [s(cls, 0), a, s(sep, 0), s(sep, 0), b, s(sep, 0)];
    return { single: [s(cls, 0), a, s(sep, 0)], pair, specials: new Map([[cls, [clsId]], [sep, [sepId]]]) };
  }
  throw new TransferKitError('E_NOT_IMPLEMENTED', `tokenizer.json: post_processor type '${String(pp.type)}' is not supported. Supported: TemplateProcessing, BertProcessing, RobertaProcessing.`);
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
    if (typeof tokenizerJson !== 'object' || tokenizerJson === null || typeof tokenizerJson.model !== 'object') {
      throw new TransferKitError('E_DATA', 'tokenizer.json: no "model" section; this is not a Hugging Face tokenizers file.');
    }
    this.json = tokenizerJson;
    this.config = tokenizerConfig;
    this.tokenizer = new Tokenizer(tokenizerJson, tokenizerConfig);
    const id = (t: unknown): number | undefined => (typeof t === 'string' ? this.tokenizer.token_to_id(t) : undefined);
    this.template = templateOf(tokenizerJson);
    const padding = tokenizerJson.padding as { pad_id?: number } | null | undefined;
    this.padId = padding?.pad_id ?? id(tokenizerConfig.pad_token) ?? id('[PAD]') ?? id('<pad>') ?? 0;
    this.maskId = id(tokenizerConfig.mask_token) ?? id('[MASK]') ?? id('<mask>');
    this.unkId = id(tokenizerConfig.unk_token) ?? id('[UNK]') ?? id('<unk>');
    this.specialIds = new Set([...this.template.specials.values()].flat().concat(this.padId));
    const mml = tokenizerConfig.model_max_length;
    // HF writes a huge sentinel (1e30) when the checkpoint sets no limit.
    this.modelMaxLength = typeof mml === 'number' && mml > 0 && mml < 1e6 ? mml : 512;
  }

  /** A WordPiece tokenizer from a BERT `vocab.txt` (see {@link wordPieceTokenizerJson}). */
  static fromVocab(vocab: string[], options: WordPieceOptions & { modelMaxLength?: number } = {}): TextTokenizer {
    const doLowerCase = options.doLowerCase ?? true;
    const config: Record<string, unknown> = { do_lower_case: doLowerCase, model_max_length: options.modelMaxLength ?? 512, tokenizer_class: 'BertTokenizer' };
    if (options.stripAccents !== undefined) config.strip_accents = options.stripAccents;
    const tok = new TextTokenizer(wordPieceTokenizerJson(vocab, options), config);
    tok.vocabLines = [...vocab];
    return tok;
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

/**
 * Pads encoded texts to the batch's longest (rounded up to `padToMultipleOf`), right side, as HF
 * `DataCollatorWithPadding`; the attention mask is 1 on real tokens.
 */
export function padBatch(items: readonly EncodedText[], padId: number, padToMultipleOf?: number): TextBatch {
  if (items.length === 0) throw new TransferKitError('E_DATA', 'padBatch: the batch is empty.');
  let t = Math.max(...items.map((e) => e.inputIds.length));
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
