/**
 * The JSON form of a study, for `transferkit tune --config tune.json`:
 * ```json
 * { "objective": "./objective.mjs", "exportName": "objective",
 *   "space": { "lr": { "logUniform": [1e-5, 1e-2] }, "recipe": { "choice": ["two-stage", "fine-tune"] },
 *              "depth": { "int": [2, 10, 2] }, "dropout": { "uniform": [0, 0.5] } },
 *   "strategy": "asha", "trials": 20, "asha": { "maxResource": 9 }, "parallel": 2,
 *   "mode": "max", "seed": 0, "studyDir": "runs/study", "trialTimeoutS": 3600,
 *   "queue": { "redis": "redis://127.0.0.1:6379", "name": "ants", "study": "ants-1" } }
 * ```
 * With `queue`, the trials run on `transferkit worker` processes fed through that BullMQ queue
 * (`queueExecutor`) instead of child processes of this one.
 * Relative paths resolve against the config file's folder.
 */
import * as path from 'node:path';
import { TransferKitError } from '../errors.js';
import { choice, int, logUniform, uniform, type SearchSpace } from './space.js';
import type { TuneOptions } from './tune.js';
import type { QueueExecutorOptions } from './queue_executor.js';

function dimension(name: string, spec: unknown, file: string): SearchSpace[string] {
  const s = spec as Record<string, unknown[]>;
  const bad = (): never => {
    throw new TransferKitError('E_BAD_OPTION', `${file}: space.${name} must be one of { "choice": [...] }, { "uniform": [low, high] }, { "logUniform": [low, high] }, { "int": [low, high, step?] }. Received: ${JSON.stringify(spec)}.`);
  };
  if (typeof s !== 'object' || s === null || Object.keys(s).length !== 1) return bad();
  if (Array.isArray(s.choice)) return choice(s.choice as (string | number | boolean)[]);
  if (Array.isArray(s.uniform) && s.uniform.length === 2) return uniform(Number(s.uniform[0]), Number(s.uniform[1]));
  if (Array.isArray(s.logUniform) && s.logUniform.length === 2) return logUniform(Number(s.logUniform[0]), Number(s.logUniform[1]));
  if (Array.isArray(s.int) && (s.int.length === 2 || s.int.length === 3)) return int(Number(s.int[0]), Number(s.int[1]), s.int[2] === undefined ? 1 : Number(s.int[2]));
  return bad();
}

/** Options of `tune` from a parsed config file at `file`; `queue` when the trials go to queue workers. */
export function tuneOptionsFromJson(json: Record<string, unknown>, file: string): TuneOptions & { queue?: QueueExecutorOptions } {
  const dir = path.dirname(path.resolve(file));
  if (typeof json.objective !== 'string') throw new TransferKitError('E_BAD_OPTION', `${file}: "objective" must name the module exporting the objective (e.g. "./objective.mjs").`);
  if (typeof json.space !== 'object' || json.space === null) throw new TransferKitError('E_BAD_OPTION', `${file}: "space" must map hyperparameter names to dimensions.`);
  const space: SearchSpace = {};
  for (const [name, spec] of Object.entries(json.space as Record<string, unknown>)) space[name] = dimension(name, spec, file);
  const known = new Set(['objective', 'exportName', 'space', 'strategy', 'trials', 'gridPoints', 'asha', 'parallel', 'mode', 'seed', 'studyDir', 'trialTimeoutS', 'queue']);
  const unknown = Object.keys(json).filter((k) => !known.has(k));
  if (unknown.length > 0) throw new TransferKitError('E_BAD_OPTION', `${file}: unknown key(s) ${unknown.join(', ')}. Known: ${[...known].join(', ')}.`);
  let queue: QueueExecutorOptions | undefined;
  if (json.queue !== undefined) {
    const q = json.queue as Record<string, unknown>;
    const shape = '{ "redis": "redis://host:6379", "name": "queue-name", "study"?: "name", "attempts"?: 1, "prefix"?: "tk" }';
    if (typeof q !== 'object' || q === null || Array.isArray(q) || typeof q.redis !== 'string' || typeof q.name !== 'string') {
      throw new TransferKitError('E_BAD_OPTION', `${file}: "queue" must be ${shape}. Received: ${JSON.stringify(json.queue)}.`);
    }
    const extra = Object.keys(q).filter((k) => !['redis', 'name', 'study', 'attempts', 'prefix'].includes(k));
    if (extra.length > 0) throw new TransferKitError('E_BAD_OPTION', `${file}: unknown key(s) in "queue": ${extra.join(', ')}. "queue" is ${shape}.`);
    queue = {
      redis: q.redis,
      queue: q.name,
      module: path.resolve(dir, json.objective),
      ...(typeof q.study === 'string' ? { study: q.study } : {}),
      ...(typeof q.prefix === 'string' ? { prefix: q.prefix } : {}),
      ...(q.attempts !== undefined ? { attempts: Number(q.attempts) } : {}),
      ...(typeof json.exportName === 'string' ? { exportName: json.exportName } : {}),
      ...(json.trialTimeoutS !== undefined ? { trialTimeoutS: Number(json.trialTimeoutS) } : {}),
    };
  }
  return {
    ...(queue !== undefined ? { queue } : {}),
    space,
    objective: { module: path.resolve(dir, json.objective), ...(typeof json.exportName === 'string' ? { exportName: json.exportName } : {}) },
    ...(json.strategy !== undefined ? { strategy: json.strategy as TuneOptions['strategy'] } : {}),
    ...(json.trials !== undefined ? { trials: Number(json.trials) } : {}),
    ...(json.gridPoints !== undefined ? { gridPoints: Number(json.gridPoints) } : {}),
    ...(json.asha !== undefined ? { asha: json.asha as TuneOptions['asha'] } : {}),
    ...(json.parallel !== undefined ? { parallel: Number(json.parallel) } : {}),
    ...(json.mode !== undefined ? { mode: json.mode as 'max' | 'min' } : {}),
    ...(json.seed !== undefined ? { seed: Number(json.seed) } : {}),
    ...(typeof json.studyDir === 'string' ? { studyDir: path.resolve(dir, json.studyDir) } : {}),
    ...(json.trialTimeoutS !== undefined ? { trialTimeoutS: Number(json.trialTimeoutS) } : {}),
  };
}
