/**
 * Masked-language-model pretraining (BERT's objective) of a text model's encoder: what
 * domain-adaptive pretraining (Gururangan et al. 2020, "Don't Stop Pretraining") runs on
 * unlabeled in-domain text before fine-tuning, and how a small BERT is trained from scratch.
 *
 * Masking is HF `DataCollatorForLanguageModeling(mlm_probability=0.15)`: each non-special token
 * is selected with probability 0.15; a selected token becomes [MASK] with probability 0.8, a
 * uniformly random token with 0.1, and stays itself otherwise; the loss is the cross-entropy on
 * selected tokens only. Optimisation is AdamW + linear warmup/decay + clipping at 1.0.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { TransferKitError } from '../errors.js';
import { lengthGroupedBatches, padBatch, type EncodedText, type TextTokenizer } from '../data/text/tokenizer.js';
import { MaskedLMHead } from '../models/text/heads/masked_lm_head.js';
import { disposeBatch, textInputs } from '../models/text/inputs.js';
import type { TextModel } from '../models/text/text_model.js';
import { AdamW } from '../optimizers/adam.js';
import { clipGradNorm } from '../optimizers/clip_grad_norm.js';
import { LinearScheduleWithWarmup } from '../schedules/linear_schedule_with_warmup.js';
import { textParamGroups } from './fine_tune_text.js';
import { applySeededDropout, withDropoutSeeds } from '../layers/seeded_dropout.js';
import { SeededRandom } from '../utils/random.js';
import { ensureBackend } from '../backends/backend.js';
import type { BatchLog, Callback, TrainingLog } from '../callbacks/callback.js';
import { progressReporter, type ProgressOption } from '../callbacks/progress.js';
import { checkOptionKeys, optionNames } from '../utils/option_keys.js';
import { runLoop, type TrainingTask } from '../train/loop.js';

// Checkpoints use node:fs: loaded on first use so the browser build never pulls them in.
const checkpoints = () => import('../train/checkpoint.js');

/** The checkpoint recipe name of {@link pretrainMaskedLM} runs (a resume must match it). */
const MLM_RECIPE = 'masked-lm';

/** Options of {@link pretrainMaskedLM}. */
export interface MaskedLMOptions {
  /** Passes over the texts (default 1). */
  epochs?: number;
  /** Stop after this many optimizer steps (default: all epochs). */
  maxSteps?: number;
  batchSize?: number;
  /** Peak learning rate (default 5e-4, for small BERTs from scratch; use ~5e-5 to continue a pretrained one). */
  learningRate?: number;
  weightDecay?: number;
  warmupRatio?: number;
  maxLength?: number;
  /** Share of tokens selected for prediction (default 0.15). */
  maskProbability?: number;
  seed?: number;
  tokenizer?: TextTokenizer;
  /** Reuse a head (e.g. to continue a run); default: a fresh tied head, disposed at the end unless `keepHead`. */
  head?: MaskedLMHead;
  keepHead?: boolean;
  /** Called after each optimizer step with the step's loss (`step` counts from 1). */
  onStep?: (step: number, loss: number) => void;
  /** Callbacks of the training loop (one stage, `'masked-lm'`). */
  callbacks?: Callback[];
  /** Progress output on stderr (as fineTune's; default `'auto'`). */
  progress?: ProgressOption;
  /** Write a checkpoint (encoder and head weights, AdamW state, schedule, RNG) every `everyEpochs` epochs / `everySteps` steps, atomically. */
  checkpoint?: { dir: string; everyEpochs?: number; everySteps?: number };
  /** Continue from a checkpoint written by `checkpoint` (same model, texts and options): the weights equal an uninterrupted run's. `firstLoss`/`lastLoss` cover the steps of this call. */
  resumeFrom?: string;
  /** Stops after the current step when aborted (checkpointed when `checkpoint` is set); the result has `interrupted`. */
  signal?: AbortSignal;
}

/** Every option name of {@link MaskedLMOptions}: others are refused. */
const MASKED_LM_OPTIONS = optionNames<MaskedLMOptions>({ epochs: true, maxSteps: true, batchSize: true, learningRate: true, weightDecay: true, warmupRatio: true, maxLength: true, maskProbability: true, seed: true, tokenizer: true, head: true, keepHead: true, onStep: true, callbacks: true, progress: true, checkpoint: true, resumeFrom: true, signal: true });

