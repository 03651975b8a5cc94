/** Metrics against values worked out by hand (and scikit-learn's conventions). */
import { describe, expect, it } from 'vitest';
import { classificationReport, confusionMatrix } from '../../src/index.js';
import { rocAuc, topKAccuracy } from '../../src/entries/train.js';

describe('classification metrics', () => {
  const labels = [0, 0, 1, 1, 2, 2];
  const preds = [0, 1, 1, 1, 0, 2];
  it('confusion matrix (rows = truth, columns = prediction)', () => {
    expect(confusionMatrix(labels, preds, 3)).toEqual([[1, 1, 0], [0, 2, 0], [1, 0, 1]]);
  });
  it('precision, recall, F1 per class and macro', () => {
    const r = classificationReport(labels, preds, 3);
    // class 0: P 1/2, R 1/2; class 1: P 2/3, R 1; class 2: P 1, R 1/2
    expect(r.precision).toEqual([0.5, 2 / 3, 1]);
    expect(r.recall).toEqual([0.5, 1, 0.5]);
    expect(r.f1[1]).toBeCloseTo(0.8, 12); // 2 (2/3)(1) / (5/3)
    expect(r.f1[2]).toBeCloseTo(2 / 3, 12);
    expect(r.macroF1).toBeCloseTo((0.5 + 0.8 + 2 / 3) / 3, 12);
    expect(r.accuracy).toBeCloseTo(4 / 6, 12);
    expect(r.support).toEqual([2, 2, 2]);
  });
  it('a class never predicted scores precision 0 (zero_division=0)', () => {
    expect(classificationReport([0, 1], [0, 0], 2).precision).toEqual([0.5, 0]);
  });
  it('top-k accuracy', () => {
    const probs = [[0.5, 0.3, 0.2], [0.5, 0.3, 0.2], [0.1, 0.2, 0.7]];
    expect(topKAccuracy([1, 2, 0], probs, 1)).toBe(0);
    expect(topKAccuracy([1, 2, 0], probs, 2)).toBeCloseTo(1 / 3, 12); // only the first: class 1 is 2nd
    expect(topKAccuracy([1, 2, 0], probs, 3)).toBe(1);
  });
  it('ROC AUC = P(positive scores above negative), ties count 1/2', () => {
    // positives 0.8, 0.4; negatives 0.6, 0.4, 0.1: pairs won 1+1+1, 0+0.5+1 -> 4.5 / 6
    expect(rocAuc([1, 0, 1, 0, 0], [0.8, 0.6, 0.4, 0.4, 0.1])).toBeCloseTo(0.75, 12);
    expect(rocAuc([0, 1], [0.2, 0.9])).toBe(1);
    expect(() => rocAuc([1, 1], [0.2, 0.9])).toThrow(/needs both classes/);
  });
});
