/**
 * `tune`: hyperparameter search for transfer learning — grid, seeded random, and ASHA (early
 * stopping of weak trials on the validation metric) over a typed space, trials in parallel (child
 * processes when the objective is a module, so trials are isolated), recorded in a study folder so
 * an interrupted study resumes where it stopped. Anchors: KerasTuner's `RandomSearch` / grid,
 * Ray Tune's `ASHAScheduler`, Optuna's study storage.
 *
 * Trial i's configuration is a pure function of (space, strategy, seed, i), so a resumed study
 * runs exactly the configurations the first run would have.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TransferKitError } from '../errors.js';
import { mulberry32 } from '../utils/random.js';
import { Asha } from './asha.js';
import { gridConfigs, sampleConfig, type SearchSpace, type TrialConfig } from './space.js';
import { TRIAL_WORKER_SOURCE } from './trial_worker.js';
import { ladderSvg, metricVsParameterSvgs } from './plots.js';

/** What a trial gets besides its configuration. */
export interface TrialContext {
  trialId: number;
  /**
   * Reports the metric after `step` units of resource (e.g. epochs); resolves to false when the
   * strategy stops the trial (ASHA), and the objective should then return.
   */
  report(step: number, value: number): Promise<boolean>;
}

/** An objective: trains with `config` and returns the final validation metric. */
export type Objective = (config: TrialConfig, ctx: TrialContext) => Promise<number>;

/** An objective exported by a module, run in a child process per trial. */
export interface ObjectiveModule {
  /** Path of a .js/.mjs module (or .ts, run through tsx) exporting the objective. */
  module: string;
  /** Export name (default 'objective'). */
  exportName?: string;
}

/**
 * Where and how a trial runs: the seam for dispatching trials elsewhere (another machine through a
 * job queue) without touching the strategies. `run` resolves to the trial's final metric and
 * forwards its intermediate reports through `report` (whose answer says whether to go on).
 */
export interface TrialExecutor {
  run(trialId: number, config: TrialConfig, report: TrialReport): Promise<number>;
  /** Called once before the first trial with the study's description and folder (an executor that keys its jobs by study binds here). */
  open?(study: StudyInfo): Promise<void>;
  /** Called when every trial of the study is recorded (nothing is left to resume: an executor may clean up). */
  end?(): Promise<void>;
}

/** What {@link TrialExecutor.open} learns about the study. */
export interface StudyInfo {
  /** Strategy, mode, seed, budget, space, ASHA settings and initial configurations (as `study.json`). */
  description: Record<string, unknown>;
  /** The study folder, when there is one. */
  dir?: string;
}

/**
 * How an executor forwards a trial's report: resolves to whether the trial goes on. `decided`
 * replays a report whose decision was already acted on (a driver restarted while its workers ran
 * on): the value is recorded for the strategy, and that decision stands.
 */
export type TrialReport = (step: number, value: number, decided?: boolean) => Promise<boolean>;

/** Runs an in-process objective function. */
export function functionExecutor(objective: Objective): TrialExecutor {
  return { run: (trialId, config, report) => objective(config, { trialId, report }) };
}

/** Runs a module objective in a fresh child process per trial (isolation: own engine, own heap). */
export function processExecutor(objective: ObjectiveModule, options: { trialTimeoutS?: number } = {}): TrialExecutor {
  return { run: (trialId, config, report) => runInChild(objective, config, trialId, report, options.trialTimeoutS) };
}

/** Options of {@link tune}. */
export interface TuneOptions {
  space: SearchSpace;
  /** A function (run in this process), a module (run in child processes), or a custom {@link TrialExecutor}. */
  objective: Objective | ObjectiveModule | TrialExecutor;
  /** Maximise (default, accuracy) or minimise (loss) the metric. */
  mode?: 'max' | 'min';
  /** 'grid', 'random' (default) or 'asha' (random configurations + ASHA early stopping). */
  strategy?: 'grid' | 'random' | 'asha';
  /** Trials for 'random' / 'asha' (default 10); 'grid' runs every combination. */
  trials?: number;
  /** Grid resolution of continuous dimensions (default 3). */
  gridPoints?: number;
  /** ASHA rungs: `maxResource` (e.g. the epochs of a full trial), `minResource` (default 1), `reductionFactor` (default 3). */
  asha?: { maxResource: number; minResource?: number; reductionFactor?: number };
  /** Trials at once (default: CPU cores for module objectives and executors, 1 for in-process functions). */
  parallel?: number;
  /** Seed of the random configurations (default 0). */
  seed?: number;
  /** Configurations to try first (e.g. the default recipe, as Optuna's `enqueue_trial`); they count towards `trials`. */
  initialConfigs?: TrialConfig[];
  /** A folder recording the study; an existing one is resumed. */
  studyDir?: string;
  /** Module objectives: kill a trial after this many seconds (recorded as failed). */
  trialTimeoutS?: number;
  onTrialEnd?: (trial: TrialRecord) => void;
}

