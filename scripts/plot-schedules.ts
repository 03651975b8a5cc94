/**
 * Draws docs/schedules/*.svg: each learning-rate schedule of transferkit over 1000 steps, computed
 * by the schedules themselves (so the pictures are the code's behaviour, not a sketch). A test
 * regenerates them and fails when the committed files differ.
 *
 *   npx tsx scripts/plot-schedules.ts [OUT_DIR]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LRSchedule } from '../src/browser.js';
import { ConstantSchedule, CosineDecay, CosineDecayRestarts, CosineScheduleWithWarmup, ExponentialDecay, InverseDecay, LinearScheduleWithWarmup, LinearWarmup, MultiStepDecay, OneCycle, PolynomialDecay, StepDecay } from '../src/entries/schedules.js';
import { lineChart } from '../src/report/svg.js';

const STEPS = 1000;
const LR = 1e-3;

/** The schedules drawn, by file name. */
export const SCHEDULES: Record<string, { title: string; make: () => LRSchedule }> = {
  'step-decay': { title: 'StepDecay(1e-3, 300, 0.1)', make: () => new StepDecay(LR, 300, 0.1) },
  'multi-step-decay': { title: 'MultiStepDecay(1e-3, [500, 800], 0.1)', make: () => new MultiStepDecay(LR, [500, 800], 0.1) },
  'exponential-decay': { title: 'ExponentialDecay(1e-3, 100, 0.8)', make: () => new ExponentialDecay(LR, 100, 0.8) },
  'polynomial-decay': { title: 'PolynomialDecay(1e-3, 1000, 1e-5, power 2)', make: () => new PolynomialDecay(LR, STEPS, 1e-5, 2) },
  'cosine-decay': { title: 'CosineDecay(1e-3, 1000)', make: () => new CosineDecay(LR, STEPS) },
  'cosine-restarts': { title: 'CosineDecayRestarts(1e-3, 100, tMul 2) — SGDR', make: () => new CosineDecayRestarts(LR, 100, 2) },
  'linear-warmup-cosine': { title: 'LinearWarmup(CosineDecay(1e-3, 900), 100)', make: () => new LinearWarmup(new CosineDecay(LR, 900), 100) },
  'hf-linear-with-warmup': { title: 'LinearScheduleWithWarmup(1e-3, 100, 1000) — HF', make: () => new LinearScheduleWithWarmup(LR, 100, STEPS) },
  'hf-cosine-with-warmup': { title: 'CosineScheduleWithWarmup(1e-3, 100, 1000) — HF', make: () => new CosineScheduleWithWarmup(LR, 100, STEPS) },
  'one-cycle': { title: 'OneCycle(max 1e-3, 1000 steps) — fastai', make: () => new OneCycle({ maxLearningRate: LR, totalSteps: STEPS }) },
  'inverse-decay': { title: 'InverseDecay(1e-3, 0.01, 0.75) — DANN', make: () => new InverseDecay(LR, 0.01, 0.75) },
  compose: {
    title: 'LRSchedule.compose: constant 200, then cosine',
    make: () => LRSchedule.compose([{ schedule: new ConstantSchedule(LR), steps: 200 }, { schedule: new CosineDecay(LR, 800) }]),
  },
};

/** The SVG of one schedule (learning rate, and momentum when the schedule cycles it). */
export function scheduleSvg(name: string): string {
  const { title, make } = SCHEDULES[name];
  const s = make();
  const steps = Array.from({ length: STEPS + 1 }, (_, i) => i);
  const series = [{ name: 'learning rate', points: steps.map((i) => [i, s.at(i)] as const), markers: false }];
  const svg = lineChart(series, { title, xLabel: 'step', yLabel: 'learning rate' });
  if (s.momentumAt(0) === undefined) return svg;
  // One-cycle also cycles Adam's beta1 / SGD momentum (inversely to the rate).
  const mom = lineChart([{ name: 'momentum (beta1)', points: steps.map((i) => [i, s.momentumAt(i) as number] as const), markers: false, color: '#d62728' }], { title: `${title}: momentum`, xLabel: 'step', yLabel: 'momentum' });
  return svg.replace('</svg>', '').replace(/^<svg[^>]*>/, '<svg xmlns="http://www.w3.org/2000/svg" width="920" height="290" viewBox="0 0 920 290" font-family="sans-serif" font-size="11"><g>') + '</g>' + mom.replace(/^<svg[^>]*>/, '<g transform="translate(460 0)">').replace('</svg>', '</g></svg>');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = process.argv[2] ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../docs/schedules');
  fs.mkdirSync(out, { recursive: true });
  for (const name of Object.keys(SCHEDULES)) fs.writeFileSync(path.join(out, `${name}.svg`), scheduleSvg(name));
  console.log(`wrote ${Object.keys(SCHEDULES).length} SVGs to ${out}`);
}
