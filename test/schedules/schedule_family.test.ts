/**
 * Every schedule against its anchor's published formula. Expected numbers are worked out by hand
 * in the comments, never produced by the implementation.
 */
import { describe, expect, it } from 'vitest';
import { LRSchedule } from '../../src/index.js';
import { ConstantSchedule, CosineDecay, CosineDecayRestarts, CosineScheduleWithWarmup, ExponentialDecay, LinearScheduleWithWarmup, LinearWarmup, MultiStepDecay, OneCycle, PolynomialDecay, ReduceLROnPlateau, scheduleFromConfig, StepDecay, type ScheduleConfig } from '../../src/entries/schedules.js';

const close = (a: number, b: number) => expect(a).toBeCloseTo(b, 12);

describe('PyTorch MultiStepLR', () => {
  it('multiplies by gamma at each milestone (bisect_right)', () => {
    // milestones [2, 5], gamma 0.1: steps 0-1 -> 1, 2-4 -> 0.1, 5+ -> 0.01
    const s = new MultiStepDecay(1, [2, 5], 0.1);
    [1, 1, 0.1, 0.1, 0.1, 0.01, 0.01].forEach((v, i) => close(s.at(i), v));
    expect(() => new MultiStepDecay(1, [5, 2])).toThrow(/milestones\[1\]/);
  });
});

describe('Keras ExponentialDecay', () => {
  it('continuous and staircase', () => {
    close(new ExponentialDecay(1, 10, 0.5).at(5), Math.SQRT1_2); // 0.5^(5/10)
    close(new ExponentialDecay(1, 10, 0.5).at(20), 0.25); // 0.5^2
    close(new ExponentialDecay(1, 10, 0.5, true).at(15), 0.5); // 0.5^floor(1.5)
  });
});

describe('Keras PolynomialDecay', () => {
  it('decays to end_learning_rate with power, optionally cycling', () => {
    const s = new PolynomialDecay(1, 10, 0.1, 2);
    close(s.at(5), 0.9 * 0.25 + 0.1); // (1 - 0.1) * (1 - 5/10)^2 + 0.1 = 0.325
    close(s.at(20), 0.1); // step clipped to decay_steps
    const c = new PolynomialDecay(1, 10, 0.1, 2, true);
    close(c.at(0), 1); // multiplier 1 at step 0
    close(c.at(15), 0.9 * 0.0625 + 0.1); // T = 10 * ceil(1.5) = 20: 0.9 * (1 - 0.75)^2 + 0.1
    close(c.at(20), 0.1); // T = 20: end of the second cycle
    close(new PolynomialDecay(2, 4).at(2), (2 - 1e-4) * 0.5 + 1e-4); // Keras default end 1e-4, power 1
  });
});

describe('Keras CosineDecayRestarts (SGDR)', () => {
  it('geometric periods (t_mul 2) with shrinking peaks (m_mul 0.5)', () => {
    const s = new CosineDecayRestarts(1, 10, 2, 0.5);
    close(s.at(0), 1); // period 0, position 0
    close(s.at(5), 0.5); // position 0.5: 0.5 (1 + cos(pi/2))
    close(s.at(10), 0.5); // restart 1 (length 20) at peak 0.5
    close(s.at(20), 0.25); // restart 1, position (2 - 1) / 2 = 0.5: 0.5 * 0.5 * (1 + 0)
    close(s.at(30), 0.25); // restart 2 (starts at 10 + 20 = 30) at peak 0.25
  });
  it('equal periods when t_mul = 1, with alpha floor', () => {
    const s = new CosineDecayRestarts(1, 10, 1, 1, 0.2);
    close(s.at(15), 0.8 * 0.5 + 0.2); // restart 1, position 0.5
    close(s.at(20), 1); // restart 2 starts at the full peak
  });
});