/** One trial's outcome. */
export interface TrialRecord {
  id: number;
  config: TrialConfig;
  /** 'completed' (ran its full budget), 'stopped' (ASHA ended it early), 'failed' (threw or crashed). */
  status: 'completed' | 'stopped' | 'failed';
  /** Final metric (completed) or last reported one (stopped). */
  value?: number;
  /** `[step, value]` pairs the trial reported. */
  reports: [number, number][];
  error?: string;
  seconds: number;
}

/** What {@link tune} found. */
export interface TuneResult {
  /** The best completed trial (a stopped one only if none completed). */
  best: TrialRecord | null;
  /** Every trial, by id. */
  trials: TrialRecord[];
  /** Trials taken from the study folder instead of being run again. */
  resumed: number;
}

const STUDY = 'study.json';
const TRIALS = 'trials.jsonl';

function readRecords(dir: string): TrialRecord[] {
  const file = path.join(dir, TRIALS);
  if (!fs.existsSync(file)) return [];
  const out: TrialRecord[] = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    try {
      out.push(JSON.parse(line) as TrialRecord);
    } catch {
      // A line cut short by a crash: that trial runs again.
    }
  }
  return out;
}

function better(mode: 'max' | 'min', a: number, b: number): boolean {
  return mode === 'max' ? a > b : a < b;
}

/** Runs `objective` in a child process (see trial_worker.ts); also the queue workers' way to run a trial. */
export function runInChild(obj: ObjectiveModule, config: TrialConfig, trialId: number, report: TrialContext['report'], timeoutS?: number, options: { detached?: boolean; signal?: AbortSignal } = {}): Promise<number> {
  const file = path.resolve(obj.module);
  if (!fs.existsSync(file)) throw new TransferKitError('E_IO_NOT_FOUND', `tune: objective module ${file} does not exist.`);
  const loader = /\.[cm]?ts$/.test(file) ? ['--import', 'tsx'] : [];
  return new Promise((resolve, reject) => {
    // detached: its own process group, so a Ctrl-C meant for a queue worker does not kill its trials (they still exit when the worker dies: IPC disconnect).
    const child = spawn(process.execPath, [...loader, '--input-type=module', '-e', TRIAL_WORKER_SOURCE, file, obj.exportName ?? 'objective'], { stdio: ['ignore', 'inherit', 'pipe', 'ipc'], detached: options.detached === true });
    let settled = false;
    const abort = () => {
      if (settled) return;
      settled = true;
      child.kill('SIGKILL');
      reject(options.signal?.reason instanceof Error ? options.signal.reason : new Error(`trial ${trialId} was aborted`));
    };
    options.signal?.addEventListener('abort', abort, { once: true });
    if (options.signal?.aborted === true) abort();
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-2000);
    });
    const timer = timeoutS === undefined ? undefined : setTimeout(() => {
      settled = true;
      child.kill('SIGKILL');
      reject(new Error(`trial ${trialId} timed out after ${timeoutS} s`));
    }, timeoutS * 1000);
    child.on('message', (m: { type: string; step?: number; value?: number; message?: string }) => {
      if (m.type === 'report') {
        // JSON turned a non-finite value into null on the way: it was not a number.
        report(m.step as number, typeof m.value === 'number' ? m.value : Number.NaN).then(
          // With a callback, a send racing the child's exit (an aborted trial was just killed)
          // reports the closed channel there instead of as an 'error' event that would crash us.
          (go) => void (child.connected && child.send({ type: 'decision', continue: go }, () => undefined)),
          (err: unknown) => {
            // The report could not be decided (a queue worker lost its job): end the trial with that reason.
            if (settled) return;
            settled = true;
            child.kill('SIGKILL');
            reject(err instanceof Error ? err : new Error(String(err)));
          },
        );
      } else if (m.type === 'done' && !settled) {
        settled = true;
        resolve(typeof m.value === 'number' ? m.value : Number.NaN);
      } else if (m.type === 'error' && !settled) {
        settled = true;
        reject(new Error(m.message));
      }
    });
    // Spawn and IPC errors: the trial fails with them (once it has ended they change nothing).
    child.on('error', (err) => {
      if (settled) return;
      settled = true;
      if (timer !== undefined) clearTimeout(timer);
      child.kill('SIGKILL');
      reject(err);
    });
    child.on('exit', (code, signal) => {
      if (timer !== undefined) clearTimeout(timer);
      options.signal?.removeEventListener('abort', abort);
      if (!settled) {
        settled = true;
        reject(new Error(`trial ${trialId} exited with ${signal ?? `code ${code}`} before reporting a result${stderr ? `: ${stderr.trim().split('\n').slice(-3).join(' | ')}` : ''}`));
      }
    });
    child.send({ config, trialId }, () => undefined);
  });
}

