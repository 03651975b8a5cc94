/**
 * Label-shift adaptation (Saerens et al. 2002 EM; Alexandari et al. 2020 BCTS calibration): the
 * EM estimate is the maximum-likelihood prior and recovers known priors; calibration finds the
 * temperature a mis-scaled model has; the rewritten output layer computes the calibrated,
 * prior-adjusted posterior; no shift in, no change out.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { DomainAdapter, useBackend, type LabeledData } from '../../src/index.js';
import { emTargetPriors, fitCalibration, labelShift } from '../../src/entries/adapt.js';
import { caught, codedError } from '../helpers/errors.js';

beforeAll(async () => {
  await useBackend('cpu');
});

/** Seeded standard normals (mulberry32 + Box–Muller). */
function normals(n: number, seed: number): Float64Array {
  let s = seed >>> 0;
  const u = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
  return out;
}

/** Two classes on a line: x ~ N(-1, 1) for class 0, N(+1, 1) for class 1, class 0 with probability `p0`. */
function sample(n: number, p0: number, seed: number): { x: Float32Array; y: Int32Array } {
  const e = normals(n, seed);
  const x = new Float32Array(n);
  const y = new Int32Array(n);
  const n0 = Math.round(n * p0);
  for (let i = 0; i < n; i++) {
    y[i] = i < n0 ? 0 : 1;
    x[i] = (y[i] === 0 ? -1 : 1) + e[i];
  }
  return { x, y };
}

/** Bayes posteriors under equal priors for {@link sample}: p(1|x) = sigmoid(2x). */
function bayes(x: Float32Array, scale = 1): Float64Array {
  const p = new Float64Array(2 * x.length);
  x.forEach((v, i) => {
    const p1 = 1 / (1 + Math.exp(-2 * v * scale));
    p[2 * i] = 1 - p1;
    p[2 * i + 1] = p1;
  });
  return p;
}

const logLik = (probs: Float64Array, pi: number[], ps: number[]) => {
  let l = 0;
  for (let i = 0; i < probs.length / 2; i++) l += Math.log(probs[2 * i] * (pi[0] / ps[0]) + probs[2 * i + 1] * (pi[1] / ps[1]));
  return l;
};

/** A 1-input softmax classifier whose logits are [-x, x] · scale: Bayes-optimal for {@link sample} at scale 1. */
function lineModel(scale = 1, activation: 'softmax' | 'sigmoid' = 'softmax', units = 2): tfl.LayersModel {
  const input = tfl.input({ shape: [1], name: 'x' });
  const hidden = tfl.layers.dense({ units: 1, useBias: false, kernelInitializer: 'ones', trainable: false, name: 'hidden' }).apply(input) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ units, activation, name: 'classifier' });
  const model = tfl.model({ inputs: input, outputs: out.apply(hidden) as tfl.SymbolicTensor, name: 'line' });
  out.setWeights(units === 2 ? [tf.tensor2d([[-scale, scale]]), tf.zeros([2])] : [tf.tensor2d([[2 * scale]]), tf.zeros([1])]);
  return model;
}

const data = (s: { x: Float32Array; y: Int32Array }): LabeledData => ({ xs: tf.tensor2d(s.x, [s.x.length, 1]), labels: s.y, classNames: ['a', 'b'] });

async function accuracy(model: tfl.LayersModel, d: LabeledData): Promise<number> {
  const pred = (await (tf.argMax(model.predict(d.xs) as tf.Tensor, -1) as tf.Tensor).data()) as Int32Array;
  return pred.reduce((a, p, i) => a + (p === d.labels[i] ? 1 : 0), 0) / d.labels.length;
}

