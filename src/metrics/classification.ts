/**
 * Classification metrics computed from labels and predicted probabilities (plain arrays, so they
 * run anywhere and are easy to check by hand).
 *
 * Reference: scikit-learn `confusion_matrix`, `precision_recall_fscore_support` (a class with no
 * predicted/true examples scores 0, as `zero_division=0`), `f1_score(average='macro')`,
 * `top_k_accuracy_score`, `roc_auc_score` (ties count one half, as the Mann-Whitney statistic).
 */
import { TransferKitError } from '../errors.js';

/** Per-class and averaged figures. */
export interface ClassificationReport {
  accuracy: number;
  /** confusion[i][j]: examples of true class i predicted as j. */
  confusion: number[][];
  precision: number[];
  recall: number[];
  f1: number[];
  /** Examples per true class. */
  support: number[];
  macroPrecision: number;
  macroRecall: number;
  macroF1: number;
}

function argmax(row: ArrayLike<number>): number {
  let k = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[k]) k = i;
  return k;
}

/** Confusion matrix of `labels` against `predictions` (class indices). */
export function confusionMatrix(labels: ArrayLike<number>, predictions: ArrayLike<number>, numClasses: number): number[][] {
  if (labels.length !== predictions.length) throw new TransferKitError('E_DATA', `confusionMatrix: ${labels.length} labels but ${predictions.length} predictions.`);
  const m = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  for (let i = 0; i < labels.length; i++) m[labels[i]][predictions[i]]++;
  return m;
}

/** Accuracy, confusion matrix, precision/recall/F1 per class and macro-averaged. */
export function classificationReport(labels: ArrayLike<number>, predictions: ArrayLike<number>, numClasses: number): ClassificationReport {
  const confusion = confusionMatrix(labels, predictions, numClasses);
  const support = confusion.map((row) => row.reduce((a, b) => a + b, 0));
  const predicted = confusion[0].map((_, j) => confusion.reduce((a, row) => a + row[j], 0));
  const precision = confusion.map((row, c) => (predicted[c] === 0 ? 0 : row[c] / predicted[c]));
  const recall = confusion.map((row, c) => (support[c] === 0 ? 0 : row[c] / support[c]));
  const f1 = precision.map((p, c) => (p + recall[c] === 0 ? 0 : (2 * p * recall[c]) / (p + recall[c])));
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  const correct = confusion.reduce((a, row, c) => a + row[c], 0);
  return { accuracy: labels.length === 0 ? 0 : correct / labels.length, confusion, precision, recall, f1, support, macroPrecision: mean(precision), macroRecall: mean(recall), macroF1: mean(f1) };
}

/** Fraction of examples whose label is among the `k` highest-scored classes. */
export function topKAccuracy(labels: ArrayLike<number>, probs: ArrayLike<number>[], k: number): number {
  let hits = 0;
  for (let i = 0; i < labels.length; i++) {
    const p = probs[i];
    const target = p[labels[i]];
    let above = 0;
    for (let c = 0; c < p.length; c++) if (p[c] > target) above++;
    if (above < k) hits++;
  }
  return labels.length === 0 ? 0 : hits / labels.length;
}

/** Area under the ROC curve for a binary task: P(score of a positive > score of a negative), ties 1/2. */
export function rocAuc(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  const pos: number[] = [];
  const neg: number[] = [];
  for (let i = 0; i < labels.length; i++) (labels[i] === 1 ? pos : neg).push(scores[i]);
  if (pos.length === 0 || neg.length === 0) {
    throw new TransferKitError('E_DATA', `rocAuc needs both classes; got ${pos.length} positive and ${neg.length} negative examples.`);
  }
  // Rank-based (Mann-Whitney U) with average ranks for ties: O(n log n).
  const all = [...pos.map((s) => [s, 1] as const), ...neg.map((s) => [s, 0] as const)].sort((a, b) => a[0] - b[0]);
  let rankSumPos = 0;
  for (let i = 0; i < all.length; ) {
    let j = i;
    while (j < all.length && all[j][0] === all[i][0]) j++;
    const avgRank = (i + 1 + j) / 2;
    for (let k = i; k < j; k++) if (all[k][1] === 1) rankSumPos += avgRank;
    i = j;
  }
  return (rankSumPos - (pos.length * (pos.length + 1)) / 2) / (pos.length * neg.length);
}

/** Predicted class per row of probabilities. */
export function argmaxRows(probs: ArrayLike<number>[]): Int32Array {
  return Int32Array.from(probs, (row) => argmax(row));
}
