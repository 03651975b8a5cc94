/**
 * `transferkit/datasets`: Data sets and benchmark helpers: MNIST and MNIST-M, the Multi-Domain Sentiment reviews, TweetEval lines, bag-of-words features, index splits and folds.
 * @packageDocumentation
 */
export * from './datasets_portable.js';

// Node only: local files.
export { loadReviewFolder, loadReviewTexts, loadTextLines, type TextData } from '../data/text/load_text.js';
export { loadMnist, makeMnistMFromFolder, type MnistData } from '../data/datasets/load_mnist.js';
