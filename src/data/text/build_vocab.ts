/**
 * A WordPiece vocabulary built from a corpus, for training a small BERT from scratch when no
 * pretrained vocabulary is at hand (offline demos, new languages).
 *
 * Simpler than HF's WordPiece trainer (which merges pieces by likelihood): the vocabulary is the
 * special tokens, every character seen (as a word start and as a `##` continuation, so greedy
 * longest-match WordPiece can spell any word of the corpus), then the most frequent whole words
 * and the most frequent word endings (`##ing`, `##ed`, ...) until `vocabSize`. Words are split as
 * BERT's pre-tokenizer does (whitespace, then each punctuation character alone), lowercased.
 */
import { TransferKitError } from '../../errors.js';
import { checkLimit } from '../../utils/limits.js';

/** Options of {@link buildWordPieceVocab}. */
export interface BuildVocabOptions {
  /** Vocabulary size, specials included (default 8000). */
  vocabSize?: number;
  /** Lowercase and strip accents (default true, as uncased BERT). */
  lowercase?: boolean;
  /** Share of the room after characters given to `##` endings (default 0.2). */
  suffixShare?: number;
  /** Longest ending considered (default 4 characters). */
  maxSuffixLength?: number;
}

/** BERT's special tokens, in bert-base-uncased's order of importance. */
export const BERT_SPECIAL_TOKENS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] as const;

/** BERT's pre-tokenization: whitespace split, punctuation characters as their own words. */
export function bertWords(text: string, lowercase = true): string[] {
  let t = text;
  if (lowercase) t = t.toLowerCase().normalize('NFD').replace(/\p{Mn}/gu, '');
  return t.split(/\s+/u).flatMap((w) => w.split(/(\p{P}|\p{S})/u)).filter((w) => w.length > 0);
}

/** Builds a WordPiece vocabulary (one token per entry; the index is the id). */
export function buildWordPieceVocab(texts: Iterable<string>, options: BuildVocabOptions = {}): string[] {
  const size = options.vocabSize ?? 8000;
  const lowercase = options.lowercase ?? true;
  const maxSuffix = options.maxSuffixLength ?? 4;
  const share = options.suffixShare ?? 0.2;
  if (!Number.isSafeInteger(size) || size < 1) throw new TransferKitError('E_BAD_OPTION', `vocabSize must be a positive integer. Received: vocabSize=${size}.`);
  checkLimit('maxVocabSize', size, 'buildWordPieceVocab: vocabSize');
  if (!Number.isSafeInteger(maxSuffix) || maxSuffix < 1 || maxSuffix > 100) throw new TransferKitError('E_BAD_OPTION', `maxSuffixLength must be an integer in [1, 100]. Received: maxSuffixLength=${maxSuffix}.`);
  if (typeof share !== 'number' || !(share >= 0 && share <= 1)) throw new TransferKitError('E_BAD_OPTION', `suffixShare must be a number in [0, 1]. Received: suffixShare=${share}.`);
  const words = new Map<string, number>();
  for (const text of texts) for (const w of bertWords(text, lowercase)) words.set(w, (words.get(w) ?? 0) + 1);
  const chars = new Map<string, number>();
  const suffixes = new Map<string, number>();
  for (const [w, n] of words) {
    for (const c of w) chars.set(c, (chars.get(c) ?? 0) + n);
    const cs = [...w];
    for (let k = 2; k <= maxSuffix && k < cs.length; k++) {
      const s = `##${cs.slice(cs.length - k).join('')}`;
      suffixes.set(s, (suffixes.get(s) ?? 0) + n);
    }
  }
  const charList = [...chars.keys()].sort();
  const vocab: string[] = [...BERT_SPECIAL_TOKENS, ...charList, ...charList.map((c) => `##${c}`)];
  if (vocab.length > size) {
    throw new TransferKitError('E_BAD_OPTION', `vocabSize ${size} is smaller than the ${vocab.length} special and character tokens the corpus needs. Use vocabSize >= ${vocab.length + 100}.`);
  }
  const have = new Set(vocab);
  const byCount = (m: Map<string, number>): string[] => [...m.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([k]) => k).filter((k) => !have.has(k));
  const room = size - vocab.length;
  const nSuffix = Math.floor(room * share);
  for (const s of byCount(suffixes).slice(0, nSuffix)) {
    vocab.push(s);
    have.add(s);
  }
  for (const w of byCount(words)) {
    if (vocab.length >= size) break;
    vocab.push(w);
    have.add(w);
  }
  return vocab;
}
