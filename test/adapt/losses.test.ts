/**
 * Adaptation losses against hand-computed values and naive float64 re-implementations of the
 * published formulas (Deep CORAL, tllib's MK-MMD, entropy, self-training, DANN's loss).
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/index.js';
import { coralLoss, domainAdversarialLoss, entropyLoss, mkmmdLoss, mmdIndexMatrix, predictionEntropy, pseudoLabels, selfTrainingLoss } from '../../src/entries/adapt.js';

beforeAll(async () => {
  await useBackend('cpu');
});

const val = (t: tf.Tensor) => {
  const v = t.dataSync()[0];
  t.dispose();
  return v;
};

/** Unbiased covariance of rows, float64. */
function cov(rows: number[][]): number[][] {
  const n = rows.length;
  const d = rows[0].length;
  const mean = Array.from({ length: d }, (_, j) => rows.reduce((a, r) => a + r[j], 0) / n);
  return Array.from({ length: d }, (_, i) => Array.from({ length: d }, (_, j) => rows.reduce((a, r) => a + (r[i] - mean[i]) * (r[j] - mean[j]), 0) / (n - 1)));
}

describe('coralLoss', () => {
  it('d = 1 by hand: variances 2 and 8 give (2-8)^2 / 4 = 9 (paper) and 1 + 36 = 37 (tllib)', () => {
    const fs = tf.tensor2d([[0], [2]]);
    const ft = tf.tensor2d([[0], [4]]);
    expect(val(coralLoss(fs, ft))).toBeCloseTo(9, 5);
    expect(val(coralLoss(fs, ft, 'tllib'))).toBeCloseTo(37, 5);
  });

  it('matches ||C_s - C_t||_F^2 / (4 d^2) on random matrices', () => {
    const a = [[1, 2, 0.5], [3, 4, -1], [5, 0, 2], [-1, 1, 1]];
    const b = [[0, 1, 1], [2, 2, 0], [1, 0, -2], [0.5, 3, 1], [2, -1, 0]];
    const cs = cov(a);
    const ct = cov(b);
    let fro = 0;
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) fro += (cs[i][j] - ct[i][j]) ** 2;
    expect(val(coralLoss(tf.tensor2d(a), tf.tensor2d(b)))).toBeCloseTo(fro / (4 * 9), 4);
    // Identical features: zero loss.
    expect(val(coralLoss(tf.tensor2d(a), tf.tensor2d(a)))).toBeCloseTo(0, 6);
  });

  it('rejects mismatched feature sizes and single-example batches with the shapes in the message', () => {
    expect(() => coralLoss(tf.zeros([4, 3]), tf.zeros([4, 2]))).toThrow(/\[4,3\].*\[4,2\]/);
    expect(() => coralLoss(tf.zeros([1, 3]), tf.zeros([4, 3]))).toThrow(/at least 2/);
  });
});

/** tllib's MK-MMD, naive float64 loops over the same formula. */
function mmdReference(xs: number[][], xt: number[][], alphas: number[], linear: boolean): number {
  const x = [...xs, ...xt];
  const n = x.length;
  const b = xs.length;
  const d2 = x.map((p) => x.map((q) => p.reduce((a, v, k) => a + (v - q[k]) ** 2, 0)));
  const meanD = d2.flat().reduce((a, v) => a + v, 0) / (n * n);
  const idx = mmdIndexMatrix(b, linear);
  let loss = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let k = 0;
      for (const al of alphas) k += Math.exp(-d2[i][j] / (2 * al * meanD));
      loss += k * idx[i * n + j];
    }
  }
  return loss + 2 / (b - 1);
}

