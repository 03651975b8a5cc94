/**
 * The `transferkit` command as users run it (the built dist/cli.js in a child process): a
 * fine-tune run folder on real ants/bees photos whose report.html renders in Chromium, Ctrl-C
 * (a real SIGINT) and --resume reproducing the uninterrupted run, evaluate / predict /
 * extract-features / lr-find / adapt / models on the same data, and one-sentence errors.
 */
// eslint-disable-next-line no-restricted-imports -- only instant commands (--version, shutdown, an empty node -e) run synchronously here
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readSafetensors } from '../../src/entries/io.js';
import { asset, HYMENOPTERA, MOBILENET } from '../helpers/assets.js';
import { CHROMIUM, FLAGS, chromiumAbsent } from '../helpers/chromium.js';
import { runCli } from '../helpers/cli.js';

const CLI = path.resolve(__dirname, '../../dist/cli.js');
const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'tk-cli-'));
let data = '';
let model = '';

/** The built CLI, run to the end (test/helpers/cli.ts). */
const cli = (args: string[], timeout = 300_000) => runCli(CLI, args, timeout);
const lastJson = (out: string): Record<string, unknown> => JSON.parse(out.trim().split('\n').filter((l) => l.startsWith('{')).at(-1) as string) as Record<string, unknown>;

beforeAll(() => {
  if (!fs.existsSync(CLI)) {
    console.log('[skip] dist/cli.js not built (npm test builds it first)');
    return;
  }
  const photos = asset(HYMENOPTERA);
  const mobilenet = asset(MOBILENET);
  if (photos === null || mobilenet === null) return;
  model = mobilenet;
  // A small copy of the data (16 photos per class; the GIF too, which must be skipped with a reason).
  data = path.join(tmp(), 'photos');
  for (const c of ['ants', 'bees']) {
    fs.mkdirSync(path.join(data, c), { recursive: true });
    const files = fs.readdirSync(path.join(photos, c)).filter((f) => f.endsWith('.jpg')).sort().slice(0, 16);
    for (const f of files) fs.copyFileSync(path.join(photos, c, f), path.join(data, c, f));
  }
  if (fs.existsSync(path.join(photos, 'ants', 'imageNotFound.gif'))) fs.copyFileSync(path.join(photos, 'ants', 'imageNotFound.gif'), path.join(data, 'ants', 'imageNotFound.gif'));
});

const ready = (ctx: { skip: () => void }): boolean => {
  if (!data) ctx.skip();
  return data !== '';
};

// Batch 2: 12 steps per epoch, so an interrupt can land in the middle of one.
const RUN = ['--head-epochs', '2', '--epochs', '2', '--batch', '2', '--val-split', '0.25', '--backend', 'wasm', '--seed', '7'];