describe('Hugging Face schedules', () => {
  it('get_linear_schedule_with_warmup(W = 2, T = 10)', () => {
    const s = new LinearScheduleWithWarmup(1, 2, 10);
    // warmup step / W, then (T - step) / (T - W) = (10 - step) / 8, floored at 0
    [0, 0.5, 1, 7 / 8, 6 / 8, 5 / 8, 4 / 8, 3 / 8, 2 / 8, 1 / 8, 0, 0].forEach((v, i) => close(s.at(i), v));
  });
  it('get_cosine_schedule_with_warmup(W = 2, T = 10, num_cycles = 0.5)', () => {
    const s = new CosineScheduleWithWarmup(1, 2, 10);
    close(s.at(1), 0.5);
    close(s.at(2), 1); // progress 0
    close(s.at(6), 0.5); // progress 0.5: 0.5 (1 + cos(pi * 0.5 * 2 * 0.5))
    close(s.at(10), 0); // progress 1
    close(new CosineScheduleWithWarmup(1, 0, 8, 1).at(4), 0); // one full wave: cos(pi * 1 * 2 * 0.5) = -1
  });
});

describe('fastai fit_one_cycle', () => {
  const s = new OneCycle({ maxLearningRate: 1, totalSteps: 8, pctStart: 0.25 }); // div 25, div_final 1e5
  it('learning rate: cosine up from max/div, cosine down to max/div_final', () => {
    close(s.at(0), 1 / 25); // SchedCos(0.04, 1)(0)
    close(s.at(1), 0.04 + 0.96 / 2); // pos 0.125 -> phase position 0.5: start + (1 + cos(pi/2)) (end - start) / 2
    close(s.at(2), 1); // pos 0.25 -> phase 2 begins at the peak
    close(s.at(5), 1 + (1e-5 - 1) / 2); // pos 0.625 -> phase position 0.5
    close(s.at(8), 1e-5); // pos 1 -> last segment at position 1
  });
  it('momentum moves the opposite way: 0.95 -> 0.85 -> 0.95', () => {
    close(s.momentumAt(0), 0.95);
    close(s.momentumAt(1), 0.9);
    close(s.momentumAt(2), 0.85);
    close(s.momentumAt(8), 0.95);
  });
  it('fine_tune stage 1 uses pct_start 0.99', () => {
    const f = new OneCycle({ maxLearningRate: 2e-3, totalSteps: 100, pctStart: 0.99 });
    close(f.at(99), 2e-3); // pos 0.99 is the peak
    close(f.at(100), 2e-3 / 1e5);
  });
});

describe('Keras ReduceLROnPlateau', () => {
  it('patience, factor, cooldown and min_lr follow the Keras update rule', () => {
    const s = new ReduceLROnPlateau({ learningRate: 1, patience: 2, factor: 0.5, cooldown: 1, minDelta: 0, minLearningRate: 0.2 });
    expect(s.observe(1)).toBe(false); // improves on +inf
    expect(s.observe(1)).toBe(false); // wait 1 (1 < 1 - 0 is false)
    expect(s.observe(1)).toBe(true); // wait 2 >= patience: lr 0.5, cooldown 1
    close(s.at(), 0.5);
    expect(s.observe(1)).toBe(false); // cooldown 1 -> 0 and wait reset, then wait 1
    expect(s.observe(1)).toBe(true); // wait 2: lr 0.25
    expect(s.observe(0.5)).toBe(false); // improvement resets wait
    s.observe(0.6);
    expect(s.observe(0.6)).toBe(true); // lr max(0.125, 0.2) = 0.2
    close(s.at(), 0.2);
    s.observe(0.6);
    s.observe(0.6);
    expect(s.observe(0.6)).toBe(false); // lr is at min_lr: no further reduction
    close(s.at(), 0.2);
  });
  it("'max' mode and min_delta", () => {
    const s = new ReduceLROnPlateau({ learningRate: 1, mode: 'max', patience: 1, minDelta: 0.1 });
    s.observe(0.5);
    expect(s.observe(0.55)).toBe(true); // +0.05 is not > best + 0.1
  });
  it('state survives a JSON round trip (a resumed run continues exactly)', () => {
    const a = new ReduceLROnPlateau({ learningRate: 1, patience: 2 });
    a.observe(3);
    a.observe(3);
    const b = new ReduceLROnPlateau({ learningRate: 1, patience: 2 });
    b.setState(JSON.parse(JSON.stringify(a.getState())));
    expect(a.observe(3)).toBe(true);
    expect(b.observe(3)).toBe(true);
    const fresh = new ReduceLROnPlateau({ learningRate: 1, patience: 1 });
    fresh.setState(JSON.parse(JSON.stringify(fresh.getState()))); // best = +inf survives JSON (null)
    expect(fresh.observe(5)).toBe(false);
  });
  it('rejects factor >= 1 like Keras', () => {
    expect(() => new ReduceLROnPlateau({ learningRate: 1, factor: 1 })).toThrow(/factor/);
  });
});

