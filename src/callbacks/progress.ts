/**
 * Progress output of fineTune: a one-line bar on an interactive terminal (as Keras `verbose=1`),
 * plain lines when the output is a log file or a pipe (one per epoch, as Keras `verbose=2`, plus a
 * step line when an epoch runs long), JSON lines for pipelines (structured events), or the
 * caller's own function.
 */
import type { TrainingLog } from './callback.js';

/** Emitted after every step (`'batch'`) and every epoch (`'epoch'`, with the epoch's full log). */
export type ProgressEvent =
  | { type: 'batch'; stage: string; epoch: number; epochs: number; step: number; steps: number; loss: number; metric: number; learningRate: number }
  | { type: 'epoch'; log: TrainingLog };

/**
 * `'auto'` (default): `'bar'` when stderr is a TTY, `'lines'` otherwise; `'bar'` (redrawn in
 * place); `'lines'` (one line per epoch, and a step line when 10 s passed without output);
 * `'json'` (one JSON object per event); `'silent'` or `false` (nothing); or a function receiving
 * every event.
 */
export type ProgressOption = 'auto' | 'bar' | 'lines' | 'json' | 'silent' | false | ((event: ProgressEvent) => void);

/**
 * Settings of the `'lines'` output (written out in {@link progressReporter}'s signature, so the
 * public API needs no extra name).
 */
type LinesOptions = { stepLineSeconds?: number; metric?: 'accuracy' | 'mae'; now?: () => number };

interface Writable {
  write(s: string): unknown;
  isTTY?: boolean;
}

function stderr(): Writable | null {
  const p = (globalThis as { process?: { stderr?: Writable } }).process;
  return p?.stderr ?? null;
}

const fmt = (v: number | undefined, d = 4) => (v === undefined || Number.isNaN(v) ? '-' : v.toFixed(d));
const pct = (v: number | undefined): string => (v === undefined || Number.isNaN(v) ? '-' : `${(100 * v).toFixed(1)}%`);

/**
 * An epoch's figures as one line: `head epoch 2/5: loss 0.4123 acc 83.3% | val loss 0.3900 acc
 * 87.5% | lr 1.00e-3 | 12.3 s` (`mae` instead of `acc` for regression; `epochs` when known).
 */
export function formatEpochLine(l: TrainingLog, epochs?: number): string {
  const regression = l.mae !== undefined;
  const train = regression ? `mae ${fmt(l.mae)}` : `acc ${pct(l.accuracy)}`;
  const val = l.valLoss !== undefined ? ` | val loss ${fmt(l.valLoss)} ${l.valMae !== undefined ? `mae ${fmt(l.valMae)}` : `acc ${pct(l.valAccuracy)}`}` : '';
  return `${l.stage} epoch ${l.epoch}${epochs !== undefined ? `/${epochs}` : ''}: loss ${fmt(l.loss)} ${train}${val} | lr ${l.learningRate.toExponential(2)} | ${l.seconds.toFixed(1)} s`;
}

/** A step's running figures as one line: `head epoch 2/5 step 8/16: loss 0.4123 acc 83.3% | lr 1.00e-3`. */
export function formatStepLine(e: Extract<ProgressEvent, { type: 'batch' }>, metric: 'accuracy' | 'mae' = 'accuracy'): string {
  const m = metric === 'mae' ? `mae ${fmt(e.metric)}` : `acc ${pct(e.metric)}`;
  return `${e.stage} epoch ${e.epoch}/${e.epochs} step ${e.step}/${e.steps}: loss ${fmt(e.loss)} ${m} | lr ${e.learningRate.toExponential(2)}`;
}

/** `'lines'`: epoch lines, and step lines when `stepLineSeconds` passed without output. */
function linesReporter(write: (line: string) => void, options: LinesOptions): (e: ProgressEvent) => void {
  const now = options.now ?? (() => performance.now());
  const interval = (options.stepLineSeconds ?? 10) * 1000;
  let last = now();
  // Epoch events carry the log only: the stage's epoch count comes from its batch events.
  const epochsOf = new Map<string, number>();
  return (e) => {
    if (e.type === 'batch') {
      epochsOf.set(e.stage, e.epochs);
      if (e.step < e.steps && now() - last >= interval) {
        write(formatStepLine(e, options.metric));
        last = now();
      }
      return;
    }
    write(formatEpochLine(e.log, epochsOf.get(e.log.stage)));
    last = now();
  };
}

/**
 * The event sink for `option` (null when nothing is to be reported), writing to `out` (default
 * `process.stderr`).
 *
 * @param options - the `'lines'` output's settings: `stepLineSeconds`, print a step line when this
 * many seconds passed since the last line and the epoch is not over (default 10), so a long epoch
 * still shows progress in a log; `metric`, what the batch events' `metric` is (`'accuracy'`,
 * default, or `'mae'` for regression); `now`, the clock in milliseconds (default `performance.now`).
 */
export function progressReporter(
  option: ProgressOption = 'auto',
  out: Writable | null = stderr(),
  options: { stepLineSeconds?: number; metric?: 'accuracy' | 'mae'; now?: () => number } = {},
): ((e: ProgressEvent) => void) | null {
  if (typeof option === 'function') return option;
  if (option === false || option === 'silent' || out === null) return null;
  const mode = option === 'auto' ? (out.isTTY === true ? 'bar' : 'lines') : option;
  if (mode === 'json') return (e) => void out.write(`${JSON.stringify(e)}\n`);
  if (mode === 'lines') return linesReporter((line) => void out.write(`${line}\n`), options);
  return (e) => {
    if (e.type === 'batch') {
      const width = 24;
      const done = Math.round((width * e.step) / e.steps);
      const bar = `${'='.repeat(Math.max(0, done - 1))}${done > 0 ? (e.step === e.steps ? '=' : '>') : ''}${' '.repeat(width - done)}`;
      out.write(`\r${e.stage} ${e.epoch}/${e.epochs} [${bar}] ${e.step}/${e.steps} loss ${fmt(e.loss)} metric ${fmt(e.metric)} lr ${e.learningRate.toExponential(2)}`);
    } else {
      const l = e.log;
      const val = l.valLoss !== undefined ? ` | val loss ${fmt(l.valLoss)} ${l.valMae !== undefined ? `mae ${fmt(l.valMae)}` : `acc ${fmt(l.valAccuracy)}`}` : '';
      out.write(` | ${l.seconds.toFixed(1)} s${val}\n`);
    }
  };
}