describe('emTargetPriors', () => {
  it('one iteration from the source priors is the mean posterior', () => {
    const r = emTargetPriors([0.9, 0.1, 0.2, 0.8], 2, [0.5, 0.5], { maxIterations: 1 });
    expect(r.iterations).toBe(1);
    expect(r.priors[0]).toBeCloseTo(0.55, 12);
    expect(r.priors[1]).toBeCloseTo(0.45, 12);
  });

  it('recovers the priors of a shifted sample and is the maximum of the likelihood', () => {
    const t = sample(20000, 0.8, 11);
    const probs = bayes(t.x);
    const { priors, iterations } = emTargetPriors(probs, 2, [0.5, 0.5]);
    expect(iterations).toBeGreaterThan(1);
    expect(Math.abs(priors[0] - 0.8)).toBeLessThan(0.02);
    expect(priors[0] + priors[1]).toBeCloseTo(1, 9);
    // The EM fixed point maximises sum_i log sum_c p_ic pi_c / ps_c over the simplex.
    const at = logLik(probs, priors, [0.5, 0.5]);
    for (const d of [-0.01, 0.01, -0.001, 0.001]) expect(logLik(probs, [priors[0] + d, priors[1] - d], [0.5, 0.5])).toBeLessThan(at);
  });

  it('estimates no shift on a sample of the source distribution', () => {
    const { priors } = emTargetPriors(bayes(sample(20000, 0.5, 12).x), 2, [0.5, 0.5]);
    expect(Math.abs(priors[0] - 0.5)).toBeLessThan(0.02);
  });

  it('stops when no prior moves by more than the tolerance (abstention\'s rule), and says whether it converged', () => {
    // Two rows; each iteration's move shrinks geometrically: count the iterations independently.
    const probs = [0.9, 0.1, 0.3, 0.7];
    let pi = [0.5, 0.5];
    let expected = 0;
    for (;;) {
      const rows = [0, 1].map((i) => {
        const q = [probs[2 * i] * (pi[0] / 0.5), probs[2 * i + 1] * (pi[1] / 0.5)];
        return q.map((v) => v / (q[0] + q[1]));
      });
      const next = [(rows[0][0] + rows[1][0]) / 2, (rows[0][1] + rows[1][1]) / 2];
      expected++;
      const moved = Math.abs(next[0] - pi[0]) > 1e-6 || Math.abs(next[1] - pi[1]) > 1e-6;
      pi = next;
      if (!moved) break;
    }
    const r = emTargetPriors(probs, 2, [0.5, 0.5], { maxIterations: 1000 });
    expect(r.iterations).toBe(expected);
    expect(r.converged).toBe(true);
    expect(r.priors[0]).toBeCloseTo(pi[0], 12);
    expect(emTargetPriors(probs, 2, [0.5, 0.5], { maxIterations: 2 }).converged).toBe(false);
  });

  it('refuses a zero source prior and a ragged probability array', () => {
    expect(codedError(() => emTargetPriors([0.5, 0.5], 2, [1, 0])).code).toBe('E_DATA');
    expect(codedError(() => emTargetPriors([0.5, 0.5, 0.2], 2, [0.5, 0.5])).code).toBe('E_DATA');
  });
});

/** A 3-class softmax head with a non-zero bias on 2 features (h = [x0, x1]); class means at the corners of a triangle. */
function triModel(): tfl.LayersModel {
  const input = tfl.input({ shape: [2], name: 'x' });
  const out = tfl.layers.dense({ units: 3, activation: 'softmax', name: 'head' });
  const model = tfl.model({ inputs: input, outputs: out.apply(input) as tfl.SymbolicTensor, name: 'tri' });
  out.setWeights([tf.tensor2d([[2, -1, -1], [0, 1.7, -1.7]]), tf.tensor1d([0.3, -0.2, 0.1])]);
  return model;
}

function triSample(counts: number[], seed: number): LabeledData {
  const means = [[1, 0], [-0.5, 0.87], [-0.5, -0.87]];
  const n = counts.reduce((a, v) => a + v, 0);
  const e = normals(2 * n, seed);
  const x = new Float32Array(2 * n);
  const y = new Int32Array(n);
  let i = 0;
  counts.forEach((cnt, c) => {
    for (let j = 0; j < cnt; j++, i++) {
      y[i] = c;
      x[2 * i] = means[c][0] + 0.8 * e[2 * i];
      x[2 * i + 1] = means[c][1] + 0.8 * e[2 * i + 1];
    }
  });
  return { xs: tf.tensor2d(x, [n, 2]), labels: y, classNames: ['a', 'b', 'c'] };
}

