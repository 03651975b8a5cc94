/**
 * The fuzz suite of the input boundary (issue 27): for every loader, TK_FUZZ_N (default 2000)
 * inputs mutated from real seed files (bit flips, truncations, field swaps, huge declared sizes,
 * deep nesting, path tricks; see mutate.ts), each run in a child process watched from here. Every
 * input must end in success or a coded TransferKitError, within TK_FUZZ_INPUT_MS, with no tensor
 * left behind, no file read or written outside its folder, and the child's peak RSS under
 * TK_FUZZ_RSS_MB. The counts per target are printed (`[fuzz]` lines) for the docs.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { TARGETS } from './targets.js';

const N = Number(process.env.TK_FUZZ_N ?? 2000);
const SEED = Number(process.env.TK_FUZZ_SEED ?? 27);
const INPUT_MS = Number(process.env.TK_FUZZ_INPUT_MS ?? 20_000);
const RSS_MB = Number(process.env.TK_FUZZ_RSS_MB ?? 1536);
const ONLY = process.env.TK_FUZZ_ONLY;
const ROOT = path.resolve(__dirname, '../..');

interface Line {
  i?: number;
  outcome?: 'ok' | 'coded' | 'raw' | 'escape';
  detail?: string;
  what?: string;
  ms?: number;
  tensors?: number;
  rss?: number;
  skip?: string;
  done?: boolean;
  maxRssKb?: number;
  fatal?: string;
  ready?: boolean;
}

interface Report {
  target: string;
  inputs: number;
  outcomes: Record<string, number>;
  codes: Record<string, number>;
  failures: string[];
  maxMs: number;
  peakRssMb: number;
  skipped?: string;
}

/** Runs inputs [from, N) in one child; resolves with the index to restart from (N when done). */
function runChild(index: number, from: number, root: string, report: Report): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--max-old-space-size=1024', '--stack-size=2000', '--import', 'tsx', path.join(__dirname, 'child/fuzz_worker.ts')], {
      cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, TK_FUZZ_TARGET: String(index), TK_FUZZ_FROM: String(from), TK_FUZZ_TO: String(N), TK_FUZZ_SEED: String(SEED), TK_FUZZ_ROOT: root },
    });
    let next = from;
    let buf = '';
    let stderr = '';
    let timer: NodeJS.Timeout;
    let hung = false;
    const arm = (ms: number) => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        hung = true;
        child.kill('SIGKILL');
      }, ms);
    };
    arm(120_000); // start-up and seeds
    child.stderr.on('data', (d) => (stderr = (stderr + String(d)).slice(-4000)));
    child.stdout.on('data', (d) => {
      buf += String(d);
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const text = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (!text.startsWith('{')) continue;
        const line = JSON.parse(text) as Line;
        if (line.skip !== undefined) report.skipped = line.skip;
        if (line.fatal !== undefined) report.failures.push(`worker died: ${line.fatal.slice(0, 800)}`);
        if (line.ready === true) arm(INPUT_MS); // seeds built: from now on each input has INPUT_MS
        if (line.maxRssKb !== undefined) report.peakRssMb = Math.max(report.peakRssMb, line.maxRssKb / 1024);
        if (line.i === undefined) continue;
        next = line.i + 1;
        report.inputs++;
        let outcome: string = line.outcome as string;
        if (outcome !== 'raw' && outcome !== 'escape' && (line.tensors ?? 0) !== 0) outcome = 'leak';
        report.outcomes[outcome] = (report.outcomes[outcome] ?? 0) + 1;
        if (line.outcome === 'coded') report.codes[line.detail as string] = (report.codes[line.detail as string] ?? 0) + 1;
        report.maxMs = Math.max(report.maxMs, line.ms ?? 0);
        report.peakRssMb = Math.max(report.peakRssMb, (line.rss ?? 0) / 2 ** 20);
        if (outcome === 'raw' || outcome === 'escape' || outcome === 'leak') {
          if (report.failures.length < 30) report.failures.push(`#${line.i} ${outcome}: ${line.what} -> ${line.detail ?? `${line.tensors} tensors left`}`);
        }
        arm(INPUT_MS);
      }
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (next >= N || report.skipped !== undefined || report.failures.some((f) => f.startsWith('worker died'))) return resolve(N);
      // The input after the last reported one hung or crashed the process: record it, go on after it.
      const kind = hung ? 'hang' : 'crash';
      report.inputs++;
      report.outcomes[kind] = (report.outcomes[kind] ?? 0) + 1;
      report.failures.push(`#${next} ${kind} (exit ${code ?? signal}): ${stderr.split('\n').slice(-6).join(' | ').slice(0, 600)}`);
      resolve(next + 1);
    });
  });
}

/** Names, sizes and SHA-256 of the files in `dir`. */
function digestOf(dir: string): string {
  if (!fs.existsSync(dir)) return '';
  const h = createHash('sha256');
  for (const n of fs.readdirSync(dir).sort()) h.update(`${n}\0`).update(fs.readFileSync(path.join(dir, n)));
  return h.digest('hex');
}

describe('fuzz: every loader ends in success or a coded error', () => {
  TARGETS.forEach((target, index) => {
    const run = ONLY === undefined || target.name.toLowerCase().includes(ONLY.toLowerCase()) ? it : it.skip;
    run(`${target.name}: ${N} mutated inputs`, async (ctx) => {
      const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-fuzz-'));
      let canaries: string | undefined;
      const report: Report = { target: target.name, inputs: 0, outcomes: {}, codes: {}, failures: [], maxMs: 0, peakRssMb: 0 };
      for (let from = 0; from < N; ) {
        from = await runChild(index, from, root, report);
        canaries ??= digestOf(path.join(root, 'outside'));
      }
      if (report.skipped !== undefined) {
        console.log(`[fuzz] ${target.name}: skipped (${report.skipped})`);
        return ctx.skip();
      }
      // Nothing may appear beside the sandbox's own folders, and the canaries stay as they were.
      const stray = fs.readdirSync(root).filter((n) => !['seeds', 'outside', 'in'].includes(n));
      // The canaries a path trick would reach: written by the first worker, never touched after.
      const canariesAfter = digestOf(path.join(root, 'outside'));
      const leftInputs = fs.existsSync(path.join(root, 'in')) ? fs.readdirSync(path.join(root, 'in')) : [];
      console.log(`[fuzz] ${JSON.stringify({ ...report, failures: report.failures.length })}`);
      for (const f of report.failures) console.log(`[fuzz]   ${f}`);
      fs.rmSync(root, { recursive: true, force: true });
      expect(report.failures).toEqual([]);
      expect(stray).toEqual([]);
      expect(canariesAfter).toBe(canaries);
      expect(leftInputs.length).toBeLessThanOrEqual((report.outcomes.hang ?? 0) + (report.outcomes.crash ?? 0));
      expect(report.inputs).toBe(N);
      expect(report.peakRssMb).toBeLessThan(RSS_MB);
    }, 1_800_000);
  });
});