describe('mkmmdLoss (tllib DAN)', () => {
  const xs = [[0.1, 1.2], [0.5, -0.3], [1.5, 0.2], [-0.7, 0.9]];
  const xt = [[2.1, 1.0], [1.7, -0.2], [3.0, 0.5], [2.2, 2.2]];

  it('index matrix: quadratic weights 1/(b(b-1)) within a domain (no diagonal), -1/b^2 across', () => {
    const m = mmdIndexMatrix(3, false);
    expect(m[0]).toBe(0);
    expect(m[1]).toBeCloseTo(1 / 6, 7);
    expect(m[3]).toBeCloseTo(-1 / 9, 7);
    expect(m[3 * 6 + 4]).toBeCloseTo(1 / 6, 7);
    const sum = Array.from(m).reduce((a, v) => a + v, 0);
    expect(sum).toBeCloseTo(2 - 2, 6); // 2 * b(b-1) * 1/(b(b-1)) - 2 * b^2 / b^2
  });

  it('matches the naive formula for the default kernel bank, one kernel, and the linear version', () => {
    const bank = [0.125, 0.25, 0.5, 1, 2];
    expect(val(mkmmdLoss(tf.tensor2d(xs), tf.tensor2d(xt)))).toBeCloseTo(mmdReference(xs, xt, bank, false), 4);
    expect(val(mkmmdLoss(tf.tensor2d(xs), tf.tensor2d(xt), { kernelAlphas: [1] }))).toBeCloseTo(mmdReference(xs, xt, [1], false), 5);
    expect(val(mkmmdLoss(tf.tensor2d(xs), tf.tensor2d(xt), { linear: true }))).toBeCloseTo(mmdReference(xs, xt, bank, true), 4);
  });

  it('is larger for shifted domains than for two samples of the same domain', () => {
    const same = val(mkmmdLoss(tf.tensor2d(xs), tf.tensor2d([[0.2, 1.0], [0.4, -0.1], [1.2, 0.3], [-0.5, 0.7]])));
    const shifted = val(mkmmdLoss(tf.tensor2d(xs), tf.tensor2d(xt)));
    expect(shifted).toBeGreaterThan(same);
  });

  it('gradients flow to both feature sets (bandwidth treated as a constant)', () => {
    const a = tf.variable(tf.tensor2d(xs));
    const { grads } = tf.variableGrads(() => mkmmdLoss(a, tf.tensor2d(xt)), [a]);
    expect(Array.from(grads[a.name].dataSync()).some((v) => v !== 0)).toBe(true);
    expect(() => mkmmdLoss(tf.zeros([4, 2]), tf.zeros([3, 2]))).toThrow(/equal source and target batch sizes/);
  });
});

describe('entropy and self-training', () => {
  it('entropy is -sum p log(p + 1e-5) per row (tllib)', () => {
    const p = tf.tensor2d([[1, 0], [0.5, 0.5], [0.2, 0.8]]);
    const e = Array.from(predictionEntropy(p).dataSync());
    const want = [[1, 0], [0.5, 0.5], [0.2, 0.8]].map((r) => -r.reduce((a, v) => a + v * Math.log(v + 1e-5), 0));
    e.forEach((v, i) => expect(v).toBeCloseTo(want[i], 6));
    expect(val(entropyLoss(p))).toBeCloseTo(want.reduce((a, v) => a + v, 0) / 3, 6);
  });

  it('pseudo-labels respect the threshold strictly (confidence > threshold)', () => {
    const p = tf.tensor2d([[0.95, 0.05], [0.9, 0.1], [0.2, 0.8], [0.03, 0.97]]);
    const { labels, mask, confidence } = pseudoLabels(p, 0.9);
    expect(Array.from(labels.dataSync())).toEqual([0, 0, 1, 1]);
    expect(Array.from(mask.dataSync())).toEqual([1, 0, 0, 1]);
    expect(Array.from(confidence.dataSync())[2]).toBeCloseTo(0.8, 6);
    // tllib: (CE * mask).mean() over the whole batch
    expect(val(selfTrainingLoss(p, p, 0.9))).toBeCloseTo((-Math.log(0.95) - Math.log(0.97)) / 4, 6);
    // threshold 0.99: nothing passes, the loss is 0
    expect(val(selfTrainingLoss(p, p, 0.99))).toBe(0);
    expect(() => pseudoLabels(p, 1.5)).toThrow(/threshold/);
  });

  it('self-training gradients do not flow through the pseudo-labels', () => {
    const logits = tf.variable(tf.tensor2d([[2, 0], [0, 3]]));
    const { value, grads } = tf.variableGrads(() => {
      const p = tf.softmax(logits) as tf.Tensor2D;
      return selfTrainingLoss(p, p, 0.5);
    }, [logits]);
    // d/dz of mean(-log softmax(z)_y) with y fixed: (softmax - onehot) / n
    const p = tf.softmax(tf.tensor2d([[2, 0], [0, 3]])).arraySync() as number[][];
    const want = [[(p[0][0] - 1) / 2, p[0][1] / 2], [p[1][0] / 2, (p[1][1] - 1) / 2]];
    const g = grads[logits.name].arraySync() as number[][];
    for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) expect(g[i][j]).toBeCloseTo(want[i][j], 6);
    value.dispose();
  });
});