describe('transferkit fine-tune', () => {
  let runDir = '';
  let runTensors = -1;

  it('writes a run folder (model, history, config, metrics, report.html) and its report renders in Chromium', async (ctx) => {
    if (!ready(ctx)) return;
    runDir = path.join(tmp(), 'run');
    const r = await cli(['fine-tune', '--model', model, '--data', data, '--out', runDir, ...RUN]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/skipped 1 \(imageNotFound\.gif: .*GIF is not among the formats read here/);
    // The backend in a few words (why it was chosen is in --verbose and the JSON start event).
    expect(r.stderr.split('\n')[0]).toMatch(/^backend wasm \(\d+ threads?(, SIMD)?\)$/);
    // Not a TTY: one line per epoch with the figures and seconds.
    expect(r.stderr).toMatch(/^head epoch 1\/2: loss \d+\.\d{4} acc \d+\.\d% \| val loss \d+\.\d{4} acc \d+\.\d% \| lr \S+ \| \d+\.\d s$/m);
    expect(r.stderr).toMatch(/^fine-tune epoch 2\/2: /m);
    const final = lastJson(r.stdout);
    expect(final.epochs).toBe(4);
    runTensors = final.numTensors as number;
    expect(fs.readdirSync(runDir).sort()).toEqual(['config.json', 'history.json', 'metrics.json', 'model', 'report.html']);
    const config = JSON.parse(fs.readFileSync(path.join(runDir, 'config.json'), 'utf8')) as { status: string; config: { seed: number; recipe: string }; environment: { backend: string } };
    expect(config).toMatchObject({ status: 'completed', config: { seed: 7, recipe: 'two-stage' }, environment: { backend: 'wasm' } });
    const history = JSON.parse(fs.readFileSync(path.join(runDir, 'history.json'), 'utf8')) as { history: unknown[]; learningRates: [number, number][] };
    expect(history.history).toHaveLength(4);
    expect(history.learningRates).toHaveLength(48); // 24 train photos / batch 2 = 12 steps x 4 epochs
    const metrics = JSON.parse(fs.readFileSync(path.join(runDir, 'metrics.json'), 'utf8')) as { accuracy: number; confusion: number[][] };
    expect(metrics.confusion.flat().reduce((a, b) => a + b, 0)).toBe(8);
    expect(metrics.accuracy).toBe(final.valAccuracy);
    const html = fs.readFileSync(path.join(runDir, 'report.html'), 'utf8');
    for (const part of ['Loss per epoch', 'Learning rate per step', 'Confusion matrix', 'precision', 'Environment', '&quot;seed&quot;: 7']) expect(html).toContain(part);
    expect(html).not.toMatch(/<script/);
    if (chromiumAbsent()) return;
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      const errors: string[] = [];
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(`file://${path.join(runDir, 'report.html')}`);
      const svgs = await page.evaluate(() => Array.from(document.querySelectorAll('svg')).map((s) => s.getBoundingClientRect().width));
      expect(svgs.length).toBeGreaterThanOrEqual(4); // loss, accuracy, learning rate, confusion matrix
      expect(svgs.every((w) => w > 100)).toBe(true);
      const shot = path.join(runDir, 'report.png');
      await page.screenshot({ path: shot, fullPage: true });
      expect(fs.statSync(shot).size).toBeGreaterThan(20_000);
      expect(errors).toEqual([]);
      console.log(`[cli] report screenshot ${shot}`);
    } finally {
      await browser.close();
    }
  }, 300_000);

  it('Ctrl-C (SIGINT) mid-epoch stops after the current step with a checkpoint; --resume --quiet finishes with the uninterrupted run\'s figures and tensor count', async (ctx) => {
    if (!ready(ctx) || !runDir) return ctx.skip();
    const dir = path.join(tmp(), 'interrupted');
    const child = spawn(process.execPath, [CLI, 'fine-tune', '--model', model, '--data', data, '--out', dir, '--json', ...RUN], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let sent = false;
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.stdout.on('data', (b: Buffer) => {
      stdout += b.toString();
      // The fine-tune stage's fourth step (of 12 in the epoch) has finished: interrupt during the fifth.
      if (!sent && /"type":"batch","stage":"fine-tune","epoch":1,"epochs":2,"step":4,/.test(stdout)) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(sent).toBe(true);
    expect(code, stderr).toBe(130);
    expect(stderr).toMatch(/Interrupted: finishing the current step/);
    expect(stderr).toContain(`Resume with: transferkit fine-tune --resume ${dir}`);
    const events = stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; stage?: string; step?: number; backendInfo?: { reason: string } });
    expect(events[0].type).toBe('start');
    expect(events[0].backendInfo?.reason).toMatch(/\w+/); // the full reason stays in the JSON events
    const ftSteps = events.filter((e) => e.type === 'batch' && e.stage === 'fine-tune');
    // The signal lands right after step 4's event (before the loop checks for it) or while step 5
    // (with a slow pipe, 6) runs: the run stops after that step, mid-epoch, not at the epoch's end (12).
    const last = ftSteps.at(-1)?.step as number;
    expect(last).toBeGreaterThanOrEqual(4);
    expect(last).toBeLessThanOrEqual(6);
    expect(events.at(-1)?.type).toBe('interrupted');
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')).status).toBe('interrupted');
    const state = JSON.parse(fs.readFileSync(path.join(dir, 'checkpoint', 'state.json'), 'utf8')) as { epochsDone: number; stepInEpoch?: number; order?: number[] };
    expect(state).toMatchObject({ epochsDone: 0, stepInEpoch: last });
    expect(state.order).toHaveLength(24);

    const resumed = await cli(['fine-tune', '--resume', dir, '--quiet']);
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stderr).toBe(''); // --quiet: no backend, data, progress or summary lines
    const a = lastJson(resumed.stdout);
    // The resumed process ends holding what the uninterrupted one did (no restored-state leak).
    expect(a.numTensors).toBe(runTensors);
    const full = JSON.parse(fs.readFileSync(path.join(runDir, 'metrics.json'), 'utf8')) as { loss: number; accuracy: number };
    expect(a.valAccuracy).toBe(full.accuracy);
    expect(Math.abs((a.valLoss as number) - full.loss)).toBeLessThan(1e-5);
    const lrs = JSON.parse(fs.readFileSync(path.join(dir, 'history.json'), 'utf8')).learningRates as [number, number][];
    const fullLrs = JSON.parse(fs.readFileSync(path.join(runDir, 'history.json'), 'utf8')).learningRates as [number, number][];
    expect(lrs.map((x) => x[0])).toEqual(fullLrs.map((x) => x[0]));
    expect(fs.existsSync(path.join(dir, 'checkpoint'))).toBe(false);
    expect((await cli(['fine-tune', '--resume', dir])).stderr).toMatch(/already completed/);
  }, 300_000);

  it('evaluate, predict, extract-features and lr-find work on the run and the photos', async (ctx) => {
    if (!ready(ctx) || !runDir) return ctx.skip();
    const out = tmp();
    const ev = await cli(['evaluate', '--model', runDir, '--data', data, '--out', out, '--backend', 'wasm']);
    expect(ev.status, ev.stderr).toBe(0);
    const e = lastJson(ev.stdout);
    expect(e.examples).toBe(32);
    expect(e.accuracy as number).toBeGreaterThan(0.5);
    expect(fs.existsSync(path.join(out, 'report.html'))).toBe(true);

    const files = fs.readdirSync(path.join(data, 'bees')).slice(0, 2).map((f) => path.join(data, 'bees', f));
    const pr = await cli(['predict', '--model', runDir, '--top', '2', '--backend', 'wasm', ...files]);
    expect(pr.status, pr.stderr).toBe(0);
    const rows = pr.stdout.trim().split('\n').map((l) => JSON.parse(l) as { input: string; predictions: { class: string; probability: number }[] });
    expect(rows.map((r) => r.input)).toEqual(files);
    for (const r of rows) {
      expect(r.predictions.map((p) => p.class).sort()).toEqual(['ants', 'bees']);
      expect(r.predictions[0].probability + r.predictions[1].probability).toBeCloseTo(1, 4);
    }

    const file = path.join(out, 'features.safetensors');
    const fx = await cli(['extract-features', '--model', model, '--data', data, '--out', file, '--backend', 'wasm']);
    expect(fx.status, fx.stderr).toBe(0);
    const t = readSafetensors(file);
    expect(t.get('features')?.shape).toEqual([32, 1280]);
    expect(Array.from(t.get('labels')?.data ?? []).filter((l) => l === 1)).toHaveLength(16);
    const lr = await cli(['lr-find', '--model', model, '--data', data, '--out', out, '--iterations', '20', '--batch', '8', '--backend', 'wasm']);
    expect(lr.status, lr.stderr).toBe(0);
    expect(lastJson(lr.stdout).iterations as number).toBeGreaterThan(5);
    expect(fs.readFileSync(path.join(out, 'lr_find.svg'), 'utf8')).toContain('LR range test');
  }, 300_000);

  it('adapt runs DomainAdapter from the command line and saves the adapted model', async (ctx) => {
    if (!ready(ctx)) return;
    const out = path.join(tmp(), 'adapt');
    const r = await cli(['adapt', '--model', model, '--source', data, '--target', data, '--method', 'coral', '--epochs', '1', '--batch', '8', '--out', out, '--backend', 'wasm']);
    expect(r.status, r.stderr).toBe(0);
    expect(lastJson(r.stdout)).toMatchObject({ methods: ['coral'], epochs: 1 });
    expect(fs.existsSync(path.join(out, 'model', 'model.json'))).toBe(true);
    expect(fs.readFileSync(path.join(out, 'adaptation.svg'), 'utf8')).toContain('<svg');
  }, 300_000);
});

