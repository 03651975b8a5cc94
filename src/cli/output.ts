/**
 * What the CLI prints: human lines on stderr (a live bar on a TTY, plain lines otherwise) and, with
 * `--json`, one JSON event per line on stdout for pipelines. Training progress comes through
 * fineTune's `progress` hook.
 */
import type { EpochLog, ProgressEvent } from '../index.js';

/** Output mode of a command. */
export type OutputMode = 'tty' | 'plain' | 'json';

/** The sink a command writes to. */
export interface Output {
  mode: OutputMode;
  /** A human line (stderr; in json mode too, so stdout stays machine-readable). */
  info(message: string): void;
  /** A machine event: stdout JSON line in json mode; ignored otherwise. */
  event(type: string, data: Record<string, unknown>): void;
  /** fineTune's progress hook for this mode. */
  progress(): (e: ProgressEvent) => void;
}

const pct = (v: number | undefined): string => (v === undefined || Number.isNaN(v) ? '-' : `${(100 * v).toFixed(1)}%`);
const f4 = (v: number | undefined): string => (v === undefined || Number.isNaN(v) ? '-' : v.toFixed(4));

function clock(sec: number): string {
  if (!Number.isFinite(sec)) return '--:--';
  const s = Math.max(0, Math.round(sec));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** An epoch's figures as one line. */
export function epochLine(l: EpochLog): string {
  const val = l.valLoss !== undefined ? ` | val loss ${f4(l.valLoss)} acc ${pct(l.valAccuracy)}` : '';
  return `${l.stage} epoch ${l.epoch}: loss ${f4(l.loss)} acc ${pct(l.accuracy)}${val} | lr ${l.learningRate.toExponential(2)} | ${l.seconds.toFixed(1)} s`;
}

/** The output for `json` (flag) on this process' streams. */
export function makeOutput(json: boolean): Output {
  const mode: OutputMode = json ? 'json' : process.stderr.isTTY === true ? 'tty' : 'plain';
  return {
    mode,
    info: (m) => void process.stderr.write(`${m}\n`),
    event: (type, data) => {
      if (mode === 'json') process.stdout.write(`${JSON.stringify({ type, ...data })}\n`);
    },
    progress: () => {
      if (mode === 'json') return (e) => void process.stdout.write(`${JSON.stringify(e.type === 'epoch' ? { type: 'epoch', ...e.log } : e)}\n`);
      if (mode === 'plain') return (e) => {
        if (e.type === 'epoch') process.stderr.write(`${epochLine(e.log)}\n`);
      };
      // TTY: a bar redrawn in place, with the epoch's ETA from the mean step time so far.
      let t0 = performance.now();
      let lastStep = 0;
      return (e) => {
        if (e.type === 'epoch') {
          process.stderr.write(`\r\x1b[2K${epochLine(e.log)}\n`);
          return;
        }
        if (e.step < lastStep || e.step === 1) t0 = performance.now();
        lastStep = e.step;
        const per = (performance.now() - t0) / 1000 / Math.max(e.step - 1, 1);
        const width = 24;
        const done = Math.round((width * e.step) / e.steps);
        const bar = `${'='.repeat(Math.max(0, done - 1))}${done > 0 ? '>' : ''}${' '.repeat(width - done)}`;
        process.stderr.write(`\r\x1b[2K${e.stage} ${e.epoch}/${e.epochs} [${bar}] ${e.step}/${e.steps} loss ${f4(e.loss)} acc ${pct(e.metric)} lr ${e.learningRate.toExponential(2)} ETA ${clock(per * (e.steps - e.step))}`);
      };
    },
  };
}