describe('fitCalibration', () => {
  it('finds the inverse temperature of an over-confident model, and BCTS also its bias', () => {
    const s = sample(8000, 0.5, 13);
    // Logits 3x too large (true log-odds 2x): temperature scaling should find a = 1/3.
    const z = new Float64Array(2 * s.x.length);
    s.x.forEach((v, i) => {
      z[2 * i] = -3 * v;
      z[2 * i + 1] = 3 * v + 1.5; // BCTS: an extra bias of 1.5 on class 1 (a * 1.5 + b1 - b0 = 0 at the optimum)
    });
    const ts = fitCalibration(Float32Array.from(z.map((v, j) => (j % 2 === 1 ? v - 1.5 : v))), s.y, 2, 'temperature');
    expect(Math.abs(ts.a - 1 / 3)).toBeLessThan(0.03);
    expect(ts.b).toEqual([0, 0]);
    const bc = fitCalibration(Float32Array.from(z), s.y, 2, 'bcts');
    expect(Math.abs(bc.a - 1 / 3)).toBeLessThan(0.03);
    expect(Math.abs(bc.a * 1.5 + bc.b[1] - bc.b[0])).toBeLessThan(0.1);
  });

  it('lands on the minimum of the negative log-likelihood for 3 classes (BCTS)', () => {
    const n = 600;
    const e = normals(3 * n, 17);
    const z = new Float32Array(3 * n);
    const y = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      y[i] = i % 3;
      for (let c = 0; c < 3; c++) z[3 * i + c] = 2.5 * (c === y[i] ? 1 : 0) + 1.5 * e[3 * i + c] + (c === 2 ? 0.8 : 0);
    }
    const nll = (a: number, b: number[]) => {
      let t = 0;
      for (let i = 0; i < n; i++) {
        const l = [0, 1, 2].map((c) => a * z[3 * i + c] + b[c]);
        const m = Math.max(...l);
        t -= l[y[i]] - m - Math.log(l.reduce((s2, v) => s2 + Math.exp(v - m), 0));
      }
      return t / n;
    };
    const { a, b } = fitCalibration(z, y, 3, 'bcts');
    expect(b[0]).toBe(0);
    const f = nll(a, b);
    for (const d of [1e-3, -1e-3]) {
      expect(nll(a + d, b)).toBeGreaterThan(f);
      expect(nll(a, [b[0], b[1] + d, b[2]])).toBeGreaterThan(f);
      expect(nll(a, [b[0], b[1], b[2] + d])).toBeGreaterThan(f);
    }
    expect(codedError(() => fitCalibration(z, Int32Array.from(y, (v, i) => (i === 5 ? 3 : v)), 3, 'bcts')).message).toContain('label 3 at row 5');
  });
});

