/**
 * Training checkpoints: the weights plus everything needed to continue exactly where a run
 * stopped (stage, epoch, step, optimizer slots, schedule state, RNG state, history, the task's
 * own state), written as ONE folder atomically (temp folder + rename), so a crash never leaves a
 * half-written checkpoint. The folder holds `weights.bin` (the tensors, TF.js weight encoding)
 * and `state.json` (their specs and the run state); weights only, no topology, so every model the
 * loop trains (custom text layers included) checkpoints the same way.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { TransferKitError } from '../errors.js';
import { settleFolder, writeDirAtomically } from '../io/_atomic.js';
import { weightSpecsBytes } from '../io/_artifacts.js';
import { parseJsonFile } from '../utils/json.js';
import type { OptimizerState } from '../optimizers/optimizer.js';
import type { TrainingLog } from '../callbacks/callback.js';

/**
 * The weights a checkpoint holds: a model's (all of them, trainable or not) and, optionally,
 * variables that live outside it (a masked-LM head, a domain discriminator).
 */
export interface CheckpointTarget {
  model: tfl.LayersModel;
  extra?: tf.Variable[];
}

/** Where a run stands: the next thing to do is epoch `epochsDone + 1` of stage `stageIndex`. */
export interface CheckpointState {
  version: 1;
  recipe: string;
  stageIndex: number;
  epochsDone: number;
  /** Optimizer steps taken in the stage so far. */
  step: number;
  /** Optimizer state with variables keyed by position among the target's weights. */
  optimizer: OptimizerState | null;
  schedule: Record<string, unknown> | null;
  rng: number;
  history: TrainingLog[];
  /** The training task's own state (samplers, extra RNG streams). */
  task?: Record<string, unknown>;
  /**
   * Mid-epoch checkpoints (`everySteps`, or a signal): steps done in the interrupted epoch, that
   * epoch's example order, and its running sums, so the resumed epoch continues exactly.
   */
  stepInEpoch?: number;
  order?: unknown;
  partial?: { lossSum: number; seen: number; sums: Record<string, number> };
}

/** The tensors of `target` by checkpoint name: model weights by their original name, extras by position. */
function namedTensors(target: CheckpointTarget): { name: string; read: () => tf.Tensor; write: (t: tf.Tensor) => void; shape: number[] }[] {
  return [
    ...target.model.weights.map((w) => ({ name: w.originalName, read: () => w.read(), write: (t: tf.Tensor) => w.write(t), shape: w.shape as number[] })),
    ...(target.extra ?? []).map((v, i) => ({ name: `extra/${i}`, read: () => v as tf.Tensor, write: (t: tf.Tensor) => v.assign(t), shape: v.shape })),
  ];
}

/** Writes `target`'s weights and `state` to `dir` atomically. */
export async function writeCheckpoint(dir: string, target: CheckpointTarget, state: CheckpointState): Promise<void> {
  try {
    const named = namedTensors(target).map((n) => ({ name: n.name, tensor: n.read() }));
    const { data, specs } = await tf.io.encodeWeights(named);
    await writeDirAtomically(dir, async (tmp) => {
      await fs.writeFile(path.join(tmp, 'weights.bin'), new Uint8Array(data));
      await fs.writeFile(path.join(tmp, 'state.json'), JSON.stringify({ ...state, weights: specs }));
    }, (rel) => rel === 'weights.bin' || rel === 'state.json');
  } catch (err) {
    throw new TransferKitError('E_IO_WRITE', `Could not write the checkpoint ${dir}: ${(err as Error).message}. The previous checkpoint (if any) is intact.`, { cause: err });
  }
}

/**
 * Reads and checks `dir/state.json`. A checkpoint is read back by the library that wrote it, but
 * between the two it sits on a disk a user (or a crash, or another tool) can touch: every field
 * the resume uses is checked here, so a damaged file is a coded error naming the file and the
 * field, never a TypeError deep inside the optimizer.
 */
async function readState(dir: string): Promise<CheckpointState & { weights?: unknown }> {
  const file = path.join(dir, 'state.json');
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    throw new TransferKitError('E_IO_NOT_FOUND', `No readable checkpoint at ${dir} (${(err as Error).message}). Pass the folder given as checkpoint.dir.`, { cause: err });
  }
  const raw = parseJsonFile(text, file);
  const bad = (field: string, want: string): never => {
    throw new TransferKitError('E_IO_FORMAT', `${file}: '${field}' is not ${want}. The checkpoint is damaged (or was edited); delete it to start over, or resume from an older copy.`);
  };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) bad('(root)', 'a JSON object');
  const st = raw as Record<string, unknown>;
  if (st.version !== 1) bad('version', '1 (this version of transferkit writes version 1)');
  if (typeof st.recipe !== 'string') bad('recipe', 'a string');
  for (const k of ['stageIndex', 'epochsDone', 'step'] as const) if (!Number.isSafeInteger(st[k]) || (st[k] as number) < 0) bad(k, 'a non-negative integer');
  if (typeof st.rng !== 'number' || !Number.isFinite(st.rng)) bad('rng', 'a finite number');
  if (!Array.isArray(st.history)) bad('history', 'a list');
  for (const k of ['optimizer', 'schedule'] as const) if (st[k] !== null && st[k] !== undefined && (typeof st[k] !== 'object' || Array.isArray(st[k]))) bad(k, 'an object or null');
  if (st.task !== undefined && (typeof st.task !== 'object' || st.task === null || Array.isArray(st.task))) bad('task', 'an object');
  return st as unknown as CheckpointState & { weights?: unknown };
}

