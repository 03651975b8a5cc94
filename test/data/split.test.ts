import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { kFoldSplit, useBackend } from '../../src/index.js';
import { foldIndices } from '../../src/entries/datasets.js';

// 23 rows of class 0, 17 of class 1, 5 of class 2, interleaved.
const labels = Int32Array.from({ length: 45 }, (_, i) => (i < 15 ? i % 2 : i < 40 ? (i % 3 === 0 ? 1 : 0) : 2));
const count = (rows: number[], c: number) => rows.filter((r) => labels[r] === c).length;

describe('foldIndices (stratified k-fold)', () => {
  it('puts every row in exactly one validation fold, and each train part is the rest', () => {
    const seen = new Array<number>(labels.length).fill(0);
    for (let f = 0; f < 5; f++) {
      const [train, val] = foldIndices(labels, 3, 5, f, 7);
      val.forEach((r) => seen[r]++);
      expect(new Set([...train, ...val]).size).toBe(labels.length);
      expect(train.length + val.length).toBe(labels.length);
      expect(train).toEqual([...train].sort((a, b) => a - b));
    }
    expect(seen.every((n) => n === 1)).toBe(true);
  });

  it('keeps each class within one row of an even share per fold, and fold sizes within one', () => {
    const folds = Array.from({ length: 4 }, (_, f) => foldIndices(labels, 3, 4, f, 3)[1]);
    for (let c = 0; c < 3; c++) {
      const per = folds.map((v) => count(v, c));
      expect(Math.max(...per) - Math.min(...per)).toBeLessThanOrEqual(1);
    }
    const sizes = folds.map((v) => v.length);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
  });

  it('is seeded: the same seed gives the same folds, another seed other folds', () => {
    expect(foldIndices(labels, 3, 5, 2, 11)).toEqual(foldIndices(labels, 3, 5, 2, 11));
    expect(foldIndices(labels, 3, 5, 2, 11)[1]).not.toEqual(foldIndices(labels, 3, 5, 2, 12)[1]);
    // Shuffled: not class 0's rows dealt in index order (rows 0, 10, 20, ... of class 0 in fold 0).
    const class0 = Array.from(labels.keys()).filter((r) => labels[r] === 0);
    const inOrder = class0.filter((_, j) => j % 5 === 0);
    expect(foldIndices(labels, 3, 5, 0, 11)[1].filter((r) => labels[r] === 0)).not.toEqual(inOrder);
  });

  it('rejects a bad k or fold with a coded error naming it', () => {
    expect(() => foldIndices(labels, 3, 1, 0)).toThrow(/k \(the number of folds\) must be an integer >= 2.*k=1/);
    expect(() => foldIndices(labels, 3, 5, 5)).toThrow(/fold must be an integer in \[0, 5\).*fold=5/);
    expect(() => foldIndices(labels, 3, 2.5, 0)).toThrow(/E_BAD_OPTION|k \(the number/);
    expect(() => foldIndices(Int32Array.from([0, 1]), 2, 3, 2)).toThrow(/fold 2 of 3 is empty.*Use fewer folds/);
  });
});

describe('kFoldSplit', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  it('gathers the rows of foldIndices into new tensors, labels aligned', () => {
    const xs = tf.tensor2d(Array.from(labels, (l, i) => [i, l]));
    const data = { xs, labels, classNames: ['a', 'b', 'c'] };
    const before = tf.memory().numTensors;
    const [train, val] = kFoldSplit(data, 5, 1, 9);
    const [ti, vi] = foldIndices(labels, 3, 5, 1, 9);
    expect(Array.from(val.labels)).toEqual(vi.map((r) => labels[r]));
    expect((val.xs.arraySync() as number[][]).map((row) => row[0])).toEqual(vi);
    expect((train.xs.arraySync() as number[][]).map((row) => row[0])).toEqual(ti);
    expect(train.classNames).toEqual(['a', 'b', 'c']);
    train.xs.dispose();
    val.xs.dispose();
    expect(tf.memory().numTensors).toBe(before);
    xs.dispose();
  });
});