describe('LRSchedule.compose', () => {
  it('runs segments back to back with segment-local steps', () => {
    const s = LRSchedule.compose([{ schedule: new ConstantSchedule(1), steps: 3 }, { schedule: new CosineDecay(1, 4) }]);
    [1, 1, 1, 1].forEach((v, i) => close(s.at(i), v)); // steps 0-2 constant, step 3 = cosine start
    close(s.at(5), 0.5); // cosine local step 2 of 4
    close(s.at(7), 0);
    close(s.at(20), 0);
  });
  it('passes momentum through from one-cycle segments', () => {
    const s = LRSchedule.compose([{ schedule: new ConstantSchedule(1), steps: 2 }, { schedule: new OneCycle({ maxLearningRate: 1, totalSteps: 8 }) }]);
    expect(s.momentumAt(0)).toBeUndefined();
    close(s.momentumAt(2) as number, 0.95);
  });
  it('requires steps on every segment but the last', () => {
    expect(() => LRSchedule.compose([{ schedule: new ConstantSchedule(1) }, { schedule: new ConstantSchedule(2) }])).toThrow(/segments\[0\]\.steps/);
  });
});

describe('serialisation', () => {
  const all: LRSchedule[] = [
    new ConstantSchedule(0.1),
    new StepDecay(1, 3, 0.5),
    new MultiStepDecay(1, [2, 5]),
    new ExponentialDecay(1, 10, 0.5, true),
    new PolynomialDecay(1, 10, 0.1, 2, true),
    new CosineDecay(1, 10, 0.1),
    new CosineDecayRestarts(1, 10, 2, 0.5, 0.1),
    new LinearWarmup(new CosineDecay(1, 10), 3),
    new LinearScheduleWithWarmup(1, 2, 10),
    new CosineScheduleWithWarmup(1, 2, 10, 1),
    new OneCycle({ maxLearningRate: 1, totalSteps: 20, pctStart: 0.3, div: 5 }),
    new ReduceLROnPlateau({ learningRate: 1, patience: 3 }),
    LRSchedule.compose([{ schedule: new OneCycle({ maxLearningRate: 1, totalSteps: 5 }), steps: 5 }, { schedule: new CosineDecay(0.5, 10) }]),
  ];
  for (const s of all) {
    it(`${s.getConfig().className} rebuilds from its JSON config`, () => {
      const again = scheduleFromConfig(JSON.parse(JSON.stringify(s.getConfig())) as ScheduleConfig);
      expect(again.sample(40)).toEqual(s.sample(40));
      expect(Array.from({ length: 40 }, (_, i) => again.momentumAt(i))).toEqual(Array.from({ length: 40 }, (_, i) => s.momentumAt(i)));
    });
  }
  it('names the unknown class', () => {
    expect(() => scheduleFromConfig({ className: 'Nope' })).toThrow(/className=Nope/);
  });
});