/** The run state of the checkpoint in `dir`, without loading its weights (to find which stage it resumes). */
export async function peekCheckpoint(dir: string): Promise<CheckpointState> {
  await settleFolder(dir);
  const state = await readState(dir);
  delete state.weights;
  return state;
}

/** Loads the checkpoint in `dir` into `target` (same architecture) and returns its state. */
export async function readCheckpoint(dir: string, target: CheckpointTarget): Promise<CheckpointState> {
  await settleFolder(dir);
  const state = await readState(dir);
  let bytes: Uint8Array;
  try {
    bytes = await fs.readFile(path.join(dir, 'weights.bin'));
  } catch (err) {
    throw new TransferKitError('E_IO_NOT_FOUND', `No readable checkpoint at ${dir} (${(err as Error).message}). Pass the folder given as checkpoint.dir.`, { cause: err });
  }
  if (state.weights === undefined) throw new TransferKitError('E_IO_NOT_FOUND', `The checkpoint at ${dir} has no weight list in state.json; it was not written by this version of transferkit.`);
  const stateFile = path.join(dir, 'state.json');
  const expected = weightSpecsBytes(state.weights, stateFile);
  if (bytes.byteLength !== expected) {
    throw new TransferKitError('E_IO_FORMAT', `${path.join(dir, 'weights.bin')} holds ${bytes.byteLength} bytes but ${stateFile} describes ${expected}. The checkpoint is truncated or damaged; delete it to start over, or resume from an older copy.`);
  }
  const specs = state.weights as tf.io.WeightsManifestEntry[];
  let values: tf.NamedTensorMap;
  try {
    values = tf.io.decodeWeights(new Uint8Array(bytes).buffer, specs);
  } catch (err) {
    throw new TransferKitError('E_IO_FORMAT', `${stateFile}: its weights cannot be decoded (${(err as Error).message}). The checkpoint is damaged; delete it to start over.`, { cause: err });
  }
  try {
    const targets = namedTensors(target);
    for (const t of targets) {
      const v = values[t.name];
      if (v === undefined || v.shape.join() !== t.shape.join()) {
        throw new TransferKitError('E_BAD_OPTION', `Checkpoint ${dir} does not match the model: weight '${t.name}' ${v === undefined ? 'is missing' : `has shape [${v.shape}] instead of [${t.shape}]`}. Resume with the same model (same replaceHead options).`);
      }
    }
    // Extra tensors (a discriminator of a finished phase) may be left unread; model weights may not.
    const known = new Set(targets.map((t) => t.name));
    const unknown = Object.keys(values).filter((n) => !known.has(n) && !n.startsWith('extra/'));
    if (unknown.length > 0) {
      throw new TransferKitError('E_BAD_OPTION', `Checkpoint ${dir} does not match the model: it holds weights the model lacks (${unknown.slice(0, 3).join(', ')}${unknown.length > 3 ? ', ...' : ''}). Resume with the same model (same replaceHead options).`);
    }
    for (const t of targets) t.write(values[t.name]);
  } finally {
    tf.dispose(Object.values(values));
  }
  delete state.weights;
  return state;
}

/**
 * Loads the checkpoint in `dir` for a run of `recipe` by `who`: refuses one another recipe
 * wrote (naming it) before touching the weights, then loads them into `target`.
 */
export async function resumeCheckpoint(dir: string, target: CheckpointTarget, recipe: string, who: string): Promise<CheckpointState> {
  const peek = await peekCheckpoint(dir);
  if (peek.recipe !== recipe) {
    throw new TransferKitError('E_BAD_OPTION', `The checkpoint at ${dir} was written by recipe '${peek.recipe}'; ${who} writes recipe '${recipe}'. Resume with the call (and options) that wrote it.`);
  }
  return readCheckpoint(dir, target);
}

/** Every variable of `target` in checkpoint order. */
function variablesOf(target: CheckpointTarget): tf.Variable[] {
  return [...target.model.weights.map((w) => w.read() as tf.Variable), ...(target.extra ?? [])];
}

/**
 * Optimizer state with variable names replaced by the variable's position among ALL the target's
 * weights: names differ between model instances (TF.js suffixes duplicates), positions do not,
 * and they stay valid across stages whose trainable lists differ.
 */
export function positionalState(state: OptimizerState, target: CheckpointTarget): OptimizerState {
  const slots: OptimizerState['slots'] = {};
  variablesOf(target).forEach((v, i) => {
    if (state.slots[v.name] !== undefined) slots[`#${i}`] = state.slots[v.name];
  });
  return { ...state, slots };
}

/** The inverse of {@link positionalState} for this target. */
export function namedState(state: OptimizerState, target: CheckpointTarget): OptimizerState {
  const slots: OptimizerState['slots'] = {};
  variablesOf(target).forEach((v, i) => {
    const s = state.slots[`#${i}`];
    if (s !== undefined) slots[v.name] = s;
  });
  return { ...state, slots };
}
