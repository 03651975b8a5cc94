/**
 * Progress output of fineTune: a one-line bar on an interactive terminal (as Keras `verbose=1`),
 * JSON lines for logs and pipelines (structured events), or the caller's own function.
 */
import type { EpochLog } from '../transfer/fine_tune.js';

/** Emitted after every step (`'batch'`) and every epoch (`'epoch'`, with the epoch's full log). */
export type ProgressEvent =
  | { type: 'batch'; stage: string; epoch: number; epochs: number; step: number; steps: number; loss: number; metric: number; learningRate: number }
  | { type: 'epoch'; log: EpochLog };

/**
 * `'auto'` (default): a bar when stderr is a TTY, nothing otherwise; `'bar'`; `'json'` (one JSON
 * object per event on stderr); `'silent'`; or a function receiving every event.
 */
export type ProgressOption = 'auto' | 'bar' | 'json' | 'silent' | ((event: ProgressEvent) => void);

interface Writable {
  write(s: string): unknown;
  isTTY?: boolean;
}

function stderr(): Writable | null {
  const p = (globalThis as { process?: { stderr?: Writable } }).process;
  return p?.stderr ?? null;
}

const fmt = (v: number | undefined, d = 4) => (v === undefined || Number.isNaN(v) ? '-' : v.toFixed(d));

/** The event sink for `option` (null when nothing is to be reported). */
export function progressReporter(option: ProgressOption = 'auto', out: Writable | null = stderr()): ((e: ProgressEvent) => void) | null {
  if (typeof option === 'function') return option;
  if (option === 'silent' || out === null) return null;
  const mode = option === 'auto' ? (out.isTTY === true ? 'bar' : null) : option;
  if (mode === null) return null;
  if (mode === 'json') return (e) => void out.write(`${JSON.stringify(e)}\n`);
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
