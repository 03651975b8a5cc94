/**
 * A run interrupted mid-stage and resumed from its checkpoint ends with the same weights as an
 * uninterrupted run (optimizer slots, schedule, step, RNG stream and history all restored).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { fineTune, loadPretrained, replaceHead, useBackend, type FineTuneOptions, type PretrainedModel } from '../../src/index.js';
import { fileSystem } from '../../src/io/file_system.js';
import { quadrantImages, tinyConvNet, tinyHeaded } from '../helpers/tiny_model.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'tk-ckpt-'));

async function fresh(): Promise<PretrainedModel> {
  // dropout 0 here: the dropout case has its own test below
  return tinyHeaded(3, { dropout: 0 });
}

const weights = (pm: PretrainedModel) => pm.model.getWeights().map((w) => Array.from(w.dataSync()));

function maxRelDiff(a: number[][], b: number[][]): number {
  let worst = 0;
  a.forEach((x, i) => {
    const scale = Math.max(1e-6, ...x.map(Math.abs));
    x.forEach((v, k) => (worst = Math.max(worst, Math.abs(v - b[i][k]) / scale)));
  });
  return worst;
}

beforeAll(async () => {
  await useBackend('wasm');
});

describe('checkpoint and resume', () => {
  const data = () => quadrantImages(24);
  const base: FineTuneOptions = { headEpochs: 3, epochs: 3, batchSize: 8, seed: 5, unfreeze: { from: 'block_1_depthwise' }, bn: 'train', optimizer: 'adamw' };

  for (const [where, stage, epoch] of [['mid fine-tune stage', 'fine-tune', 2], ['end of the head stage', 'head', 3]] as const) {
    it(`resuming after a crash at the ${where} reproduces the uninterrupted run (1e-6)`, async () => {
      const whole = await fresh();
      const full = await fineTune(whole, data(), base);

      const dir = path.join(tmp(), 'ckpt');
      const crashed = await fresh();
      await expect(fineTune(crashed, data(), {
        ...base,
        checkpoint: { dir },
        callbacks: [{ onEpochEnd: (l) => { if (l.stage === stage && l.epoch === epoch) throw new Error('simulated crash'); } }],
      })).rejects.toThrow('simulated crash');
      expect(fs.readdirSync(dir).sort()).toEqual(['state.json', 'weights.bin']);
      expect(fs.readdirSync(path.dirname(dir)).filter((f) => f.includes('.tmp-'))).toEqual([]);

      const resumed = await fresh();
      const rest = await fineTune(resumed, data(), { ...base, resumeFrom: dir });
      expect(rest.history.map((h) => `${h.stage}#${h.epoch}`)).toEqual(full.history.map((h) => `${h.stage}#${h.epoch}`));
      expect(rest.history.at(-1)?.loss).toBeCloseTo(full.history.at(-1)?.loss as number, 6);
      expect(maxRelDiff(weights(whole), weights(resumed))).toBeLessThan(1e-6);
    });
  }

  it('an aborted signal stops after the current step, checkpoints it, and resuming reproduces the uninterrupted run', async () => {
    const opts: FineTuneOptions = { ...base, headEpochs: 2, epochs: 2 };
    const mk = () => tinyHeaded(4, { dropout: 0.3 });
    const whole = await mk();
    const full = await fineTune(whole, data(), opts);
    const dir = path.join(tmp(), 'ckpt');
    const controller = new AbortController();
    const steps: string[] = [];
    const first = await fineTune(await mk(), data(), {
      ...opts,
      checkpoint: { dir },
      signal: controller.signal,
      // The abort arrives during the fine-tune stage's step 4 (its second epoch, second step).
      callbacks: [{ onBatchEnd: (b, ctx) => { steps.push(`${ctx.stage}:${b.step}`); if (ctx.stage === 'fine-tune' && b.step === 4) controller.abort(); } }],
    });
    expect(first.interrupted).toBe(true);
    expect(steps.at(-1)).toBe('fine-tune:4'); // no step after the abort
    expect(first.history.map((h) => `${h.stage}#${h.epoch}`)).toEqual(['head#1', 'head#2', 'fine-tune#1']);
    const state = JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8')) as { stepInEpoch?: number; step: number };
    expect(state.stepInEpoch).toBe(2);
    const resumed = await mk();
    const rest = await fineTune(resumed, data(), { ...opts, resumeFrom: dir });
    expect(rest.interrupted).toBeUndefined();
    expect(rest.history.map((h) => `${h.stage}#${h.epoch}`)).toEqual(full.history.map((h) => `${h.stage}#${h.epoch}`));
    expect(maxRelDiff(weights(whole), weights(resumed))).toBeLessThan(1e-6);
  });

  it('a step checkpoint resumes mid-epoch exactly (example order, flips, dropout, running sums), also in a gradual-unfreeze run', async () => {
    for (const opts of [
      { ...base, headEpochs: 2, epochs: 2 },
      { recipe: 'gradual-unfreeze', epochs: 4, unfreezeAtEpoch: 1, batchSize: 8, seed: 3 },
    ] as FineTuneOptions[]) {
      const mk = () => tinyHeaded(4, { dropout: 0.3 });
      const whole = await mk();
      const full = await fineTune(whole, data(), opts);
      const dir = path.join(tmp(), 'ckpt');
      // 3 steps per epoch; the fine-tune stage checkpoints after its steps 2 and 4 (counted from 1);
      // the crash comes in its step with index 4 (second of its second epoch), so the last
      // checkpoint is mid-epoch (after the first step of that epoch).
      await expect(fineTune(await mk(), data(), {
        ...opts,
        checkpoint: { dir, everySteps: 2, everyEpochs: 100 },
        callbacks: [{ onBatchEnd: (b, ctx) => { if (ctx.stage === 'fine-tune' && b.step === 4) throw new Error('simulated crash'); } }],
      })).rejects.toThrow('simulated crash');
      const state = JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8')) as { stepInEpoch?: number; order?: number[] };
      expect(state.stepInEpoch).toBe(1);
      expect(state.order).toHaveLength(24);
      const resumed = await mk();
      const rest = await fineTune(resumed, data(), { ...opts, resumeFrom: dir });
      expect(rest.history.map((h) => h.loss)).toEqual(full.history.map((h) => h.loss).map((l) => expect.closeTo(l, 6) as unknown as number).slice(0, rest.history.length));
      expect(maxRelDiff(weights(whole), weights(resumed))).toBeLessThan(1e-6);
    }
  });

  it('a signal delivered mid-epoch stops the run within one step; resuming from that step reproduces the uninterrupted run', async () => {
    // 24 examples, batch 2: 12 steps per epoch. A real signal (as Ctrl-C in the CLI) arrives while
    // the fine-tune stage's step 4 of its first epoch (index 3) finishes; its handler aborts.
    const opts: FineTuneOptions = { ...base, headEpochs: 1, epochs: 2, batchSize: 2, progress: false };
    const mk = () => tinyHeaded(4, { dropout: 0.3 });
    const whole = await mk();
    await fineTune(whole, data(), opts);
    const dir = path.join(tmp(), 'ckpt');
    const controller = new AbortController();
    const onSignal = (): void => controller.abort();
    process.on('SIGUSR2', onSignal);
    const steps: string[] = [];
    let first;
    try {
      first = await fineTune(await mk(), data(), {
        ...opts,
        checkpoint: { dir },
        signal: controller.signal,
        callbacks: [{ onBatchEnd: (b, ctx) => { steps.push(`${ctx.stage}:${b.step}`); if (ctx.stage === 'fine-tune' && b.step === 3) process.kill(process.pid, 'SIGUSR2'); } }],
      });
    } finally {
      process.off('SIGUSR2', onSignal);
    }
    expect(first.interrupted).toBe(true);
    // Stopped after the step the signal arrived in (or at most the next one), not at the epoch's end (step 11).
    expect(['fine-tune:3', 'fine-tune:4']).toContain(steps.at(-1));
    expect(first.history.map((h) => `${h.stage}#${h.epoch}`)).toEqual(['head#1']);
    const state = JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8')) as { stepInEpoch?: number; epochsDone: number; order?: number[] };
    expect(state.epochsDone).toBe(0);
    expect(state.stepInEpoch).toBe(Number(steps.at(-1)?.split(':')[1]) + 1);
    expect(state.order).toHaveLength(24);
    const resumed = await mk();
    const rest = await fineTune(resumed, data(), { ...opts, resumeFrom: dir });
    expect(rest.interrupted).toBeUndefined();
    expect(maxRelDiff(weights(whole), weights(resumed))).toBeLessThan(1e-6);
  });

  it('a resumed run ends holding as many tensors as the uninterrupted run (optimizer state restored without leaks)', async () => {
    const opts: FineTuneOptions = { ...base, headEpochs: 2, epochs: 2, optimizer: 'adam', progress: false };
    const mk = () => tinyHeaded(4, { dropout: 0.3 });
    const held = async (run: () => Promise<unknown>): Promise<number> => {
      const before = tf.memory().numTensors;
      await run();
      return tf.memory().numTensors - before;
    };
    const train = data();
    const whole = await mk();
    const uninterrupted = await held(() => fineTune(whole, train, opts));
    // Interrupted mid-epoch (step checkpoint) and at an epoch's end, both in the fine-tune stage,
    // whose Adam slots the resumed run restores.
    for (const interrupt of ['mid-epoch', 'epoch end'] as const) {
      const dir = path.join(tmp(), 'ckpt');
      const controller = new AbortController();
      await fineTune(await mk(), train, {
        ...opts,
        checkpoint: { dir },
        signal: controller.signal,
        callbacks: [{ onBatchEnd: (b, ctx) => { if (ctx.stage === 'fine-tune' && b.step === (interrupt === 'mid-epoch' ? 3 : 2)) controller.abort(); } }],
      });
      const resumed = await mk();
      const afterResume = await held(() => fineTune(resumed, train, { ...opts, resumeFrom: dir }));
      expect(afterResume, interrupt).toBe(uninterrupted);
      expect(maxRelDiff(weights(whole), weights(resumed))).toBeLessThan(1e-6);
    }
  });

  it('refuses a checkpoint from another recipe or another model', async () => {
    const dir = path.join(tmp(), 'ckpt');
    await fineTune(await fresh(), quadrantImages(8), { recipe: 'feature-extraction', headEpochs: 1, batchSize: 8, checkpoint: { dir } });
    await expect(fineTune(await fresh(), quadrantImages(8), { recipe: 'two-stage', resumeFrom: dir })).rejects.toMatchObject({ code: 'E_BAD_OPTION', message: expect.stringContaining("recipe 'feature-extraction'") });
    const other = replaceHead(await fresh(), { numClasses: 4 });
    await expect(fineTune(other, quadrantImages(8), { recipe: 'feature-extraction', resumeFrom: dir })).rejects.toMatchObject({ code: 'E_BAD_OPTION', message: expect.stringContaining('does not match the model') });
  });
});

describe('reproducibility with dropout', () => {
  it('the same seed gives bit-identical runs, and a resume stays exact, with dropout on', async () => {
    const mk = async () => {
      const dir = path.join(tmp(), 'm');
      await tinyConvNet({ seed: 3 }).save(fileSystem(dir));
      return replaceHead(await loadPretrained(dir), { numClasses: 3, seed: 3, dropout: 0.5, hidden: [6] });
    };
    const opts: FineTuneOptions = { headEpochs: 3, epochs: 2, batchSize: 8, seed: 9, unfreeze: { from: 'Conv_1' } };
    const a = await mk();
    await fineTune(a, quadrantImages(24), opts);
    const b = await mk();
    await fineTune(b, quadrantImages(24), opts);
    expect(weights(b)).toEqual(weights(a));
    const c = await mk();
    await fineTune(c, quadrantImages(24), { ...opts, seed: 10 });
    expect(weights(c)).not.toEqual(weights(a)); // the seed matters (masks and shuffles differ)
    const dir = path.join(tmp(), 'ckpt');
    await expect(fineTune(await mk(), quadrantImages(24), { ...opts, checkpoint: { dir }, callbacks: [{ onEpochEnd: (l) => { if (l.stage === 'head' && l.epoch === 2) throw new Error('crash'); } }] })).rejects.toThrow('crash');
    const d = await mk();
    await fineTune(d, quadrantImages(24), { ...opts, resumeFrom: dir });
    expect(maxRelDiff(weights(a), weights(d))).toBeLessThan(1e-6);
  });
});