/** What {@link pretrainMaskedLM} did. */
export interface MaskedLMResult {
  steps: number;
  /** Mean masked-token loss per epoch (the history's `loss`). */
  epochLosses: number[];
  /** One log per epoch (stage `'masked-lm'`), as every training loop writes. */
  history: TrainingLog[];
  /** True when `signal` stopped the run early (resume it with `resumeFrom`). */
  interrupted?: boolean;
  /** Mean loss of the first and last 10 % of steps. */
  firstLoss: number;
  lastLoss: number;
  /** The head, when `keepHead` (for export or further pretraining). */
  head?: MaskedLMHead;
}

/** Masked copies of `ids` and the targets at selected positions (see module doc). */
export function maskTokens(items: readonly EncodedText[], tok: TextTokenizer, vocabSize: number, probability: number, rand: () => number): { masked: EncodedText[]; positions: number[]; targets: number[]; width: number } {
  if (tok.maskId === undefined) throw new TransferKitError('E_DATA', 'The tokenizer has no mask token ([MASK]); masked-LM needs one.');
  const width = Math.max(...items.map((e) => e.inputIds.length));
  const positions: number[] = [];
  const targets: number[] = [];
  const masked = items.map((e, r) => {
    const ids = [...e.inputIds];
    for (let i = 0; i < ids.length; i++) {
      if (tok.specialIds.has(ids[i]) || rand() >= probability) continue;
      positions.push(r * width + i);
      targets.push(ids[i]);
      const u = rand();
      if (u < 0.8) ids[i] = tok.maskId as number;
      else if (u < 0.9) ids[i] = Math.floor(rand() * vocabSize);
    }
    return { inputIds: ids, tokenTypeIds: e.tokenTypeIds };
  });
  return { masked, positions, targets, width };
}

/**
 * Trains the encoder of `tm` (and a tied masked-LM head) on unlabeled `texts`.
 * @example
 * ```ts
 * const r = await pretrainMaskedLM(tm, reviews, { epochs: 1, learningRate: 5e-4 });
 * console.log(r.firstLoss, '→', r.lastLoss);
 * ```
 */