/**
 * Searches `space` for the configuration whose objective is best (see module doc).
 * @example
 * ```ts
 * const r = await tune({
 *   space: { lr: logUniform(1e-5, 1e-2), recipe: choice(['two-stage', 'fine-tune']) },
 *   objective: { module: './objective.js' },        // trials in child processes
 *   strategy: 'asha', trials: 20, asha: { maxResource: 9 }, studyDir: 'runs/study',
 * });
 * console.log(r.best?.config, r.best?.value);
 * ```
 */
export async function tune(options: TuneOptions): Promise<TuneResult> {
  const mode = options.mode ?? 'max';
  const strategy = options.strategy ?? 'random';
  if (!['grid', 'random', 'asha'].includes(strategy)) throw new TransferKitError('E_BAD_OPTION', `tune: unknown strategy '${String(strategy)}'. Use 'grid', 'random' or 'asha'.`);
  if (Object.keys(options.space).length === 0) throw new TransferKitError('E_BAD_OPTION', 'tune: the search space is empty.');
  if (strategy === 'asha' && options.asha === undefined) throw new TransferKitError('E_BAD_OPTION', "tune: strategy 'asha' needs asha: { maxResource } (e.g. the epochs of a full trial).");
  const seed = options.seed ?? 0;
  const grid = strategy === 'grid' ? gridConfigs(options.space, options.gridPoints ?? 3) : null;
  const total = grid?.length ?? options.trials ?? 10;
  const initial = options.initialConfigs ?? [];
  const configOf = (i: number): TrialConfig => grid?.[i] ?? initial[i] ?? sampleConfig(options.space, mulberry32(seed * 1_000_003 + i + 1));
  const obj = options.objective;
  const executor: TrialExecutor = typeof obj === 'function' ? functionExecutor(obj) : 'run' in obj ? obj : processExecutor(obj, { trialTimeoutS: options.trialTimeoutS });
  const parallel = options.parallel ?? (typeof obj === 'function' ? 1 : (os.availableParallelism?.() ?? os.cpus().length));
  if (!(Number.isInteger(parallel) && parallel >= 1)) throw new TransferKitError('E_BAD_OPTION', `tune: parallel must be an integer >= 1. Received: ${parallel}.`);

  const dir = options.studyDir;
  const study = { strategy, mode, seed, total, space: options.space, asha: options.asha ?? null, gridPoints: options.gridPoints ?? 3, initialConfigs: initial };
  let previous: TrialRecord[] = [];
  if (dir !== undefined) {
    fs.mkdirSync(dir, { recursive: true });
    const studyFile = path.join(dir, STUDY);
    if (fs.existsSync(studyFile)) {
      const saved = fs.readFileSync(studyFile, 'utf8');
      if (saved !== JSON.stringify(study, null, 2)) throw new TransferKitError('E_BAD_OPTION', `tune: ${studyFile} describes another study (space, strategy, seed or budget changed). Use a new studyDir, or delete this one to start over.`);
      previous = readRecords(dir);
    } else {
      fs.writeFileSync(`${studyFile}.tmp`, JSON.stringify(study, null, 2));
      fs.renameSync(`${studyFile}.tmp`, studyFile);
    }
  }
  await executor.open?.({ description: study, ...(dir !== undefined ? { dir } : {}) });
  const asha = strategy === 'asha' ? new Asha({ ...(options.asha as { maxResource: number }), mode }) : null;
  const done = new Map<number, TrialRecord>();
  for (const r of previous.sort((a, b) => a.id - b.id)) {
    if (r.id >= total || done.has(r.id)) continue;
    done.set(r.id, r);
    // Replay its reports so the rungs hold what the interrupted run had recorded.
    for (const [step, value] of r.reports) asha?.report(step, value);
  }
  const resumed = done.size;
  const queue = Array.from({ length: total }, (_, i) => i).filter((i) => !done.has(i));

  const runTrial = async (id: number): Promise<TrialRecord> => {
    const config = configOf(id);
    const reports: [number, number][] = [];
    let stopped = false;
    const report = async (step: number, value: number, decided?: boolean): Promise<boolean> => {
      reports.push([step, value]);
      const rule = asha === null ? true : asha.report(step, value) === 'continue' || step >= (options.asha as { maxResource: number }).maxResource;
      const go = decided ?? rule;
      if (!go) stopped = true;
      return go;
    };
    const t0 = Date.now();
    try {
      const value = await executor.run(id, config, report);
      const status = stopped ? 'stopped' : 'completed';
      return { id, config, status, value: stopped ? reports[reports.length - 1][1] : value, reports, seconds: (Date.now() - t0) / 1000 };
    } catch (err) {
      return { id, config, status: 'failed', reports, error: (err as Error).message ?? String(err), seconds: (Date.now() - t0) / 1000 };
    }
  };

  const worker = async (): Promise<void> => {
    for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
      const rec = await runTrial(id);
      done.set(id, rec);
      if (dir !== undefined) fs.appendFileSync(path.join(dir, TRIALS), `${JSON.stringify(rec)}\n`);
      options.onTrialEnd?.(rec);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, Math.max(1, queue.length)) }, worker));

  const trials = [...done.values()].sort((a, b) => a.id - b.id);
  if (trials.length === total) await executor.end?.();
  if (dir !== undefined) writePlots(path.join(dir, 'plots'), trials, options.space);
  const pick = (xs: TrialRecord[]): TrialRecord | null => xs.filter((t) => t.value !== undefined && Number.isFinite(t.value)).reduce<TrialRecord | null>((b, t) => (b === null || better(mode, t.value as number, b.value as number) ? t : b), null);
  return { best: pick(trials.filter((t) => t.status === 'completed')) ?? pick(trials), trials, resumed };
}

