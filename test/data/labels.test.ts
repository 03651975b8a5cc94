/**
 * Labels checked at the door of training: fineTune used to train on class labels -1 and NaN
 * (tf.oneHot(-1) is a zero row, an Int32Array turns NaN into class 0) and a stratified split
 * silently dropped such rows. Every entry refuses the first bad label with E_DATA naming the row,
 * the value and the allowed range, without allocating (or leaking) tensors.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { fineTune, replaceHead, useBackend, type LabeledData } from '../../src/index.js';
import { buildTextModel, fineTuneText, TextTokenizer } from '../../src/entries/text.js';
import { foldIndices, splitIndices } from '../../src/entries/datasets_portable.js';
import { trainValSplit } from '../../src/data/split.js';
import { checkClassLabels, checkLabels, checkTargetValues } from '../../src/data/labels.js';
import { quadrantImages, tinyHeaded, tinyPretrained } from '../helpers/tiny_model.js';

beforeAll(async () => {
  await useBackend('cpu');
});

const FAST = { headEpochs: 1, epochs: 0, batchSize: 4, progress: 'silent' } as const;

describe('checkClassLabels and checkTargetValues', () => {
  it('accept integers in range and refuse the first bad label, naming row, value and range', () => {
    expect(() => checkClassLabels('x', Int32Array.from([0, 1, 2]), 3)).not.toThrow();
    expect(() => checkClassLabels('x', [0, 1, -1, 5], 3)).toThrow(expect.objectContaining({ code: 'E_DATA', message: expect.stringMatching(/row 2 is negative\. Class labels must be integers in \[0, 3\) \(3 classes\)\. Received: labels\[2\]=-1\./) }));
    expect(() => checkClassLabels('x', [0, NaN], 3)).toThrow(/row 1 is NaN.*Received: labels\[1\]=NaN/);
    expect(() => checkClassLabels('x', [0, 1.5], 3)).toThrow(/row 1 is not an integer.*labels\[1\]=1\.5/);
    expect(() => checkClassLabels('x', [0, '1' as unknown as number], 3)).toThrow(/row 1 is not a number \(string\).*labels\[1\]="1"/);
    // Too large: the fix names the class count the largest label needs.
    expect(() => checkClassLabels('x', [0, 3, 7, 1], 3)).toThrow(/label 3 at row 1 is out of range.*in \[0, 3\).*Give the model 8 classes/);
    expect(() => checkClassLabels('x', undefined as unknown as number[], 3)).toThrow(/x has no labels/);
  });

  it('targets: finite (regression), in [0, 1] (classification), naming row and output', () => {
    expect(() => checkTargetValues('x', Float32Array.from([0.5, -3, 1e6, 2]), 2, false)).not.toThrow();
    expect(() => checkTargetValues('x', Float32Array.from([0, 1, 2, NaN]), 2, false)).toThrow(expect.objectContaining({ code: 'E_DATA', message: expect.stringMatching(/target at row 1 \(output 1\) is NaN.*Regression targets must be finite numbers\. Received: targets\[1\]\[1\]=NaN/) }));
    expect(() => checkTargetValues('x', Float32Array.from([0, Infinity]), 1, false)).toThrow(/row 1 is infinite.*targets\[1\]=Infinity/);
    expect(() => checkTargetValues('x', Float32Array.from([0, 1, 1, 2]), 2, true)).toThrow(/row 1 \(output 1\) is outside \[0, 1\].*targets\[1\]\[1\]=2/);
  });
});

describe('fineTune refuses bad labels before training', () => {
  it('image head: -1 and NaN labels, in training or validation data, are E_DATA naming the row; no tensor leaks', async () => {
    const model = await tinyHeaded(1); // 3 classes
    const data = quadrantImages(8);
    const before = tf.memory().numTensors;
    const negative = { ...data, labels: Int32Array.from([0, 1, -1, 0, 1, 2, 0, 1]) };
    await expect(fineTune(model, negative, FAST)).rejects.toMatchObject({
      code: 'E_DATA',
      message: expect.stringMatching(/fineTune: training data: the label at row 2 is negative\. Class labels must be integers in \[0, 3\) \(3 classes\)\. Received: labels\[2\]=-1\./),
    });
    // A plain array may hold NaN (a missing label): an Int32Array would have made it class 0.
    const nan = { ...data, labels: [0, 1, 2, 0, NaN, 2, 0, 1] as unknown as Int32Array };
    await expect(fineTune(model, nan, FAST)).rejects.toMatchObject({ code: 'E_DATA', message: expect.stringMatching(/row 4 is NaN.*labels\[4\]=NaN/) });
    await expect(fineTune(model, data, { ...FAST, validation: negative })).rejects.toMatchObject({ code: 'E_DATA', message: expect.stringMatching(/fineTune: validation data: the label at row 2/) });
    // Too large keeps its fix: replaceHead with enough classes.
    await expect(fineTune(model, { ...data, labels: Int32Array.from(data.labels, () => 7) }, FAST)).rejects.toMatchObject({ code: 'E_DATA', message: expect.stringContaining('numClasses: 8') });
    expect(tf.memory().numTensors).toBe(before);
    data.xs.dispose();
  });

  it('regression and multilabel targets: NaN / out-of-range values are refused naming row and output; the read leaks nothing', async () => {
    const base = await tinyPretrained(2);
    const { xs } = quadrantImages(6);
    const regression = replaceHead(base, { numClasses: 2, task: 'regression', seed: 1 });
    const values = new Float32Array(12).fill(0.5);
    values[7] = NaN; // row 3, output 1
    const targets = tf.tensor2d(values, [6, 2]);
    const multilabel = replaceHead(base, { numClasses: 2, task: 'multilabel', seed: 1 });
    const twos = tf.fill([6, 2], 2);
    const before = tf.memory().numTensors;
    await expect(fineTune(regression, { xs, labels: new Int32Array(6), classNames: [], targets }, FAST)).rejects.toMatchObject({
      code: 'E_DATA',
      message: expect.stringMatching(/training data: the target at row 3 \(output 1\) is NaN.*Received: targets\[3\]\[1\]=NaN/),
    });
    await expect(fineTune(multilabel, { xs, labels: new Int32Array(6), classNames: [], targets: twos }, FAST)).rejects.toMatchObject({ code: 'E_DATA', message: expect.stringMatching(/row 0 \(output 0\) is outside \[0, 1\]/) });
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([xs, targets, twos]);
  });

  it('text models: a NaN regression label and a -1 class label are refused naming the row', async () => {
    const vocab = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'good', 'bad'];
    const config = { model_type: 'bert', vocab_size: vocab.length, hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 16, max_position_embeddings: 16 } as const;
    const reg = buildTextModel(config, { task: 'sequence-classification', numLabels: 1, seed: 1 });
    reg.tokenizer = TextTokenizer.fromVocab(vocab);
    expect(reg.problemType).toBe('regression');
    await expect(fineTuneText(reg, { texts: ['good', 'bad', 'good'], labels: [0.5, 1, NaN] }, { epochs: 1, progress: 'silent' })).rejects.toMatchObject({
      code: 'E_DATA',
      message: expect.stringMatching(/fineTuneText: training data: the regression label at row 2 is not a finite number.*labels\[2\]=NaN/),
    });
    const cls = buildTextModel(config, { task: 'sequence-classification', numLabels: 2, seed: 1 });
    cls.tokenizer = TextTokenizer.fromVocab(vocab);
    await expect(fineTuneText(cls, { texts: ['good', 'bad'], labels: [0, -1] }, { epochs: 1, progress: 'silent' })).rejects.toMatchObject({ code: 'E_DATA', message: expect.stringMatching(/#1|row 1/) });
    reg.model.dispose();
    cls.model.dispose();
  });

  it('checkLabels leaves streams to the loop and multilabel data without targets to the feeder', async () => {
    const model = await tinyHeaded(3);
    await expect(checkLabels('t', model, { batches: () => [] })).resolves.toBeUndefined();
    const ml = replaceHead(await tinyPretrained(3), { numClasses: 2, task: 'multilabel', seed: 1 });
    await expect(checkLabels('t', ml, { xs: tf.zeros([1, 16, 16, 3]), labels: Int32Array.from([-5]), classNames: [] })).resolves.toBeUndefined();
  });
});

describe('streamed batches', () => {
  it('fineTune on a stream refuses a batch with label -1 (tf.oneHot made it an all-zero row), without leaks', async () => {
    const model = await tinyHeaded(4);
    const { xs, labels } = quadrantImages(8);
    const before = tf.memory().numTensors;
    const batches = () => [0, 4].map((i) => ({ xs: xs.slice(i, 4), labels: i === 4 ? Int32Array.from([0, 1, -1, 2]) : labels.slice(i, i + 4) }));
    await expect(fineTune(model, { batches, stepsPerEpoch: 2 }, FAST)).rejects.toMatchObject({ code: 'E_DATA', message: expect.stringMatching(/stream, batch 1: the label at example 2 is negative/) });
    expect(tf.memory().numTensors).toBe(before);
    xs.dispose();
    model.model.dispose();
  });
});

describe('splits refuse labels outside [0, numClasses) instead of dropping their rows', () => {
  it('splitIndices, foldIndices and trainValSplit', () => {
    // Before: row 2 (label -1) was in neither part.
    expect(() => splitIndices([0, 1, -1, 1, 0], 2, 0.4)).toThrow(expect.objectContaining({ code: 'E_DATA', message: expect.stringMatching(/splitIndices: the label at row 2 is negative.*\[0, 2\)/) }));
    expect(() => splitIndices([0, 1, 2, 1], 2, 0.5)).toThrow(/label 2 at row 2 is out of range.*Pass numClasses=3/);
    expect(() => foldIndices([0, 1, NaN, 1], 2, 2, 0)).toThrow(/foldIndices: the label at row 2 is NaN/);
    const [tr, va] = splitIndices([0, 1, 1, 0, 1], 2, 0.4);
    expect([...tr, ...va].sort()).toEqual([0, 1, 2, 3, 4]);
    const xs = tf.zeros([4, 2]);
    const data: LabeledData = { xs, labels: Int32Array.from([0, 1, -1, 1]), classNames: ['a', 'b'] };
    expect(() => trainValSplit(data, 0.5)).toThrow(/trainValSplit: the label at row 2 is negative/);
    // Labels beyond the class names are split, not dropped.
    const wide = trainValSplit({ ...data, labels: Int32Array.from([0, 2, 2, 0]) }, 0.5);
    expect(wide[0].xs.shape[0] + wide[1].xs.shape[0]).toBe(4);
    tf.dispose([xs, ...wide.map((d) => d.xs)]);
  });
});
