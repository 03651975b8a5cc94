/**
 * Every training path runs on the one loop (src/train/loop.ts), so each has what fineTune has:
 * a real signal (as Ctrl-C) stops it within one step, the step is checkpointed, and resuming
 * from that checkpoint ends with the uninterrupted run's weights. Covered here: the HF text
 * recipe (fineTuneText), masked-LM pretraining, DANN (discriminator, GRL, samplers and a second
 * RNG stream in the checkpoint) and a two-phase adaptation (AdaBN, then self-training). The image
 * recipes are covered in checkpoint.test.ts.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { DomainAdapter, fineTune, useBackend, type BatchLog, type Callback, type TextModel, type TrainingContext } from '../../src/index.js';
import { quadrantImages, tinyHeaded } from '../helpers/tiny_model.js';
import { buildTextModel, fineTuneText, pretrainMaskedLM, TextTokenizer } from '../../src/entries/text.js';
import { applyKerasBatchNormSemantics } from '../../src/layers/batch_norm.js';
import { blobs, SENTIMENT_VOCAB as VOCAB, sentimentTexts } from '../helpers/synthetic.js';

/** The texts of these tests: 3..8 filler words (short sequences keep the steps fast). */
const texts = (n: number, seed: number) => sentimentTexts(n, seed, 3);

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'tk-loop-'));
const snapshot = (m: tfl.LayersModel): number[][] => m.getWeights().map((w) => Array.from(w.dataSync()));

function maxDiff(a: number[][], b: number[][]): number {
  let worst = 0;
  a.forEach((x, i) => x.forEach((v, k) => (worst = Math.max(worst, Math.abs(v - b[i][k])))));
  return worst;
}

/**
 * Runs `train` three times: uninterrupted; with a checkpoint folder and a real SIGUSR2 (its
 * handler aborts the signal, as a Ctrl-C handler does) sent after step `at` of stage `stage`;
 * then resumed from the checkpoint. Returns what the test checks.
 */
async function interruptAndResume(
  make: () => tfl.LayersModel,
  train: (m: tfl.LayersModel, extra: { checkpoint?: { dir: string }; resumeFrom?: string; signal?: AbortSignal; callbacks?: Callback[] }) => Promise<{ interrupted?: boolean }>,
  stage: string,
  at: number,
): Promise<{ steps: string[]; interrupted: boolean | undefined; resumedInterrupted: boolean | undefined; diff: number; leaked: number; state: { stepInEpoch?: number; step: number } }> {
  const whole = make();
  await train(whole, {});
  const dir = path.join(tmp(), 'ckpt');
  const controller = new AbortController();
  const onSignal = (): void => controller.abort();
  process.on('SIGUSR2', onSignal);
  const steps: string[] = [];
  const watch: Callback = {
    onBatchEnd: (b: BatchLog, ctx: TrainingContext) => {
      steps.push(`${ctx.stage}:${b.step}`);
      if (ctx.stage === stage && b.step === at) process.kill(process.pid, 'SIGUSR2');
    },
  };
  let first;
  try {
    first = await train(make(), { checkpoint: { dir }, signal: controller.signal, callbacks: [watch] });
  } finally {
    process.off('SIGUSR2', onSignal);
  }
  const state = JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8')) as { stepInEpoch?: number; step: number };
  const resumed = make();
  const before = tf.memory().numTensors;
  const rest = await train(resumed, { resumeFrom: dir });
  const leaked = tf.memory().numTensors - before;
  const diff = maxDiff(snapshot(whole), snapshot(resumed));
  whole.dispose();
  resumed.dispose();
  return { steps, interrupted: first.interrupted, resumedInterrupted: rest.interrupted, diff, leaked, state };
}

function smallBert(task: 'sequence-classification' | 'base'): TextModel {
  // hidden dropout 0.1 (BERT's): the dropout masks' stream must resume exactly too.
  const tm = buildTextModel({ model_type: 'bert', vocab_size: VOCAB.length, hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 32, max_position_embeddings: 32 }, { task, numLabels: 2, seed: 1 });
  tm.tokenizer = TextTokenizer.fromVocab(VOCAB);
  return tm;
}

function blobNet(): tfl.LayersModel {
  const init = (k: number) => tfl.initializers.glorotUniform({ seed: 50 + k });
  const input = tfl.input({ shape: [2] });
  let h = tfl.layers.batchNormalization({ name: 'bn_in' }).apply(input) as tfl.SymbolicTensor;
  h = tfl.layers.dense({ units: 16, activation: 'relu', kernelInitializer: init(1), name: 'features' }).apply(h) as tfl.SymbolicTensor;
  h = tfl.layers.dropout({ rate: 0.2, name: 'drop' }).apply(h) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ units: 2, activation: 'softmax', kernelInitializer: init(2), name: 'classifier' }).apply(h) as tfl.SymbolicTensor;
  const m = tfl.model({ inputs: input, outputs: out, name: 'blob_net' });
  applyKerasBatchNormSemantics(m);
  return m;
}

