/**
 * Bag-of-words features: the representation of the Amazon-reviews domain-adaptation protocol
 * ("the 5000 most frequent unigrams and bigrams", Chen et al. 2012, used by Ganin et al. 2016).
 */
import * as tf from '@tensorflow/tfjs-core';
import { TransferKitError } from '../../errors.js';

/** How a term's count becomes a feature. */
export type TermWeighting = 'count' | 'binary' | 'log';

/** Options of {@link BagOfWords}. */
export interface BagOfWordsOptions {
  /** Keep the most frequent terms only (default 5000). Ties break alphabetically, so the vocabulary is deterministic. */
  maxFeatures?: number;
  /** n-gram sizes, inclusive (default [1, 2]: unigrams and bigrams). */
  ngramRange?: [number, number];
  /** Feature value: raw count (default), 1/0 presence, or log(1 + count). */
  weighting?: TermWeighting;
  /** Lower-case before tokenising (default true). */
  lowercase?: boolean;
}

/** Lower-cased word tokens: runs of letters/digits, keeping inner apostrophes ("don't"). */
export function tokenizeWords(text: string, lowercase = true): string[] {
  const t = lowercase ? text.toLowerCase() : text;
  return t.match(/[\p{L}\p{N}]+(?:'[\p{L}]+)*/gu) ?? [];
}

/** The n-grams of `tokens` for n in [lo, hi], joined by a space. */
export function ngrams(tokens: string[], lo: number, hi: number): string[] {
  const out: string[] = [];
  for (let n = lo; n <= hi; n++) for (let i = 0; i + n <= tokens.length; i++) out.push(tokens.slice(i, i + n).join(' '));
  return out;
}

/** A fitted vocabulary of n-grams and the vectoriser that uses it (as scikit-learn's `CountVectorizer(max_features, ngram_range)`). */
export class BagOfWords {
  readonly options: Required<BagOfWordsOptions>;
  private vocab: Map<string, number> | null = null;

  constructor(options: BagOfWordsOptions = {}) {
    this.options = { maxFeatures: 5000, ngramRange: [1, 2], weighting: 'count', lowercase: true, ...options };
    const [lo, hi] = this.options.ngramRange;
    if (!(Number.isInteger(lo) && Number.isInteger(hi) && lo >= 1 && hi >= lo)) throw new TransferKitError('E_BAD_OPTION', `BagOfWords: ngramRange must be [lo, hi] with 1 <= lo <= hi. Received: ngramRange=${JSON.stringify(this.options.ngramRange)}.`);
    if (!(Number.isInteger(this.options.maxFeatures) && this.options.maxFeatures > 0)) throw new TransferKitError('E_BAD_OPTION', `BagOfWords: maxFeatures must be an integer > 0. Received: maxFeatures=${this.options.maxFeatures}.`);
  }

  private terms(text: string): string[] {
    return ngrams(tokenizeWords(text, this.options.lowercase), this.options.ngramRange[0], this.options.ngramRange[1]);
  }

  /** Builds the vocabulary: the `maxFeatures` terms with the highest total count over `texts`. */
  fit(texts: string[]): this {
    const counts = new Map<string, number>();
    for (const t of texts) for (const term of this.terms(t)) counts.set(term, (counts.get(term) ?? 0) + 1);
    const top = [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).slice(0, this.options.maxFeatures);
    this.vocab = new Map(top.map(([term], i) => [term, i]));
    return this;
  }

  /** The vocabulary, index = feature column. */
  get vocabulary(): string[] {
    if (this.vocab === null) throw new TransferKitError('E_BAD_OPTION', 'BagOfWords: call fit(texts) before reading the vocabulary.');
    return [...this.vocab.keys()];
  }

  /** Feature rows [texts.length, vocabulary size] as a Float32Array (row-major). */
  transformArray(texts: string[]): Float32Array {
    if (this.vocab === null) throw new TransferKitError('E_BAD_OPTION', 'BagOfWords: call fit(texts) before transform(texts).');
    const d = this.vocab.size;
    const out = new Float32Array(texts.length * d);
    texts.forEach((t, r) => {
      for (const term of this.terms(t)) {
        const j = this.vocab?.get(term);
        if (j !== undefined) out[r * d + j] += 1;
      }
    });
    if (this.options.weighting === 'binary') for (let i = 0; i < out.length; i++) out[i] = out[i] > 0 ? 1 : 0;
    else if (this.options.weighting === 'log') for (let i = 0; i < out.length; i++) out[i] = Math.log1p(out[i]);
    return out;
  }

  /** Feature rows as a tensor [texts.length, vocabulary size]. */
  transform(texts: string[]): tf.Tensor2D {
    return tf.tensor2d(this.transformArray(texts), [texts.length, this.vocabulary.length]);
  }
}
