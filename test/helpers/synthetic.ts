/**
 * Small seeded data sets that a correct training path must learn, shared by the tests:
 * sentiment texts whose label is in one word, and two Gaussian blobs (optionally shifted, as a
 * covariate-shifted target domain).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LabeledData } from '../../src/index.js';
import { mulberry32 } from '../../src/utils/random.js';

/** A WordPiece vocabulary covering {@link sentimentTexts}. */
export const SENTIMENT_VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'the', 'film', 'book', 'story', 'is', 'was', 'very', 'quite', 'good', 'great', 'fine', 'bad', 'awful', 'poor', 'and', 'plot', 'acting'];

/** `n` texts of `minWords`..`minWords + 5` filler words with one sentiment word somewhere; label 1 for positive. */
export function sentimentTexts(n: number, seed: number, minWords = 4): { texts: string[]; labels: number[] } {
  const r = mulberry32(seed);
  const pick = (xs: readonly string[]): string => xs[Math.floor(r() * xs.length)];
  const filler = SENTIMENT_VOCAB.slice(5, 13);
  const out = { texts: [] as string[], labels: [] as number[] };
  for (let i = 0; i < n; i++) {
    const y = r() < 0.5 ? 0 : 1;
    const words = Array.from({ length: minWords + Math.floor(r() * 6) }, () => pick(filler));
    words.splice(Math.floor(r() * words.length), 0, pick(y ? ['good', 'great', 'fine'] : ['bad', 'awful', 'poor']));
    out.texts.push(words.join(' '));
    out.labels.push(y);
  }
  return out;
}

/** Two Gaussian classes around x = -1 and x = +1 (sd 0.4), every point moved by `shift` on both axes. */
export function blobs(n: number, shift: number, seed: number): LabeledData {
  const r = mulberry32(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  const xs: number[] = [];
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % 2;
    labels[i] = c;
    xs.push((c === 0 ? -1 : 1) + 0.4 * gauss() + shift, 0.4 * gauss() + shift);
  }
  return { xs: tf.tensor2d(xs, [n, 2]), labels, classNames: ['neg', 'pos'] };
}
