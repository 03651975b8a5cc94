/**
 * A `tokenizer.json` (Hugging Face tokenizers format) for a BERT WordPiece vocabulary, for
 * checkpoints that ship only `vocab.txt`: the same pipeline HF's `BertConverter`
 * (`convert_slow_tokenizer.py`) builds when it turns a slow `BertTokenizer` into a fast one —
 * BertNormalizer (clean text, CJK spacing, lowercase / accent stripping per `do_lower_case` and
 * `strip_accents`), BertPreTokenizer, WordPiece (`##`, 100 chars per word), and the
 * `[CLS] A [SEP] (B [SEP])` template with type ids 0/1.
 */
import { TransferKitError } from '../../errors.js';
import { checkLimit } from '../../utils/limits.js';

/** Options of {@link wordPieceTokenizerJson}, as the keys of BERT's `tokenizer_config.json`. */
export interface WordPieceOptions {
  /** Lowercase (and, unless `stripAccents` says otherwise, strip accents); default true. */
  doLowerCase?: boolean;
  /** Strip accents; default: follows `doLowerCase` (HF's `strip_accents=None`). */
  stripAccents?: boolean | null;
  /** Put spaces around CJK characters; default true. */
  tokenizeChineseChars?: boolean;
  unkToken?: string;
  sepToken?: string;
  padToken?: string;
  clsToken?: string;
  maskToken?: string;
}

/**
 * Parses `vocab.txt` (one token per line; the line index is the id).
 * @throws E_IO_FORMAT when the file is empty; E_LIMIT when it has more lines than the
 *   `maxVocabSize` input limit (counted before the lines are split).
 */
export function parseVocab(text: string, file = 'vocab.txt'): string[] {
  let count = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < text.length - 1; i = text.indexOf('\n', i + 1)) count++;
  checkLimit('maxVocabSize', count, `${file}: the vocabulary has ${count} lines`);
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  if (lines.length === 0) throw new TransferKitError('E_IO_FORMAT', `${file}: the vocabulary is empty. A WordPiece vocab.txt holds one token per line; download it again.`);
  return lines;
}

/** The tokenizer.json object for `vocab` (see module doc). */
export function wordPieceTokenizerJson(vocab: string[], options: WordPieceOptions = {}, file = 'vocab.txt'): Record<string, unknown> {
  if (!Array.isArray(vocab) || !vocab.every((t) => typeof t === 'string')) throw new TransferKitError('E_BAD_OPTION', `${file}: the vocabulary must be a list of token strings.`);
  checkLimit('maxVocabSize', vocab.length, `${file}: the vocabulary has ${vocab.length} tokens`);
  // A token listed twice keeps its last line's id, as HF `load_vocab` (vocab[token] = index).
  const ids = new Map<string, number>();
  vocab.forEach((t, i) => ids.set(t, i));
  const special = {
    unk: options.unkToken ?? '[UNK]',
    sep: options.sepToken ?? '[SEP]',
    pad: options.padToken ?? '[PAD]',
    cls: options.clsToken ?? '[CLS]',
    mask: options.maskToken ?? '[MASK]',
  };
  for (const [role, tok] of Object.entries(special)) {
    if (!ids.has(tok)) throw new TransferKitError('E_IO_FORMAT', `${file}: the ${role} token '${tok}' is not in the vocabulary. Add it, or name the right token in tokenizer_config.json (${role}_token).`);
  }
  const id = (t: string): number => ids.get(t) as number;
  const addedTokens = [special.pad, special.unk, special.cls, special.sep, special.mask]
    .map((content) => ({ id: id(content), content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }))
    .sort((a, b) => a.id - b.id);
  const tmpl = (tok: string, typeId: number): Record<string, unknown> => ({ SpecialToken: { id: tok, type_id: typeId } });
  const seq = (s: 'A' | 'B', typeId: number): Record<string, unknown> => ({ Sequence: { id: s, type_id: typeId } });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokens,
    normalizer: {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: options.tokenizeChineseChars ?? true,
      strip_accents: options.stripAccents ?? null,
      lowercase: options.doLowerCase ?? true,
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [tmpl(special.cls, 0), seq('A', 0), tmpl(special.sep, 0)],
      pair: [tmpl(special.cls, 0), seq('A', 0), tmpl(special.sep, 0), seq('B', 1), tmpl(special.sep, 1)],
      special_tokens: {
        [special.cls]: { id: special.cls, ids: [id(special.cls)], tokens: [special.cls] },
        [special.sep]: { id: special.sep, ids: [id(special.sep)], tokens: [special.sep] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: special.unk,
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab: Object.fromEntries(ids),
    },
  };
}
