/**
 * Hyperparameter search: typed spaces, grid / random / ASHA, study folders that resume, failure
 * isolation, and parallel trials (in-process and in child processes).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { quantile } from '../../src/tune/asha.js';
import { Asha, choice, gridConfigs, int, logUniform, sampleConfig, trialTable, tune, uniform, type TrialConfig, type TrialExecutor } from '../../src/entries/tune.js';
import { mulberry32 } from '../../src/utils/random.js';

const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'tk-tune-'));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('search spaces', () => {
  it('samples within bounds; log-uniform is uniform in log space; int respects its step', () => {
    const space = { lr: logUniform(1e-5, 1e-1), p: uniform(0, 0.5), depth: int(2, 10, 2), recipe: choice(['a', 'b']) };
    const r = mulberry32(1);
    const lrs: number[] = [];
    for (let i = 0; i < 2000; i++) {
      const c = sampleConfig(space, r);
      expect(c.lr as number).toBeGreaterThanOrEqual(1e-5);
      expect(c.lr as number).toBeLessThanOrEqual(1e-1);
      expect([2, 4, 6, 8, 10]).toContain(c.depth);
      expect(['a', 'b']).toContain(c.recipe);
      lrs.push(Math.log10(c.lr as number));
    }
    expect(quantile(lrs, 0.5)).toBeGreaterThan(-3.2);
    expect(quantile(lrs, 0.5)).toBeLessThan(-2.8); // the median of log10 U(-5, -1) is -3
    expect(() => logUniform(0, 1)).toThrow(/0 < low < high/);
  });

  it('grids every combination, continuous axes at gridPoints (geometric for log-uniform)', () => {
    const g = gridConfigs({ recipe: choice(['x', 'y']), lr: logUniform(1e-4, 1e-2) }, 3);
    expect(g).toHaveLength(6);
    expect(g.map((c) => c.recipe)).toEqual(['x', 'x', 'x', 'y', 'y', 'y']);
    expect((g[1].lr as number)).toBeCloseTo(1e-3, 12);
  });
});

describe('ASHA (Ray Tune ASHAScheduler semantics)', () => {
  it('builds rungs grace * eta^k below max and stops reports under the (1 - 1/eta) quantile', () => {
    const a = new Asha({ minResource: 1, maxResource: 27, reductionFactor: 3, mode: 'max' });
    expect(a.rungs).toEqual([1, 3, 9]);
    expect(a.report(1, 0.5)).toBe('continue'); // alone at the rung: it is its own cutoff
    expect(a.report(1, 0.9)).toBe('continue');
    expect(a.report(1, 0.1)).toBe('stop'); // cutoff = 66.7th percentile of [0.5, 0.9, 0.1] = 0.633
    expect(a.report(2, 0.0)).toBe('continue'); // not a rung
    const m = new Asha({ maxResource: 9, mode: 'min' });
    m.report(1, 0.3);
    expect(m.report(1, 0.9)).toBe('stop'); // minimising: a larger loss is worse
  });

  it('on a synthetic objective, the best trials reach the full budget and the weak ones stop early', async () => {
    // Each trial's quality q is its config; its curve q * (1 - 1 / (1 + step)) rises with resource.
    const steps: number[] = [];
    const r = await tune({
      space: { q: uniform(0, 1) },
      strategy: 'asha',
      trials: 27,
      asha: { maxResource: 9, minResource: 1, reductionFactor: 3 },
      seed: 3,
      objective: async (c, ctx) => {
        let used = 0;
        let v = 0;
        for (let step = 1; step <= 9; step++) {
          used = step;
          v = (c.q as number) * (1 - 1 / (1 + step));
          if (!(await ctx.report(step, v))) break;
        }
        steps.push(used);
        return v;
      },
    });
    const qs = r.trials.map((t) => t.config.q as number);
    const bestQ = Math.max(...qs);
    expect(r.best?.config.q).toBe(bestQ);
    expect(r.best?.status).toBe('completed');
    // Far less compute than 27 full trials, and the completed trials are among the best.
    expect(steps.reduce((a, b) => a + b, 0)).toBeLessThan(27 * 9 * 0.5);
    const { ladderSvg } = await import('../../src/tune/plots.js');
    expect(ladderSvg(r.trials).match(/<g data-series=/g)).toHaveLength(27);
    const completed = r.trials.filter((t) => t.status === 'completed').map((t) => t.config.q as number);
    const median = quantile(qs, 0.5);
    expect(completed.every((q) => q > median)).toBe(true);
    expect(trialTable(r)).toMatch(/^\| trial \| q \| status \| value/);
  });
});

describe('tune: strategies, resume, failures, parallelism', () => {
  const space = { lr: logUniform(1e-4, 1e-1), width: choice([16, 32, 64]) };
  const score = (c: TrialConfig): number => -((Math.log10(c.lr as number) + 2) ** 2) + (c.width === 32 ? 0.1 : 0);

  it('grid finds the grid optimum; random is reproducible by seed', async () => {
    const g = await tune({ space, strategy: 'grid', gridPoints: 4, objective: async (c) => score(c) });
    expect(g.trials).toHaveLength(12);
    expect(g.best?.config.width).toBe(32);
    const a = await tune({ space, trials: 6, seed: 5, objective: async (c) => score(c) });
    const b = await tune({ space, trials: 6, seed: 5, objective: async (c) => score(c) });
    expect(b.trials.map((t) => t.config)).toEqual(a.trials.map((t) => t.config));
  });

  it('records a throwing trial as failed and goes on', async () => {
    const r = await tune({ space, trials: 5, objective: async (c, ctx) => {
      if (ctx.trialId === 2) throw new Error('out of memory (simulated)');
      return score(c);
    } });
    expect(r.trials.map((t) => t.status)).toEqual(['completed', 'completed', 'failed', 'completed', 'completed']);
    expect(r.trials[2].error).toMatch(/out of memory/);
  });

  it('resumes an interrupted study: finished trials are not run again, the rest are the same configurations', async () => {
    const dir = tmp();
    const fresh = await tune({ space, trials: 6, seed: 9, objective: async (c) => score(c) });
    await tune({ space, trials: 6, seed: 9, studyDir: dir, objective: async (c) => score(c) });
    // Simulate a crash after three trials: keep three records and half of the fourth line.
    const lines = fs.readFileSync(path.join(dir, 'trials.jsonl'), 'utf8').trim().split('\n');
    fs.writeFileSync(path.join(dir, 'trials.jsonl'), `${lines.slice(0, 3).join('\n')}\n${lines[3].slice(0, 20)}`);
    const ran: number[] = [];
    const resumed = await tune({ space, trials: 6, seed: 9, studyDir: dir, objective: async (c, ctx) => {
      ran.push(ctx.trialId);
      return score(c);
    } });
    expect(resumed.resumed).toBe(3);
    expect(ran).toEqual([3, 4, 5]);
    expect(resumed.trials.map((t) => t.config)).toEqual(fresh.trials.map((t) => t.config));
    await expect(tune({ space, trials: 7, seed: 9, studyDir: dir, objective: async (c) => score(c) })).rejects.toThrow(/describes another study/);
    // The run report's plots: one dot per scored trial per hyperparameter, one curve per reporting trial.
    const plots = path.join(dir, 'plots');
    expect(fs.readdirSync(plots).sort()).toEqual(['ladder.svg', 'metric-vs-lr.svg', 'metric-vs-width.svg']);
    expect(fs.readFileSync(path.join(plots, 'metric-vs-lr.svg'), 'utf8').match(/<circle /g)).toHaveLength(6);
  });

  it('dispatches through a custom TrialExecutor (the seam for a remote job queue), reports included', async () => {
    const queue: { id: number; config: TrialConfig }[] = [];
    const executor: TrialExecutor = {
      // A stand-in for a queue round trip: enqueue, let a "remote worker" pick it up later.
      run: async (id, config, report) => {
        queue.push({ id, config });
        await sleep(5);
        await report(1, score(config));
        return score(config);
      },
    };
    const r = await tune({ space, trials: 4, parallel: 2, objective: executor });
    expect(queue.map((q) => q.id).sort()).toEqual([0, 1, 2, 3]);
    expect(r.trials.every((t) => t.status === 'completed' && t.reports.length === 1)).toBe(true);
  });

  it('runs in-process trials concurrently up to `parallel`', async () => {
    let running = 0;
    let peak = 0;
    await tune({ space, trials: 6, parallel: 3, objective: async (c) => {
      running++;
      peak = Math.max(peak, running);
      await sleep(30);
      running--;
      return score(c);
    } });
    expect(peak).toBe(3);
  });

  it('runs module objectives in child processes, in parallel, isolating a crashing trial', async () => {
    const dir = tmp();
    const mod = path.join(dir, 'objective.mjs');
    // Each trial but the crashing one marks its start, then waits (up to a minute) until 3 marks exist:
    // trials 0, 2 and 3 can only get past that by running at the same time, so concurrency is
    // proven by events, not by timing (trial 4, started later, finds the marks already there).
    const marks = path.join(dir, 'started');
    fs.mkdirSync(marks);
    fs.writeFileSync(mod, `
      import * as fs from 'node:fs';
      export async function objective(config, ctx) {
        if (ctx.trialId === 1) process.exit(3); // a hard crash, not an exception
        fs.writeFileSync(${JSON.stringify(marks)} + '/' + ctx.trialId, '');
        // Up to 3,000 polls 20 ms apart (a minute): never meeting the others means no parallelism.
        for (let poll = 0; fs.readdirSync(${JSON.stringify(marks)}).length < 3; poll++) {
          if (poll === 3000) return -1;
          await new Promise((r) => setTimeout(r, 20));
        }
        const go = await ctx.report(1, config.width);
        return go ? config.width + process.pid * 0 : -1;
      }
    `);
    const r = await tune({ space, trials: 5, parallel: 4, objective: { module: mod } });
    expect(r.trials.map((t) => t.status)).toEqual(['completed', 'failed', 'completed', 'completed', 'completed']);
    expect(r.trials[1].error).toMatch(/exited with code 3/);
    // Trials 0, 2 and 3 met each other running (a sequential executor would return -1).
    expect(r.trials.filter((t) => t.status === 'completed').every((t) => t.value === t.config.width)).toBe(true);
    expect(r.trials[0].reports).toEqual([[1, r.trials[0].config.width]]);
    const slow = path.join(dir, 'slow.mjs');
    fs.writeFileSync(slow, 'export async function objective() { await new Promise((r) => setTimeout(r, 30000)); return 1; }\n');
    const timedOut = await tune({ space, trials: 1, trialTimeoutS: 0.2, objective: { module: slow } });
    expect(timedOut.trials[0].error).toMatch(/timed out after 0.2 s/);
  });
});

describe('transferkit tune --config (JSON studies)', () => {
  it('parses a config file and runs the study from the command line', async () => {
    const dir = tmp();
    fs.writeFileSync(path.join(dir, 'objective.mjs'), 'export async function objective(c) { return -((Math.log10(c.lr) + 2) ** 2) + (c.width === 32 ? 0.1 : 0); }\n');
    const config = { objective: './objective.mjs', space: { lr: { logUniform: [1e-4, 1e-1] }, width: { choice: [16, 32] } }, strategy: 'grid', gridPoints: 4, parallel: 2, studyDir: 'study' };
    fs.writeFileSync(path.join(dir, 'tune.json'), JSON.stringify(config));
    const { runAsync } = await import('../helpers/run.js');
    const r = await runAsync(process.execPath, ['--import', 'tsx', path.resolve(__dirname, '../../src/cli/main.ts'), 'tune', '--config', path.join(dir, 'tune.json')], { cwd: path.resolve(__dirname, '../..') });
    expect(r.status, r.stderr).toBe(0);
    const last = JSON.parse(r.stdout.trim().split('\n').pop() as string) as { best: { config: TrialConfig }; trials: number };
    expect(last.trials).toBe(8);
    expect(last.best.config.width).toBe(32);
    expect(last.best.config.lr as number).toBeCloseTo(0.01, 12);
    expect(fs.existsSync(path.join(dir, 'study', 'trials.jsonl'))).toBe(true);
    const { tuneOptionsFromJson } = await import('../../src/tune/config_file.js');
    expect(() => tuneOptionsFromJson({ ...config, space: { lr: { normal: [0, 1] } } }, 'tune.json')).toThrow(/space\.lr must be one of/);
    expect(() => tuneOptionsFromJson({ ...config, budget: 3 }, 'tune.json')).toThrow(/unknown key\(s\) budget/);
  });
});