describe('labelShift', () => {
  it('rewrites the output layer to the calibrated, prior-adjusted posterior and gains accuracy on a shifted target', async () => {
    const model = lineModel(3); // over-confident: calibration matters
    const val = data(sample(4000, 0.5, 21));
    const target = data(sample(4000, 0.85, 22));
    const before = await accuracy(model, target);
    const n0 = tf.memory().numTensors;
    const r = await labelShift(model, target.xs, val);
    expect(tf.memory().numTensors).toBe(n0);
    expect(r.layer).toBe('classifier');
    expect(Math.abs(r.targetPriors[0] - 0.85)).toBeLessThan(0.03);
    expect(Math.abs(r.calibration.a - 1 / 3)).toBeLessThan(0.05);
    const after = await accuracy(model, target);
    // Bayes accuracy at priors 0.85/0.15 is ~0.89; the equal-prior rule gets ~0.84.
    expect(after).toBeGreaterThan(before + 0.02);
    // Outputs = softmax(a z + b + log(pi_t / pi_s)) with the original logits z = [-3x, 3x].
    const xs = [-2, -0.5, 0, 0.7, 2.5];
    const got = (model.predict(tf.tensor2d(xs, [xs.length, 1])) as tf.Tensor).arraySync() as number[][];
    xs.forEach((x, i) => {
      const l = [-3 * x, 3 * x].map((zc, c) => r.calibration.a * zc + r.calibration.b[c] + Math.log(r.targetPriors[c] / r.sourcePriors[c]));
      const p1 = 1 / (1 + Math.exp(l[0] - l[1]));
      expect(got[i][1]).toBeCloseTo(p1, 5);
    });
    tf.dispose([val.xs, target.xs]);
  });

  it('3 classes and a non-zero bias: outputs are softmax(a z + b + log w) of the original logits; the validation set itself estimates no shift', async () => {
    const val = triSample([400, 400, 400], 61);
    const z = (x: number[]) => [2 * x[0] + 0.3, -x[0] + 1.7 * x[1] - 0.2, -x[0] - 1.7 * x[1] + 0.1];
    const self = await labelShift(triModel(), val.xs, val);
    expect(self.iterations).toBe(1);
    self.targetPriors.forEach((p, c) => expect(p).toBeCloseTo(self.sourcePriors[c], 6));
    const model = triModel();
    const target = triSample([100, 300, 900], 62);
    const r = await labelShift(model, target.xs, val);
    expect(r.converged).toBe(true);
    [900 / 1300, 300 / 1300, 100 / 1300].reverse().forEach((p, c) => expect(Math.abs(r.targetPriors[c] - p)).toBeLessThan(0.05));
    const xs = [[0.2, 0.1], [-1, 0.5], [0.4, -1.2]];
    const got = (model.predict(tf.tensor2d(xs)) as tf.Tensor).arraySync() as number[][];
    xs.forEach((x, i) => {
      const l = z(x).map((v, c) => r.calibration.a * v + r.calibration.b[c] + Math.log(r.targetPriors[c] / r.sourcePriors[c]));
      const m = Math.max(...l);
      const s2 = l.reduce((a, v) => a + Math.exp(v - m), 0);
      l.forEach((v, c) => expect(got[i][c]).toBeCloseTo(Math.exp(v - m) / s2, 5));
    });
    tf.dispose([val.xs, target.xs]);
  });

  it('leaves decisions alone when the target has the source priors', async () => {
    const model = lineModel(1);
    const val = data(sample(4000, 0.5, 31));
    const target = data(sample(4000, 0.5, 32));
    const p0 = (await (tf.argMax(model.predict(target.xs) as tf.Tensor, -1) as tf.Tensor).data()) as Int32Array;
    const r = await labelShift(model, target.xs, val);
    expect(Math.abs(r.targetPriors[0] - 0.5)).toBeLessThan(0.03);
    const p1 = (await (tf.argMax(model.predict(target.xs) as tf.Tensor, -1) as tf.Tensor).data()) as Int32Array;
    const changed = p0.reduce((a, v, i) => a + (v !== p1[i] ? 1 : 0), 0);
    expect(changed / p0.length).toBeLessThan(0.02);
    tf.dispose([val.xs, target.xs]);
  });

  it("runs as DomainAdapter's 'label-shift' method, logged with its priors", async () => {
    const model = lineModel(1);
    const source = data(sample(2000, 0.5, 41));
    const sourceVal = data(sample(1000, 0.5, 42));
    const target = data(sample(3000, 0.2, 43));
    const res = await new DomainAdapter({ method: 'label-shift', progress: false }).fit(model, { source, target: { xs: target.xs }, sourceVal, targetVal: target });
    expect(res.history).toHaveLength(1);
    const log = res.history[0];
    expect(log.stage).toBe('label-shift');
    expect(Math.abs((log.targetPriors as number[])[1] - 0.8)).toBeLessThan(0.03);
    expect(log.targetValAcc as number).toBeGreaterThan(0.86);
    tf.dispose([source.xs, sourceVal.xs, target.xs]);
  });

  it('after training it post-processes the epoch the validator chose, is not a candidate itself, and still runs after early stopping', async () => {
    const source = data(sample(1000, 0.5, 71));
    const sourceVal = data(sample(600, 0.5, 72));
    const target = data(sample(1500, 0.85, 73));
    const model = lineModel(1);
    // 'source-accuracy' ranks a label-shifted model lower on source data by design.
    const res = await new DomainAdapter({ method: ['source-only', 'label-shift'], epochs: 3, optimizer: 'sgd', learningRate: 0.01, weightDecay: 0, validator: 'source-accuracy', patience: 1, progress: false }).fit(model, { source, target: { xs: target.xs }, sourceVal, targetVal: target });
    const last = res.history[res.history.length - 1];
    expect(last.stage).toBe('label-shift');
    expect(res.selectedEpoch).toBe(res.history.length);
    expect(await accuracy(model, target)).toBeCloseTo(last.targetValAcc as number, 6);
    expect(last.targetValAcc as number).toBeGreaterThan(res.history[0].targetValAcc as number);
    tf.dispose([source.xs, sourceVal.xs, target.xs]);
  });

  it('without sourceVal it runs uncalibrated on the source training data; an explicit calibration then is refused', async () => {
    const source = data(sample(2000, 0.5, 81));
    const target = data(sample(2000, 0.2, 82));
    const res = await new DomainAdapter({ method: 'label-shift', progress: false }).fit(lineModel(1), { source, target: { xs: target.xs }, targetVal: target });
    expect(Math.abs((res.history[0].targetPriors as number[])[1] - 0.8)).toBeLessThan(0.03);
    const e = await caught(() => new DomainAdapter({ method: 'label-shift', labelShift: { calibration: 'bcts' } }).fit(lineModel(1), { source, target: { xs: target.xs } }));
    expect(e.code).toBe('E_DATA');
    expect(e.message).toContain('sourceVal');
    tf.dispose([source.xs, target.xs]);
  });

  it('options are checked before any training: order, calibration name, an output layer it cannot rewrite', async () => {
    expect(codedError(() => new DomainAdapter({ method: ['label-shift', 'mmd'] })).message).toMatch(/after every training method.*mmd/);
    expect(codedError(() => new DomainAdapter({ method: 'label-shift', labelShift: { calibration: 'bct' as never } })).code).toBe('E_BAD_OPTION');
    const source = data(sample(200, 0.5, 91));
    let epochs = 0;
    const e = await caught(() => new DomainAdapter({ method: ['source-only', 'label-shift'], epochs: 2, progress: false, onEpochEnd: () => epochs++ }).fit(lineModel(1, 'sigmoid', 1), { source, target: { xs: source.xs } }));
    expect(e.code).toBe('E_MODEL_TOPOLOGY');
    expect(epochs).toBe(0);
    tf.dispose(source.xs);
  });

  it('refuses a shared output layer, out-of-range labels, non-finite outputs and too small a target set', async () => {
    const val = data(sample(500, 0.5, 95));
    const input = tfl.input({ shape: [1] });
    const probe = tfl.input({ shape: [1] });
    const head = tfl.layers.dense({ units: 2, activation: 'softmax', name: 'shared_head' });
    head.apply(probe);
    const shared = tfl.model({ inputs: input, outputs: head.apply(input) as tfl.SymbolicTensor });
    expect((await caught(() => labelShift(shared, val.xs, val))).message).toMatch(/'shared_head'.*applied 2 times/);
    const badLabels: LabeledData = { ...val, labels: Int32Array.from(val.labels, (l, i) => (i === 7 ? -1 : l)) };
    expect((await caught(() => labelShift(lineModel(1), val.xs, badLabels))).message).toContain('label -1 at index 7');
    const nanTarget = tf.tensor2d([...new Array<number>(30).fill(0.5), NaN], [31, 1]);
    expect((await caught(() => labelShift(lineModel(1), nanTarget, val))).message).toMatch(/target example 30 is not finite/);
    expect((await caught(() => labelShift(lineModel(1), tf.zeros([5, 1]), val))).message).toMatch(/5 target examples are too few.*20/);
    tf.dispose([val.xs, nanTarget]);
  });

  it('refuses an output layer it cannot rewrite and a validation set the model gets backwards, naming them', async () => {
    const val = data(sample(500, 0.5, 51));
    const e1 = await caught(() => labelShift(lineModel(1, 'sigmoid', 1), val.xs, val));
    expect(e1.code).toBe('E_MODEL_TOPOLOGY');
    expect(e1.message).toContain("'classifier'");
    const flipped: LabeledData = { ...val, labels: val.labels.map((l) => 1 - l) };
    const e2 = await caught(() => labelShift(lineModel(1), val.xs, flipped));
    expect(e2.code).toBe('E_DATA');
    expect(e2.message).toContain('inverse temperature');
    tf.dispose(val.xs);
  });
});
