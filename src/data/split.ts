/**
 * Seeded, stratified train/validation split (as scikit-learn's `train_test_split(stratify=y)`).
 */
import * as tf from '@tensorflow/tfjs-core';
import { TransferKitError } from '../errors.js';
import { mulberry32, permutation } from '../utils/random.js';
import type { LabeledData } from './dataset.js';
import { checkClassLabels } from './labels.js';

/** The per-example labels of `data` (zeros for target-only data) and a class count that covers them. */
function splitLabels(data: LabeledData): { labels: ArrayLike<number>; numClasses: number } {
  // Data with targets and no per-example labels (multilabel, regression) is split as one group.
  const labels = data.labels.length === data.xs.shape[0] ? data.labels : new Int32Array(data.xs.shape[0]);
  let max = -1;
  for (let i = 0; i < labels.length; i++) if (labels[i] > max) max = labels[i];
  return { labels, numClasses: Math.max(1, data.classNames.length, max + 1) };
}

/** Keeps the rows `idx` of `data` (a new tensor; `data` is untouched). */
export function subset<T extends LabeledData>(data: T, idx: ArrayLike<number>): LabeledData {
  const i = tf.tensor1d(Int32Array.from(idx), 'int32');
  const xs = tf.gather(data.xs, i);
  const targets = data.targets !== undefined ? tf.gather(data.targets, i) : undefined;
  i.dispose();
  const labels = data.labels.length === data.xs.shape[0] ? Int32Array.from(Array.from(idx, (k) => data.labels[k])) : new Int32Array(idx.length);
  return { xs, labels, classNames: data.classNames, ...(targets !== undefined ? { targets } : {}) };
}

/**
 * Splits `data` into train and validation parts, keeping each class's proportion; the same
 * `seed` gives the same split.
 * @returns `[train, val]` (new tensors; dispose `data.xs` yourself if no longer needed).
 */
export function trainValSplit(data: LabeledData, valFraction = 0.2, seed = 42): [LabeledData, LabeledData] {
  const { labels, numClasses } = splitLabels(data);
  const [train, val] = stratifiedSplit('trainValSplit', labels, numClasses, valFraction, seed);
  return [subset(data, train), subset(data, val)];
}

/**
 * The row indices of {@link trainValSplit}'s two parts (ascending), for data kept outside tensors
 * (file lists, texts): stratified by `labels` in [0, numClasses), seeded.
 */
export function splitIndices(labels: ArrayLike<number>, numClasses: number, valFraction = 0.2, seed = 42): [number[], number[]] {
  return stratifiedSplit('splitIndices', labels, numClasses, valFraction, seed);
}

function stratifiedSplit(what: string, labels: ArrayLike<number>, numClasses: number, valFraction: number, seed: number): [number[], number[]] {
  if (!(valFraction > 0 && valFraction < 1)) {
    throw new TransferKitError('E_BAD_OPTION', `valFraction must be in (0, 1). Received: valFraction=${valFraction}.`);
  }
  // A label outside [0, numClasses) would silently drop its row from both parts.
  checkClassLabels(what, labels, numClasses, { tooManyFix: (n) => `Pass numClasses=${n} (the largest label is ${n - 1}), or fix the labels.` });
  const rand = mulberry32(seed);
  const train: number[] = [];
  const val: number[] = [];
  for (let c = 0; c < numClasses; c++) {
    const rows: number[] = [];
    Array.prototype.forEach.call(labels, (l: number, i: number) => l === c && rows.push(i));
    const order = permutation(rows.length, rand);
    const nVal = Math.round(rows.length * valFraction);
    order.forEach((o, k) => (k < nVal ? val : train).push(rows[o]));
  }
  train.sort((a, b) => a - b);
  val.sort((a, b) => a - b);
  return [train, val];
}

/**
 * The row indices of fold `fold` of a seeded, stratified k-fold split (as scikit-learn's
 * `StratifiedKFold(n_splits=k, shuffle=True)`): every row is in exactly one validation fold, and
 * each class's rows are dealt round-robin over the folds, so per class the folds differ by at most
 * one row. The same `seed` and `k` give the same folds.
 * @returns `[train, val]` for fold `fold` in [0, k) (ascending indices).
 */
export function foldIndices(labels: ArrayLike<number>, numClasses: number, k: number, fold: number, seed = 42): [number[], number[]] {
  return stratifiedFolds('foldIndices', labels, numClasses, k, fold, seed);
}

function stratifiedFolds(what: string, labels: ArrayLike<number>, numClasses: number, k: number, fold: number, seed: number): [number[], number[]] {
  if (!(Number.isInteger(k) && k >= 2)) {
    throw new TransferKitError('E_BAD_OPTION', `k (the number of folds) must be an integer >= 2. Received: k=${k}.`);
  }
  if (!(Number.isInteger(fold) && fold >= 0 && fold < k)) {
    throw new TransferKitError('E_BAD_OPTION', `fold must be an integer in [0, ${k}). Received: fold=${fold}.`);
  }
  checkClassLabels(what, labels, numClasses, { tooManyFix: (n) => `Pass numClasses=${n} (the largest label is ${n - 1}), or fix the labels.` });
  const rand = mulberry32(seed);
  const train: number[] = [];
  const val: number[] = [];
  // The deal of each class starts where the previous class's ended, so the folds' totals also
  // differ by at most one row (scikit-learn balances them the same way).
  let dealt = 0;
  for (let c = 0; c < numClasses; c++) {
    const rows: number[] = [];
    Array.prototype.forEach.call(labels, (l: number, i: number) => l === c && rows.push(i));
    permutation(rows.length, rand).forEach((o) => ((dealt++ % k) === fold ? val : train).push(rows[o]));
  }
  if (val.length === 0) {
    throw new TransferKitError('E_BAD_OPTION', `fold ${fold} of ${k} is empty: there are only ${labels.length} rows. Use fewer folds.`);
  }
  train.sort((a, b) => a - b);
  val.sort((a, b) => a - b);
  return [train, val];
}

/**
 * Fold `fold` of a seeded, stratified k-fold split of `data` (see {@link foldIndices}): for
 * cross-validation, where a single validation split of a small data set is too noisy to compare
 * recipes. Running every fold validates each example exactly once.
 * @returns `[train, val]` (new tensors; dispose `data.xs` yourself if no longer needed).
 */
export function kFoldSplit(data: LabeledData, k: number, fold: number, seed = 42): [LabeledData, LabeledData] {
  const { labels, numClasses } = splitLabels(data);
  const [train, val] = stratifiedFolds('kFoldSplit', labels, numClasses, k, fold, seed);
  return [subset(data, train), subset(data, val)];
}
