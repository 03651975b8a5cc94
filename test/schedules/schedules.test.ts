/** Schedules against their published formulas, computed independently here. */
import { describe, expect, it } from 'vitest';
import { schedules } from '../../src/index.js';
import { ConstantSchedule, CosineDecay, LinearWarmup, StepDecay } from '../../src/entries/schedules.js';

describe('schedules', () => {
  it('constant', () => {
    expect(new ConstantSchedule(0.1).sample(3)).toEqual([0.1, 0.1, 0.1]);
  });

  it('StepDecay = PyTorch StepLR(step_size, gamma)', () => {
    const s = new StepDecay(1, 3, 0.5);
    expect(s.sample(7)).toEqual([1, 1, 1, 0.5, 0.5, 0.5, 0.25]);
  });

  it('CosineDecay = Keras CosineDecay, including alpha and the flat tail', () => {
    const s = new CosineDecay(2, 10, 0.1);
    for (const step of [0, 1, 5, 9, 10, 15]) {
      const p = Math.min(step, 10) / 10;
      const expected = 2 * ((1 - 0.1) * 0.5 * (1 + Math.cos(Math.PI * p)) + 0.1);
      expect(s.at(step)).toBeCloseTo(expected, 12);
    }
    expect(s.at(5)).toBeCloseTo(2 * (0.9 * 0.5 + 0.1), 12);
    expect(s.at(10)).toBeCloseTo(0.2, 12);
  });

  it('LinearWarmup = HF warmup multiplier step / W, then the wrapped schedule', () => {
    const s = new LinearWarmup(new CosineDecay(1, 10), 4);
    expect(s.sample(5)).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(s.at(9)).toBeCloseTo(0.5 * (1 + Math.cos(Math.PI * 0.5)), 12);
  });

  it('HF get_linear_schedule_with_warmup as warmup + a linear-to-zero decay', () => {
    // HF: lr * step/W for step < W, then lr * max(0, (T - step) / (T - W)); T = 10, W = 2.
    const hf = (step: number) => (step < 2 ? step / 2 : Math.max(0, (10 - step) / 8));
    const s = schedules.warmup(new CosineDecay(1, 8, 0), 2);
    expect(s.at(0)).toBe(hf(0));
    expect(s.at(1)).toBe(hf(1));
    expect(s.at(2)).toBe(hf(2));
  });

  it('validates arguments with the name and value', () => {
    expect(() => new CosineDecay(1, 0)).toThrow(/decaySteps.*Received: decaySteps=0/);
    expect(() => new StepDecay(1, 1.5)).toThrow(/stepSize/);
    expect(() => new ConstantSchedule(-1)).toThrow(/learningRate/);
    expect(() => new LinearWarmup(new ConstantSchedule(1), -2)).toThrow(/warmupSteps/);
  });
});