describe('domainAdversarialLoss (tllib)', () => {
  it('is 0.5 (BCE(d_s, 1) + BCE(d_t, 0)) with the discriminator accuracy', () => {
    const { loss, accuracy } = domainAdversarialLoss(tf.tensor2d([[0.8], [0.4]]), tf.tensor2d([[0.3], [0.6]]));
    const want = 0.5 * (-(Math.log(0.8) + Math.log(0.4)) / 2 - (Math.log(0.7) + Math.log(0.4)) / 2);
    expect(val(loss)).toBeCloseTo(want, 6);
    expect(val(accuracy)).toBeCloseTo(0.5, 7);
  });
});

describe('domainDiscriminator (tllib DomainDiscriminator)', () => {
  it("default: Dense(1024) BN ReLU Dense(1024) BN ReLU Dense(1) sigmoid; hiddenLayers 0 is Ganin et al.'s logistic regression", async () => {
    const { domainDiscriminator } = await import('../../src/entries/adapt.js');
    const d = domainDiscriminator(16);
    expect(d.layers.map((l) => l.getClassName())).toEqual(['InputLayer', 'Dense', 'BatchNormalization', 'Activation', 'Dense', 'BatchNormalization', 'Activation', 'Dense']);
    // 16*1024+1024 + 4*1024 (BN) + 1024*1024+1024 + 4*1024 + 1024+1
    expect(d.countParams()).toBe(16 * 1024 + 1024 + 4096 + 1024 * 1024 + 1024 + 4096 + 1025);
    const lr = domainDiscriminator(16, { hiddenLayers: 0 });
    expect(lr.layers.map((l) => l.getClassName())).toEqual(['InputLayer', 'Dense']);
    expect(lr.countParams()).toBe(17);
    const drop = domainDiscriminator(16, { hiddenSize: 8, hiddenLayers: 1, batchNorm: false });
    expect(drop.layers.map((l) => l.getClassName())).toEqual(['InputLayer', 'Dense', 'Activation', 'Dropout', 'Dense']);
    expect((drop.layers[3].getConfig() as { rate: number }).rate).toBe(0.5);
    // The paper's digits discriminator, FC100 -> ReLU -> FC1, has no dropout.
    const paper = domainDiscriminator(16, { hiddenSize: 8, hiddenLayers: 1, batchNorm: false, dropout: 0 });
    expect(paper.layers.map((l) => l.getClassName())).toEqual(['InputLayer', 'Dense', 'Activation', 'Dense']);
    const light = domainDiscriminator(16, { hiddenSize: 8, hiddenLayers: 2, batchNorm: false, dropout: 0.1 });
    expect(light.layers.filter((l) => l.getClassName() === 'Dropout').map((l) => (l.getConfig() as { rate: number }).rate)).toEqual([0.1, 0.1]);
    expect(() => domainDiscriminator(16, { batchNorm: false, dropout: 1 })).toThrow(/dropout must be in \[0, 1\)/);
    tf.dispose([d, lr, drop, paper, light].flatMap((m) => m.weights.map((w) => w.read())));
  });
});