/** Writes the study's SVG plots (metric vs each hyperparameter, the halving ladder) into `dir`. */
function writePlots(dir: string, trials: TrialRecord[], space: SearchSpace): void {
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, svg] of Object.entries(metricVsParameterSvgs(trials, space))) fs.writeFileSync(path.join(dir, `metric-vs-${name.replace(/[^\w.-]/g, '_')}.svg`), svg);
  fs.writeFileSync(path.join(dir, 'ladder.svg'), ladderSvg(trials));
}

/** A Markdown table of trials (best first), for run reports. */
export function trialTable(result: TuneResult, mode: 'max' | 'min' = 'max'): string {
  const keys = [...new Set(result.trials.flatMap((t) => Object.keys(t.config)))];
  const fmt = (v: unknown): string => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toPrecision(3)) : String(v));
  const rows = [...result.trials].sort((a, b) => {
    if (a.value === undefined) return 1;
    if (b.value === undefined) return -1;
    return better(mode, a.value, b.value) ? -1 : 1;
  });
  return [
    `| trial | ${keys.join(' | ')} | status | value | reports | seconds |`,
    `|${'---|'.repeat(keys.length + 5)}`,
    ...rows.map((t) => `| ${t.id} | ${keys.map((k) => fmt(t.config[k])).join(' | ')} | ${t.status} | ${t.value === undefined ? '—' : fmt(t.value)} | ${t.reports.length} | ${t.seconds.toFixed(1)} |`),
  ].join('\n');
}