beforeAll(async () => {
  await useBackend('wasm');
});

describe('one loop: Ctrl-C within one step and exact resume on every path', () => {
  it('fineTuneText (HF recipe: AdamW, warmup, clipping, dropout, length-grouped batches)', async () => {
    const train = texts(48, 1);
    const dev = texts(16, 2);
    const models = new Map<tfl.LayersModel, TextModel>();
    const make = (): tfl.LayersModel => {
      const tm = smallBert('sequence-classification');
      models.set(tm.model, tm);
      return tm.model;
    };
    // 48 texts, batch 8: 6 steps per epoch; the signal arrives in epoch 2 (step 8 of 18).
    const r = await interruptAndResume(make, (m, extra) => fineTuneText(models.get(m) as TextModel, train, { epochs: 3, batchSize: 8, learningRate: 3e-3, validation: dev, loadBestAtEnd: false, seed: 3, progress: false, ...extra }), 'fine-tune', 8);
    expect(r.interrupted).toBe(true);
    expect(['fine-tune:8', 'fine-tune:9']).toContain(r.steps.at(-1));
    expect(r.state.step).toBe(r.steps.length);
    expect(r.state.stepInEpoch).toBe(r.steps.length - 6);
    expect(r.resumedInterrupted).toBeUndefined();
    expect(r.diff).toBeLessThan(1e-6);
    expect(r.leaked).toBe(0);
  });

  it('pretrainMaskedLM (masking, tied head, dropout): the head is in the checkpoint too', async () => {
    const corpus = texts(40, 5).texts;
    const models = new Map<tfl.LayersModel, TextModel>();
    const make = (): tfl.LayersModel => {
      const tm = smallBert('base');
      models.set(tm.model, tm);
      return tm.model;
    };
    // 40 texts, batch 8: 5 steps per epoch; the signal arrives in epoch 2.
    const r = await interruptAndResume(make, (m, extra) => pretrainMaskedLM(models.get(m) as TextModel, corpus, { epochs: 3, batchSize: 8, learningRate: 2e-3, seed: 4, progress: false, ...extra }), 'masked-lm', 6);
    expect(r.interrupted).toBe(true);
    expect(['masked-lm:6', 'masked-lm:7']).toContain(r.steps.at(-1));
    expect(r.resumedInterrupted).toBeUndefined();
    expect(r.diff).toBeLessThan(1e-6);
    expect(r.leaked).toBe(0);
  });

  it("DomainAdapter 'dann' (discriminator with BatchNorm, GRL warm start, cyclic samplers, its own dropout stream)", async () => {
    const data = { source: blobs(64, 0, 1), target: { xs: blobs(40, 3, 3).xs } };
    // 64 source examples, batch 16: 4 steps per epoch; the signal arrives in epoch 2.
    const r = await interruptAndResume(blobNet, (m, extra) => new DomainAdapter({ method: 'dann', epochs: 3, batchSize: 16, learningRate: 0.05, seed: 7, discriminator: { hiddenSize: 8 }, progress: false, ...extra }).fit(m, data), 'dann', 5);
    expect(r.interrupted).toBe(true);
    expect(['dann:5', 'dann:6']).toContain(r.steps.at(-1));
    expect(r.state.stepInEpoch).toBe(r.steps.length - 4);
    expect(r.resumedInterrupted).toBeUndefined();
    expect(r.diff).toBeLessThan(1e-6);
    expect(r.leaked).toBe(0);
    tf.dispose([data.source.xs, data.target.xs]);
  });

  it("DomainAdapter 'mlm' on a text model: interrupted in masked-LM or in fine-tuning, the resume equals the uninterrupted run", async () => {
    const data = { source: texts(32, 1), target: { texts: texts(96, 5).texts } };
    // Masked-LM: 96 texts, its default batch 32, one epoch (3 steps); fine-tuning: 32 texts, batch 8, 2 epochs (8 steps).
    const run = (tm: TextModel, extra: { checkpoint?: { dir: string }; resumeFrom?: string; signal?: AbortSignal; callbacks?: Callback[] }) =>
      new DomainAdapter({ method: 'mlm', epochs: 2, batchSize: 8, learningRate: 3e-3, seed: 3, progress: false, ...extra }).fit(tm, data);
    const whole = smallBert('sequence-classification');
    await run(whole, {});
    for (const [stage, at] of [['masked-lm', 1], ['fine-tune', 5]] as const) {
      const dir = path.join(tmp(), 'ckpt');
      const controller = new AbortController();
      const seen: string[] = [];
      const watch: Callback = {
        onBatchEnd: (b: BatchLog, ctx: TrainingContext) => {
          seen.push(`${ctx.stage}:${b.step}`);
          if (ctx.stage === stage && b.step === at) controller.abort();
        },
      };
      const first = smallBert('sequence-classification');
      const r = await run(first, { checkpoint: { dir }, signal: controller.signal, callbacks: [watch] });
      expect(r.interrupted, stage).toBe(true);
      expect(seen.at(-1), stage).toBe(`${stage}:${at}`);
      expect(fs.existsSync(path.join(dir, stage, 'state.json')), stage).toBe(true);
      const resumed = smallBert('sequence-classification');
      const before = tf.memory().numTensors;
      const rest = await run(resumed, { resumeFrom: dir });
      expect(rest.interrupted).toBeUndefined();
      expect(maxDiff(snapshot(whole.model), snapshot(resumed.model)), stage).toBeLessThan(1e-6);
      expect(tf.memory().numTensors - before).toBe(0);
      first.model.dispose();
      resumed.model.dispose();
    }
    await expect(run(smallBert('sequence-classification'), { resumeFrom: path.join(tmp(), 'none') })).rejects.toMatchObject({ code: 'E_IO_NOT_FOUND' });
    whole.model.dispose();
  });

  it('an interrupted DomainAdapter run keeps the last step\'s weights (no best-epoch restore), as fineTune', async () => {
    const data = { source: blobs(64, 0, 1), target: { xs: blobs(40, 3, 3).xs }, sourceVal: blobs(32, 0, 2) };
    const dir = path.join(tmp(), 'ckpt');
    const controller = new AbortController();
    const m = blobNet();
    const r = await new DomainAdapter({ method: 'dann', epochs: 6, batchSize: 16, learningRate: 0.05, seed: 7, discriminator: { hiddenSize: 8 }, validator: 'source-accuracy', progress: false, checkpoint: { dir }, signal: controller.signal, callbacks: [{ onBatchEnd: (b) => void (b.step === 17 && controller.abort()) }] }).fit(m, data);
    expect(r.interrupted).toBe(true);
    // The precondition that makes this a test: an earlier epoch scored best, so a restore would show.
    const scores = r.history.map((h) => h.scores['source-accuracy'] as number);
    console.log(`[interrupted DA] scores ${JSON.stringify(scores)}`);
    expect(scores.indexOf(Math.max(...scores)) + 1).toBeLessThan(r.history.length);
    expect(r.selectedEpoch).toBe(r.history.length);
    // The in-memory model is the checkpoint's: a resume and the returned model agree.
    const fromCheckpoint = blobNet();
    const { readCheckpoint } = await import('../../src/train/checkpoint.js');
    await readCheckpoint(dir, { model: fromCheckpoint });
    expect(maxDiff(snapshot(m), snapshot(fromCheckpoint))).toBe(0);
    m.dispose();
    fromCheckpoint.dispose();
    tf.dispose([data.source.xs, data.target.xs, data.sourceVal.xs]);
  });

  it("DomainAdapter ['adabn', 'self-training']: a resume skips the finished AdaBN phase and continues the second", async () => {
    const data = { source: blobs(64, 0, 11), target: { xs: blobs(40, 3, 13).xs } };
    const r = await interruptAndResume(blobNet, (m, extra) => new DomainAdapter({ method: ['adabn', 'self-training'], epochs: 2, batchSize: 16, learningRate: 0.05, seed: 2, selfTraining: { threshold: 0.5 }, progress: false, ...extra }).fit(m, data), 'self-training', 2);
    expect(r.interrupted).toBe(true);
    expect(['self-training:2', 'self-training:3']).toContain(r.steps.at(-1));
    expect(r.diff).toBeLessThan(1e-6);
    expect(r.leaked).toBe(0);
    tf.dispose([data.source.xs, data.target.xs]);
  });

  it('two runs at once in one process (as in-process tune trials) keep their own dropout streams', async () => {
    // Each step awaits, so concurrent runs interleave step by step; each must draw its dropout
    // masks from its own seeded stream, and end as it would alone.
    const opts = (seed: number) => ({ recipe: 'feature-extraction' as const, headEpochs: 3, batchSize: 4, seed, progress: false as const });
    const alone: number[][][] = [];
    for (const seed of [9, 11]) {
      const pm = await tinyHeaded(4, { dropout: 0.5, hidden: [8] });
      await fineTune(pm, quadrantImages(24), opts(seed));
      alone.push(snapshot(pm.model));
    }
    const a = await tinyHeaded(4, { dropout: 0.5, hidden: [8] });
    const b = await tinyHeaded(4, { dropout: 0.5, hidden: [8] });
    let interleaved = false;
    let last = '';
    const watch = (name: string): Callback => ({ onBatchEnd: () => { if (last !== '' && last !== name) interleaved = true; last = name; } });
    await Promise.all([fineTune(a, quadrantImages(24), { ...opts(9), callbacks: [watch('a')] }), fineTune(b, quadrantImages(24), { ...opts(11), callbacks: [watch('b')] })]);
    expect(interleaved).toBe(true);
    expect(maxDiff(snapshot(a.model), alone[0])).toBe(0);
    expect(maxDiff(snapshot(b.model), alone[1])).toBe(0);
  });

  it('an interrupted run frees what its callbacks held (the best-epoch snapshot of restoreBestWeights)', async () => {
    const tm = smallBert('sequence-classification');
    const before = tf.memory().numTensors;
    const controller = new AbortController();
    const r = await fineTuneText(tm, texts(48, 1), {
      epochs: 3, batchSize: 8, learningRate: 3e-3, validation: texts(16, 2), seed: 3, progress: false, signal: controller.signal,
      callbacks: [{ onBatchEnd: (b) => void (b.step === 8 && controller.abort()) }],
    });
    expect(r.interrupted).toBe(true);
    expect(r.bestEpoch).toBe(r.history.length); // the model holds the last step's weights
    expect(tf.memory().numTensors).toBe(before);
    tm.model.dispose();
  });

  it('resuming a finished run (text, masked-LM, DANN) loads its final weights and trains no more', async () => {
    const finished = async (make: () => tfl.LayersModel, train: (m: tfl.LayersModel, extra: { checkpoint?: { dir: string }; resumeFrom?: string; callbacks?: Callback[] }) => Promise<unknown>): Promise<{ diff: number; steps: number }> => {
      const dir = path.join(tmp(), 'ckpt');
      const done = make();
      await train(done, { checkpoint: { dir } });
      const again = make();
      let steps = 0;
      await train(again, { resumeFrom: dir, callbacks: [{ onBatchEnd: () => void steps++ }] });
      const diff = maxDiff(snapshot(done), snapshot(again));
      done.dispose();
      again.dispose();
      return { diff, steps };
    };
    const models = new Map<tfl.LayersModel, TextModel>();
    const make = (task: 'sequence-classification' | 'base') => (): tfl.LayersModel => {
      const tm = smallBert(task);
      models.set(tm.model, tm);
      return tm.model;
    };
    const text = await finished(make('sequence-classification'), (m, extra) => fineTuneText(models.get(m) as TextModel, texts(24, 1), { epochs: 2, batchSize: 8, learningRate: 3e-3, seed: 3, progress: false, ...extra }));
    const mlm = await finished(make('base'), (m, extra) => pretrainMaskedLM(models.get(m) as TextModel, texts(24, 5).texts, { epochs: 2, batchSize: 8, learningRate: 2e-3, seed: 4, progress: false, ...extra }));
    const data = { source: blobs(32, 0, 1), target: { xs: blobs(32, 3, 3).xs } };
    const dann = await finished(blobNet, (m, extra) => new DomainAdapter({ method: 'dann', epochs: 2, batchSize: 16, learningRate: 0.05, seed: 7, discriminator: { hiddenSize: 8 }, progress: false, ...extra }).fit(m, data));
    for (const r of [text, mlm, dann]) expect(r).toEqual({ diff: 0, steps: 0 });
    tf.dispose([data.source.xs, data.target.xs]);
  });

  it('a checkpoint written by one path is refused by another, naming the writer', async () => {
    const dir = path.join(tmp(), 'ckpt');
    const tm = smallBert('base');
    await pretrainMaskedLM(tm, texts(16, 8).texts, { epochs: 1, batchSize: 8, progress: false, checkpoint: { dir } });
    const cls = smallBert('sequence-classification');
    await expect(fineTuneText(cls, texts(16, 9), { epochs: 1, progress: false, resumeFrom: dir })).rejects.toMatchObject({ code: 'E_BAD_OPTION', message: expect.stringContaining("recipe 'masked-lm'") });
    tm.model.dispose();
    cls.model.dispose();
  });
});
