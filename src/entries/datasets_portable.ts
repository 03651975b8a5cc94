/**
 * `transferkit/datasets` for pages (the "browser" export condition): everything of the Node entry that does not read or write local files.
 * @packageDocumentation
 */
export { splitIndices, foldIndices, subset } from '../data/split.js';
export { parseReviews, reviewText, type Review } from '../data/text/reviews.js';
export { BagOfWords, tokenizeWords, ngrams, type BagOfWordsOptions, type TermWeighting } from '../data/text/bag_of_words.js';
export { parseIdx, type IdxArray } from '../data/datasets/idx.js';
export { makeMnistM, type MnistMOptions } from '../data/datasets/mnist_m.js';
