/**
 * Training checkpoints: the model weights plus everything needed to continue exactly where a run
 * stopped (stage, epoch, step, optimizer slots, schedule state, RNG state, history), written as ONE
 * folder atomically (temp folder + rename), so a crash never leaves a half-written checkpoint.
 */
import * as tf from '@tensorflow/tfjs-core';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { TransferKitError } from '../errors.js';
import { writeDirAtomically } from '../io/_atomic.js';
import { fileSystem, writeArtifactsTo } from '../io/file_system.js';
import type { PretrainedModel } from '../models/pretrained_model.js';
import type { OptimizerState } from '../optimizers/optimizer.js';
import type { EpochLog } from '../transfer/fine_tune.js';

/** Where a run stands: the next thing to do is epoch `epochsDone + 1` of stage `stageIndex`. */
export interface CheckpointState {
  version: 1;
  recipe: string;
  stageIndex: number;
  epochsDone: number;
  /** Optimizer steps taken in the stage so far. */
  step: number;
  /** Optimizer state with variables keyed by position among the model's weights. */
  optimizer: OptimizerState | null;
  schedule: Record<string, unknown> | null;
  rng: number;
  history: EpochLog[];
  /**
   * Mid-epoch checkpoints (`everySteps`): steps done in the interrupted epoch, that epoch's example
   * order (in-memory data), and its running sums, so the resumed epoch continues exactly.
   */
  stepInEpoch?: number;
  order?: number[];
  partial?: { lossSum: number; metricSum: number; seen: number };
}

/** Writes `pm`'s weights and `state` to `dir` atomically. */
export async function writeCheckpoint(dir: string, pm: PretrainedModel, state: CheckpointState): Promise<void> {
  try {
    await writeDirAtomically(dir, async (tmp) => {
      await pm.model.save({
        save: async (artifacts) => {
          await writeArtifactsTo(path.join(tmp, 'model'), artifacts);
          return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
        },
      });
      await fs.writeFile(path.join(tmp, 'state.json'), JSON.stringify(state));
    });
  } catch (err) {
    throw new TransferKitError('E_IO_WRITE', `Could not write the checkpoint ${dir}: ${(err as Error).message}. The previous checkpoint (if any) is intact.`, { cause: err });
  }
}

/** Loads the checkpoint in `dir` into `pm` (same architecture) and returns its state. */
export async function readCheckpoint(dir: string, pm: PretrainedModel): Promise<CheckpointState> {
  let state: CheckpointState;
  try {
    state = JSON.parse(await fs.readFile(path.join(dir, 'state.json'), 'utf8')) as CheckpointState;
  } catch (err) {
    throw new TransferKitError('E_IO_NOT_FOUND', `No readable checkpoint at ${dir} (state.json: ${(err as Error).message}). Pass the folder given as checkpoint.dir.`, { cause: err });
  }
  const artifacts = await (fileSystem(path.join(dir, 'model')).load as () => Promise<tf.io.ModelArtifacts>)();
  const values = tf.io.decodeWeights(tf.io.CompositeArrayBuffer.join(artifacts.weightData ?? new ArrayBuffer(0)), artifacts.weightSpecs ?? []);
  try {
    for (const w of pm.model.weights) {
      const v = values[w.originalName];
      if (v === undefined || v.shape.join() !== w.shape.join()) {
        throw new TransferKitError('E_BAD_OPTION', `Checkpoint ${dir} does not match the model: weight '${w.originalName}' ${v === undefined ? 'is missing' : `has shape [${v.shape}] instead of [${w.shape}]`}. Resume with the same model (same replaceHead options).`);
      }
      w.write(v);
    }
  } finally {
    tf.dispose(Object.values(values));
  }
  return state;
}

/**
 * Optimizer state with variable names replaced by the variable's position among ALL the model's
 * weights: names differ between model instances (TF.js suffixes duplicates), positions do not,
 * and they stay valid across stages whose trainable lists differ.
 */
export function positionalState(state: OptimizerState, pm: PretrainedModel): OptimizerState {
  const slots: OptimizerState['slots'] = {};
  pm.model.weights.forEach((w, i) => {
    const name = (w.read() as tf.Variable).name;
    if (state.slots[name] !== undefined) slots[`#${i}`] = state.slots[name];
  });
  return { ...state, slots };
}

/** The inverse of {@link positionalState} for this model instance. */
export function namedState(state: OptimizerState, pm: PretrainedModel): OptimizerState {
  const slots: OptimizerState['slots'] = {};
  pm.model.weights.forEach((w, i) => {
    const s = state.slots[`#${i}`];
    if (s !== undefined) slots[(w.read() as tf.Variable).name] = s;
  });
  return { ...state, slots };
}