describe('errors and listings', () => {
  it('one sentence with the fix, exit 1, no stack unless --verbose; usage errors exit 2', async (ctx) => {
    if (!fs.existsSync(CLI)) return ctx.skip();
    const flat = path.join(tmp(), 'flat');
    fs.mkdirSync(flat);
    fs.writeFileSync(path.join(flat, 'a.jpg'), 'x');
    const noModel = await cli(['fine-tune', '--model', 'resnet9000', '--data', flat, '--backend', 'cpu']);
    expect(noModel.status).toBe(1);
    expect(noModel.stderr).toMatch(/^Error: Unknown model id 'resnet9000'\. Known ids: .*transferkit models/m);
    expect(noModel.stderr).not.toMatch(/\n\s+at /);
    if (model) {
      const layout = await cli(['fine-tune', '--model', model, '--data', flat, '--backend', 'cpu']);
      expect(layout.status).toBe(1);
      expect(layout.stderr).toMatch(/has 0 sub-folder\(s\); an image-classification folder needs one sub-folder per class/);
      const verbose = await cli(['fine-tune', '--model', model, '--data', flat, '--backend', 'cpu', '--verbose']);
      expect(verbose.stderr).toMatch(/\n\s+at /);
    }
    const usage = await cli(['fine-tune', '--epochs']);
    expect(usage.status).toBe(2);
    expect(usage.stderr).toContain('Usage: transferkit fine-tune');
    const unknown = await cli(['frobnicate']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/Unknown command 'frobnicate'/);
  }, 120_000);

  it('models lists the zoo and the cache; --help lists every command', async (ctx) => {
    if (!fs.existsSync(CLI)) return ctx.skip();
    const m = await cli(['models', '--json']);
    expect(m.status).toBe(0);
    const j = JSON.parse(m.stdout) as { zoo: { id: string }[]; cache: { dir: string } };
    expect(j.zoo.map((z) => z.id)).toEqual(expect.arrayContaining(['vgg16', 'resnet50', 'mobilenet_v2', 'efficientnet_b0']));
    const h = await cli(['--help']);
    for (const c of ['fine-tune', 'evaluate', 'predict', 'extract-features', 'adapt', 'lr-find', 'models', 'doctor', 'tune']) expect(h.stdout).toContain(c);
    expect(spawnSync(process.execPath, [CLI, '--version'], { encoding: 'utf8' }).stdout.trim()).toBe(JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../package.json'), 'utf8')).version);
  });
});
