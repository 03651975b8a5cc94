/**
 * The gradient reversal layer, tllib's warm-start coefficient and Ganin et al.'s LR annealing.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/index.js';
import { GradientReversal, gradientReverse, warmStartCoefficient } from '../../src/entries/adapt.js';
import { InverseDecay, scheduleFromConfig } from '../../src/entries/schedules.js';

beforeAll(async () => {
  await useBackend('cpu');
});

describe('gradientReverse', () => {
  it('is the identity forward and -coeff * dy backward, exactly', () => {
    const x = tf.tensor2d([[0.5, -1.25, 3], [2, 0, -7.5]]);
    const w = tf.tensor2d([[1, 2, -3], [0.25, -0.5, 4]]);
    for (const coeff of [0, 0.3, 1, 2.5]) {
      const y = gradientReverse(x, coeff);
      expect(Array.from(y.dataSync())).toEqual(Array.from(x.dataSync()));
      // d/dx sum(w * R(x)) = -coeff * w
      const g = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(w, gradientReverse(v, coeff))))(x);
      // float32 product of dy and -coeff, as the kernel computes it
      const want = Array.from(w.dataSync()).map((v) => Math.fround(v) * Math.fround(-coeff));
      // + 0 folds -0 into 0 (coeff 0 gives -0 * dy)
      expect(Array.from(g.dataSync()).map((v) => v + 0)).toEqual(want.map((v) => Math.fround(v) + 0));
      tf.dispose([y, g]);
    }
  });

  it('reverses only what flows through it (the layers below get -coeff times the gradient)', () => {
    const x = tf.tensor1d([1, 2, 3]);
    const a = tf.variable(tf.tensor1d([0.5, -1, 2]));
    // loss = sum(R(a * x)^2): dL/da = -coeff * 2 (a x) x
    const { grads } = tf.variableGrads(() => tf.sum(tf.square(gradientReverse(tf.mul(a, x), 0.7))) as tf.Scalar, [a]);
    const got = Array.from(grads[a.name].dataSync());
    const want = [0.5, -1, 2].map((av, i) => -0.7 * 2 * av * (i + 1) * (i + 1));
    got.forEach((v, i) => expect(Math.abs(v - want[i]) / Math.abs(want[i])).toBeLessThan(1e-6));
  });

  it('GradientReversal layer: same function inside a tfjs-layers model, coeff serialised', () => {
    const layer = new GradientReversal({ coeff: 0.25, name: 'grl' });
    const x = tf.tensor2d([[1, -2]]);
    const g = tf.grad((v: tf.Tensor) => tf.sum(layer.apply(v) as tf.Tensor))(x);
    expect(Array.from(g.dataSync())).toEqual([-0.25, -0.25]);
    expect(layer.getConfig().coeff).toBe(0.25);
    expect(tf.serialization.SerializationMap.getMap().classNameMap.GradientReversal).toBeDefined();
    void tfl;
  });
});

describe('warmStartCoefficient (tllib WarmStartGradientReverseLayer)', () => {
  it('matches 2(hi-lo)/(1+exp(-alpha i/N)) - (hi-lo) + lo', () => {
    for (const [i, opts] of [
      [0, {}],
      [500, {}],
      [1000, {}],
      [37, { alpha: 10, lo: 0.1, hi: 0.9, maxIters: 100 }],
    ] as const) {
      const { alpha = 1, lo = 0, hi = 1, maxIters = 1000 } = opts as { alpha?: number; lo?: number; hi?: number; maxIters?: number };
      const want = (2 * (hi - lo)) / (1 + Math.exp((-alpha * i) / maxIters)) - (hi - lo) + lo;
      expect(warmStartCoefficient(i, opts)).toBeCloseTo(want, 12);
    }
    expect(warmStartCoefficient(0)).toBe(0);
    // tllib's defaults at N: 2/(1+e^-1) - 1
    expect(warmStartCoefficient(1000)).toBeCloseTo(0.46211715726, 10);
  });

  it("with alpha 10 and N = total steps it is Ganin et al.'s lambda_p = 2/(1+exp(-10p)) - 1", () => {
    const total = 400;
    for (const step of [0, 40, 200, 400]) {
      const p = step / total;
      expect(warmStartCoefficient(step, { alpha: 10, maxIters: total })).toBeCloseTo(2 / (1 + Math.exp(-10 * p)) - 1, 12);
    }
  });
});

describe('InverseDecay (DANN annealing)', () => {
  it('dann(lr, T) is lr / (1 + 10 p)^0.75', () => {
    const s = InverseDecay.dann(0.01, 1000);
    for (const step of [0, 1, 100, 999, 1000]) expect(s.at(step)).toBeCloseTo(0.01 / (1 + (10 * step) / 1000) ** 0.75, 14);
    expect(s.at(1000)).toBeCloseTo(0.01 * 11 ** -0.75, 14);
  });
  it("tllib's per-iteration form lr (1 + 0.001 i)^-0.75, and config round-trip", () => {
    const s = new InverseDecay(0.01, 0.001, 0.75);
    expect(s.at(2000)).toBeCloseTo(0.01 * 3 ** -0.75, 14);
    expect(scheduleFromConfig(s.getConfig()).at(1234)).toBe(s.at(1234));
    expect(() => new InverseDecay(0.01, -1)).toThrow(/gamma/);
  });
});
