/**
 * What the CLI prints: human lines on stderr (a live bar on a TTY, plain lines otherwise: one per
 * epoch, plus a step line when an epoch runs long) and, with `--json`, one JSON event per line on
 * stdout for pipelines. Training progress comes through fineTune's `progress` hook; off a TTY it
 * is fineTune's own `'lines'` output (src/callbacks/progress.ts).
 */
import type { ProgressEvent } from '../index.js';
import type { TrainingLog } from '../callbacks/callback.js';
import { formatEpochLine, progressReporter } from '../callbacks/progress.js';
import type { BackendInfo } from '../backends/backend.js';

/** Output mode of a command. */
export type OutputMode = 'tty' | 'plain' | 'json';

/** The sink a command writes to. */
export interface Output {
  mode: OutputMode;
  /** True with `--quiet`: no progress and no {@link Output.info} lines. */
  quiet: boolean;
  /** A human line (stderr; in json mode too, so stdout stays machine-readable); dropped when quiet. */
  info(message: string): void;
  /** A human line that is printed even when quiet (an interrupt and how to resume). */
  notice(message: string): void;
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

/** An epoch's figures as one line (`epochs`: the stage's epoch count, when known). */
export function epochLine(l: TrainingLog, epochs?: number): string {
  return formatEpochLine(l, epochs);
}

/**
 * The backend in a few words: `backend wasm (2 threads, SIMD)`, `backend webgpu (NVIDIA H100,
 * vulkan)`. Why it was chosen (`info.reason`, often a paragraph about the candidates passed over)
 * goes to the JSON `start` event and to `--verbose`.
 */
export function backendLine(info: Pick<BackendInfo, 'name' | 'threads' | 'simd' | 'gpuAdapter'>): string {
  const parts: string[] = [];
  if (info.gpuAdapter !== undefined) {
    const a = info.gpuAdapter;
    parts.push(a.description || a.device || a.vendor || 'GPU', a.dawnBackend);
    if (a.software) parts.push('software');
  }
  if (info.threads !== undefined) parts.push(`${info.threads} thread${info.threads === 1 ? '' : 's'}`);
  if (info.simd === true) parts.push('SIMD');
  return `backend ${info.name}${parts.length > 0 ? ` (${parts.join(', ')})` : ''}`;
}

/** The output for `json` (flag) on this process' streams; `quiet` drops progress and info lines. */
export function makeOutput(json: boolean, quiet = false): Output {
  const mode: OutputMode = json ? 'json' : process.stderr.isTTY === true ? 'tty' : 'plain';
  const line = (m: string): void => void process.stderr.write(`${m}\n`);
  return {
    mode,
    quiet,
    info: (m) => {
      if (!quiet) line(m);
    },
    notice: line,
    event: (type, data) => {
      if (mode === 'json') process.stdout.write(`${JSON.stringify({ type, ...data })}\n`);
    },
    progress: () => {
      if (mode === 'json') return (e) => void process.stdout.write(`${JSON.stringify(e.type === 'epoch' ? { type: 'epoch', ...e.log } : e)}\n`);
      if (quiet) return () => undefined;
      if (mode === 'plain') return progressReporter('lines', process.stderr) ?? (() => undefined);
      // TTY: a bar redrawn in place, with the epoch's ETA from the mean step time so far.
      let t0 = performance.now();
      let lastStep = 0;
      let epochs: number | undefined;
      return (e) => {
        if (e.type === 'epoch') {
          process.stderr.write(`\r\x1b[2K${epochLine(e.log, epochs)}\n`);
          return;
        }
        epochs = e.epochs;
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