export async function pretrainMaskedLM(tm: TextModel, texts: readonly string[], options: MaskedLMOptions = {}): Promise<MaskedLMResult> {
  checkOptionKeys('pretrainMaskedLM', options, MASKED_LM_OPTIONS);
  await ensureBackend();
  const tok = options.tokenizer ?? tm.tokenizer;
  if (tok === undefined) throw new TransferKitError('E_BAD_OPTION', `${tm.source} has no tokenizer; pass options.tokenizer.`);
  if (texts.length === 0) throw new TransferKitError('E_DATA', 'pretrainMaskedLM: no texts.');
  const p = options.maskProbability ?? 0.15;
  if (!(p > 0 && p < 1)) throw new TransferKitError('E_BAD_OPTION', `maskProbability must be in (0, 1). Received: maskProbability=${p}.`);
  const batchSize = options.batchSize ?? 32;
  const epochs = options.epochs ?? 1;
  const rng = new SeededRandom(options.seed ?? 42);
  const encoded = tok.encodeAll(texts, null, { maxLength: options.maxLength ?? 128 });
  const lengths = encoded.map((e) => e.inputIds.length);
  const perEpoch = Math.ceil(encoded.length / batchSize);
  const total = Math.min(options.maxSteps ?? Infinity, perEpoch * epochs);
  const schedule = new LinearScheduleWithWarmup(options.learningRate ?? 5e-4, Math.ceil(total * (options.warmupRatio ?? 0.1)), total);
  const head = options.head ?? new MaskedLMHead(tm, options.seed ?? 42);
  const encoder = tfl.model({ inputs: tm.model.inputs, outputs: tm.model.getLayer(tm.featureLayer).output as tfl.SymbolicTensor });
  // The encoder's trainable weights (a classifier head on tm gets no gradient here) plus the head's.
  const encoderVars = new Set(encoder.trainableWeights.map((w) => w.read().id));
  const groups = textParamGroups(tm, options.weightDecay ?? 0.01)
    .map((g) => ({ ...g, params: g.params.filter((v) => encoderVars.has(v.id)) }))
    .filter((g) => g.params.length > 0);
  groups.push({ name: 'mlm_head', params: head.variables.filter((v) => v.rank > 1), weightDecay: options.weightDecay ?? 0.01 }, { name: 'mlm_head_no_decay', params: head.variables.filter((v) => v.rank <= 1), weightDecay: 0 });
  const optimizer = new AdamW(groups, { learningRate: schedule.at(0) });
  const vars = optimizer.variables;
  applySeededDropout(encoder);
  const vocab = tm.spec.vocabSize;
  const target = { model: tm.model, extra: head.variables };
  const losses: number[] = [];
  const history: TrainingLog[] = [];
  const task: TrainingTask<number[], TrainingLog> = {
    stepsPerEpoch: perEpoch,
    epoch: (rand, at) => {
      const order = at?.order !== undefined ? (at.order as number[][]) : lengthGroupedBatches(lengths, batchSize, rand);
      return { batches: order.slice(at?.start ?? 0), order: () => order };
    },
    trainStep: async (idx) => {
      const m = maskTokens(idx.map((i) => encoded[i]), tok, vocab, p, () => rng.next());
      if (m.positions.length === 0) return null;
      const batch = padBatch(m.masked, tok.padId);
      try {
        const { value, grads } = await withDropoutSeeds(encoder, () => Math.floor(rng.next() * 2 ** 31), async () =>
          tf.variableGrads(() => {
            const hidden = encoder.apply(textInputs(tm, batch), { training: true }) as tf.Tensor3D;
            const flat = tf.reshape(hidden, [-1, tm.spec.hiddenSize]) as tf.Tensor2D;
            const picked = tf.gather(flat, tf.tensor1d(m.positions, 'int32')) as tf.Tensor2D;
            const logits = head.logits(picked);
            const oneHot = tf.oneHot(tf.tensor1d(m.targets, 'int32'), vocab);
            return tf.neg(tf.mean(tf.sum(tf.mul(oneHot, tf.logSoftmax(logits)), -1))) as tf.Scalar;
          }, vars),
        );
        const clipped = clipGradNorm(grads, 1.0);
        optimizer.step(clipped.grads);
        const l = (await value.data())[0];
        tf.dispose([value, clipped.totalNorm, ...Object.values(clipped.grads), ...Object.values(grads)]);
        losses.push(l);
        // Each step's mean masked-token loss counts once in the epoch's mean (as before: a mean over steps).
        return { loss: l, examples: 1 };
      } finally {
        disposeBatch(batch);
      }
    },
    epochLog: async (f) => ({ stage: f.stage, epoch: f.epoch, loss: f.loss, learningRate: f.learningRate, seconds: f.seconds, numTensors: 0 }),
  };
  try {
    const resume = options.resumeFrom !== undefined ? await (await checkpoints()).resumeCheckpoint(options.resumeFrom, target, MLM_RECIPE, 'pretrainMaskedLM') : null;
    if (resume !== null) history.push(...resume.history);
    // A checkpoint of a finished run (its stage done): the weights are loaded, nothing is left to train.
    const finished = resume !== null && resume.stageIndex > 0;
    const r = finished ? { interrupted: false, steps: total } : await runLoop({
      task, stage: 'masked-lm', epochs, maxSteps: total, optimizer, schedule, rng, history,
      callbacks: [...(options.onStep !== undefined ? [{ onBatchEnd: (b: BatchLog) => options.onStep?.(b.step + 1, b.loss) }] : []), ...(options.callbacks ?? [])],
      context: { model: tm, stage: 'masked-lm', stopTraining: false },
      progress: progressReporter(options.progress ?? 'auto'),
      ...(options.signal !== undefined ? { signal: options.signal } : {}),
      ...(options.checkpoint !== undefined ? { checkpoint: options.checkpoint } : {}),
      target,
      position: { recipe: MLM_RECIPE, stageIndex: 0 },
      resume,
    });
    const k = Math.max(1, Math.floor(losses.length / 10));
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
    return {
      steps: r.steps, history, epochLosses: history.map((h) => h.loss), firstLoss: mean(losses.slice(0, k)), lastLoss: mean(losses.slice(-k)),
      ...(r.interrupted ? { interrupted: true } : {}), ...(options.keepHead === true ? { head } : {}),
    };
  } finally {
    optimizer.dispose();
    if (options.keepHead !== true && options.head === undefined) head.dispose();
  }
}
