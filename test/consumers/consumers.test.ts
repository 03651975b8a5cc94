/**
 * The consumer matrix: the product is the packed tarball, so each real kind of client installs it
 * into a fresh project outside this repository (test/consumers/_install.ts, offline) and runs a
 * short real program there — ESM, CommonJS, TypeScript (`nodenext`, `strict`) on the README's and
 * guide's examples, the CLI, and pages bundled by Vite (build and dev server) and by esbuild with
 * no configuration, training in headless Chromium on wasm. Each test's name says which client broke.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import jpeg from 'jpeg-js';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';
import { blockSource, docBlocks, preambleLines } from '../helpers/doc_blocks.js';
import { chromiumAbsent, resultOfPage, serveFolder } from '../helpers/chromium.js';
import { packAndInstall, ROOT, type Consumer } from './_install.js';
import { runAsync, type ProcessRun } from '../helpers/run.js';

const CLIENTS = path.join(__dirname, 'clients');

/** Runs a command to its end without blocking vitest's worker (see ../helpers/run.ts). */
const run = (cmd: string, args: string[], cwd: string): Promise<ProcessRun> => runAsync(cmd, args, { cwd, env: { ...process.env, NODE_OPTIONS: '' } });

const lastJson = <T>(stdout: string): T => JSON.parse(stdout.trim().split('\n').filter((l) => l.startsWith('{')).at(-1) as string) as T;

interface NodeJobResult {
  client: string;
  backend: string;
  threads: number;
  simd: boolean;
  canTrain: boolean;
  losses: number[];
  accuracy: number;
  tensorsPerEpoch: number[];
  savedTo: string;
  reloadedClassNames: string[];
  maxPredictionDiff: number;
  chainedOpsMatch: boolean;
  subpaths: Record<string, number>;
  sharedClasses: boolean;
  subpathSchedule: number;
}

/** What every client's training must show: it learned the easy task, without leaking tensors. */
function expectLearned(r: { losses: number[]; accuracy: number; tensorsPerEpoch: number[] }): void {
  expect(r.losses).toHaveLength(6);
  expect(r.losses.at(-1) as number).toBeLessThan(r.losses[0]);
  expect(r.accuracy).toBeGreaterThanOrEqual(0.9); // dark vs bright: any working pipeline separates them
  expect(new Set(r.tensorsPerEpoch.slice(1)).size).toBe(1);
}

/** Every subpath of package.json "exports" loads with exports, and shares the core's classes. */
function expectSubpaths(r: { subpaths: Record<string, number>; sharedClasses: boolean; subpathSchedule: number }): void {
  const pkg = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../package.json'), 'utf8')) as { exports: Record<string, unknown> };
  const declared = Object.keys(pkg.exports).map((k) => /^\.\/([a-z]+)$/.exec(k)?.[1]).filter((n): n is string => n !== undefined && n !== 'browser');
  expect(Object.keys(r.subpaths).sort()).toEqual(declared.sort());
  for (const n of declared) expect(r.subpaths[n], n).toBeGreaterThan(0);
  expect(r.sharedClasses).toBe(true);
  expect(r.subpathSchedule).toBeCloseTo(0.5, 12); // CosineDecay(1, 10) half-way
}

describe('consumers of the packed tarball', () => {
  let c: Consumer;
  const results: Record<string, NodeJobResult> = {};

  beforeAll(async () => {
    c = await packAndInstall(['@types/node']);
    fs.cpSync(CLIENTS, c.dir, { recursive: true });
    console.log(`[consumers] ${c.tarball} installed offline in ${c.dir}`);
  }, 300_000);

  it('tarball: built entries, wasm binaries, LICENSE, CHANGELOG, and every file the README and docs link to', () => {
    const files = new Set(c.files);
    for (const f of ['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md', 'dist/index.js', 'dist/index.cjs', 'dist/index.d.ts', 'dist/index.d.cts', 'dist/browser.js', 'dist/web/browser.js', 'dist/cli.js', 'dist/wasm/tfjs-backend-wasm-simd.js']) {
      expect(files.has(f), f).toBe(true);
    }
    expect([...files].filter((f) => f.startsWith('src/') || f.startsWith('test/'))).toEqual([]);
    const installed = path.join(c.dir, 'node_modules', 'transferkit');
    const broken: string[] = [];
    for (const doc of [...files].filter((f) => f.endsWith('.md'))) {
      const text = fs.readFileSync(path.join(installed, doc), 'utf8');
      for (const m of text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
        const target = m[1];
        if (/^[a-z]+:/i.test(target)) continue; // absolute URLs
        if (!fs.existsSync(path.resolve(path.dirname(path.join(installed, doc)), target))) broken.push(`${doc} -> ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('ESM (.mjs, import): picks threaded wasm, trains, evaluates, saves, reloads, chained ops', async () => {
    const r = await run(process.execPath, ['esm.mjs', c.dir], c.dir);
    expect(r.status, r.stderr).toBe(0);
    const res = lastJson<NodeJobResult>(r.stdout);
    results.esm = res;
    console.log(`[consumers] esm ${JSON.stringify(res)}`);
    expect(res.backend).toBe('wasm');
    expect(res.canTrain).toBe(true);
    expectLearned(res);
    expect(res.reloadedClassNames).toEqual(['dark', 'bright']);
    expect(res.maxPredictionDiff).toBeLessThan(1e-6);
    expect(res.chainedOpsMatch).toBe(true);
    expectSubpaths(res);
  }, 300_000);

  it('CommonJS (.cjs, require): the same backend choice and threads as ESM, the same training', async () => {
    const r = await run(process.execPath, ['cjs.cjs', c.dir], c.dir);
    expect(r.status, r.stderr).toBe(0);
    const res = lastJson<NodeJobResult>(r.stdout);
    console.log(`[consumers] cjs ${JSON.stringify(res)}`);
    expect(res.backend).toBe('wasm');
    expectLearned(res);
    expect(res.maxPredictionDiff).toBeLessThan(1e-6);
    expect(res.chainedOpsMatch).toBe(true);
    expectSubpaths(res);
    if (results.esm !== undefined) {
      expect({ backend: res.backend, threads: res.threads, simd: res.simd }).toEqual({ backend: results.esm.backend, threads: results.esm.threads, simd: results.esm.simd });
      res.losses.forEach((l, i) => expect(Math.abs(l - results.esm.losses[i])).toBeLessThan(1e-4));
    }
  }, 300_000);

  it('TypeScript (module nodenext, strict): README and docs examples type-check; transferkit\'s own declarations are clean without skipLibCheck', () => {
    const dir = path.join(c.dir, 'ts');
    fs.mkdirSync(dir, { recursive: true });
    const blocks = docBlocks(ROOT);
    expect(blocks.filter((b) => b.doc === 'README.md').length).toBeGreaterThanOrEqual(1);
    const files = blocks.map((b) => {
      const f = path.join(dir, `${b.doc.replace(/[/.]/g, '_')}_${b.index}.mts`);
      fs.writeFileSync(f, blockSource(b));
      return f;
    });
    // Plus a program that uses tensors from transferkit with chained methods and its tf namespace.
    const extra = path.join(dir, 'chained.mts');
    fs.writeFileSync(extra, "import { tf, predict, type PretrainedModel } from 'transferkit';\ndeclare const model: PretrainedModel;\nconst p: tf.Tensor2D = predict(model, tf.zeros([1, 32, 32, 3]));\nconst top: tf.Tensor1D = p.argMax(-1);\nconsole.log(top.shape, p.slice([0, 0], [1, 1]).shape);\n");
    files.push(extra);
    const diagnostics = (skipLibCheck: boolean) => {
      const program = ts.createProgram(files, {
        target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext,
        strict: true, noEmit: true, skipLibCheck, noUnusedLocals: false, typeRoots: [path.join(c.dir, 'node_modules', '@types')],
      });
      return ts.getPreEmitDiagnostics(program).map((d) => {
        if (d.file === undefined) return { file: '', text: ts.flattenDiagnosticMessageText(d.messageText, '\n') };
        const file = path.resolve(d.file.fileName);
        const { line } = d.file.getLineAndCharacterOfPosition(d.start ?? 0);
        const k = files.indexOf(file);
        const where = k >= 0 && k < blocks.length ? `${blocks[k].doc}:${blocks[k].line + (line - preambleLines(blocks[k])) + 1}` : `${path.relative(c.dir, file)}:${line + 1}`;
        return { file: path.relative(c.dir, file), text: `${where}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}` };
      });
    };
    expect(diagnostics(true).map((d) => d.text)).toEqual([]);
    // Without skipLibCheck TF.js 4.22's own declarations report errors under strict (tfjs-layers'
    // Keras config types); nothing else may: not transferkit's declarations, not the examples.
    const strictLib = diagnostics(false);
    console.log(`[consumers] skipLibCheck false: ${strictLib.length} errors, all in ${[...new Set(strictLib.map((d) => d.file.split('/').slice(0, 3).join('/')))].join(', ')}`);
    expect(strictLib.filter((d) => !d.file.startsWith('node_modules/@tensorflow/')).map((d) => d.text)).toEqual([]);
  }, 300_000);

  it('CLI from the tarball (npx transferkit): --version, models, fine-tune, evaluate, predict on an image folder', async () => {
    const bin = path.join(c.dir, 'node_modules', '.bin', 'transferkit');
    expect(fs.existsSync(bin)).toBe(true);
    const version = await run(bin, ['--version'], c.dir);
    expect(version.status, version.stderr).toBe(0);
    expect(version.stdout.trim()).toBe(JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version);
    const models = await run(bin, ['models'], c.dir);
    expect(models.status, models.stderr).toBe(0);
    expect(models.stdout).toContain('mobilenet_v2_1.0_224');
    // An image folder: 2 classes of JPEGs, dark and bright.
    const data = path.join(c.dir, 'images');
    for (const [cls, level] of [['dark', 40], ['bright', 210]] as const) {
      fs.mkdirSync(path.join(data, cls), { recursive: true });
      for (let i = 0; i < 10; i++) {
        const px = new Uint8Array(40 * 40 * 4).map((_, k) => (k % 4 === 3 ? 255 : Math.max(0, Math.min(255, level + ((k * 37 + i * 11) % 60) - 30))));
        fs.writeFileSync(path.join(data, cls, `${cls}${i}.jpg`), jpeg.encode({ data: px, width: 40, height: 40 }, 90).data);
      }
    }
    const model = results.esm?.savedTo ?? path.join(c.dir, 'esm-model');
    if (!fs.existsSync(path.join(model, 'model.json'))) throw new Error(`the CLI test uses the model the ESM client saved (${model}); the ESM client failed`);
    const out = path.join(c.dir, 'run');
    const ft = await run(bin, ['fine-tune', '--model', model, '--data', data, '--recipe', 'feature-extraction', '--head-epochs', '3', '--batch', '4', '--out', out, '--seed', '1'], c.dir);
    expect(ft.status, ft.stderr).toBe(0);
    expect(fs.existsSync(path.join(out, 'model', 'model.json'))).toBe(true);
    expect(fs.existsSync(path.join(out, 'report.html'))).toBe(true);
    const ev = await run(bin, ['evaluate', '--model', out, '--data', data], c.dir);
    expect(ev.status, ev.stderr).toBe(0);
    expect(lastJson<{ examples: number }>(ev.stdout).examples).toBe(20);
    const pr = await run(bin, ['predict', '--model', out, path.join(data, 'bright', 'bright0.jpg')], c.dir);
    expect(pr.status, pr.stderr).toBe(0);
    expect(lastJson<{ predictions: { class: string }[] }>(pr.stdout).predictions.map((p) => p.class).sort()).toEqual(['bright', 'dark']);
  }, 300_000);

  interface PageResult { ok: boolean; error?: string; backend: string; simd: boolean; canTrain: boolean; losses: number[]; accuracy: number; tensorsPerEpoch: number[]; chained: number[]; subpaths: { sharedClasses: boolean; halfway: number; tokens: number[] } }

  async function expectPageTrains(folder: string, client: string): Promise<void> {
    const server = await serveFolder(folder);
    try {
      const { result, errors } = await resultOfPage<PageResult>(server.url, 240_000);
      console.log(`[consumers] ${client} page ${JSON.stringify(result)}`);
      expect(result.error).toBeUndefined();
      expect(result.backend).toBe('wasm');
      expect(result.canTrain).toBe(true);
      expectLearned(result);
      expect(result.chained).toEqual([1, 0]);
      expect(result.subpaths).toEqual({ sharedClasses: true, halfway: 0.5, tokens: [2, 5, 3] });
      expect(errors).toEqual([]);
    } finally {
      server.close();
    }
  }

  it('Vite page (vite build, no config) in Chromium: wasm starts with no wasmPaths and trains a head', async (ctx) => {
    if (chromiumAbsent()) return ctx.skip();
    const out = path.join(c.dir, 'vite-dist');
    const { build } = await import('vite');
    await build({ root: path.join(c.dir, 'page'), configFile: false, logLevel: 'warn', build: { outDir: out, emptyOutDir: true } });
    await expectPageTrains(out, 'vite');
  }, 300_000);

  it('Vite dev server (vite, no config) in Chromium: the page loads through the dependency optimiser and trains a head on wasm', async (ctx) => {
    if (chromiumAbsent()) return ctx.skip();
    const { createServer } = await import('vite');
    const server = await createServer({ root: path.join(c.dir, 'page'), configFile: false, logLevel: 'warn', server: { host: '127.0.0.1', port: 0, strictPort: false } });
    await server.listen();
    try {
      const address = server.httpServer?.address() as import('node:net').AddressInfo;
      const { result, errors } = await resultOfPage<PageResult>(`http://127.0.0.1:${address.port}/`, 240_000);
      console.log(`[consumers] vite dev page ${JSON.stringify(result)}`);
      expect(result.error).toBeUndefined();
      expect(result.backend).toBe('wasm');
      expectLearned(result);
      expect(errors).toEqual([]);
    } finally {
      await server.close();
    }
  }, 300_000);

  it('esbuild bundle (--bundle --format=esm --splitting, no other option) in Chromium: wasm starts with no wasmPaths and trains a head', async (ctx) => {
    if (chromiumAbsent()) return ctx.skip();
    const out = path.join(c.dir, 'esbuild-dist');
    const esbuild = path.join(ROOT, 'node_modules', '.bin', 'esbuild');
    const r = await run(esbuild, [path.join(c.dir, 'page', 'main.js'), '--bundle', '--format=esm', '--splitting', `--outdir=${out}`, '--log-level=warning'], c.dir);
    expect(r.status, r.stderr).toBe(0);
    fs.copyFileSync(path.join(c.dir, 'page', 'index.html'), path.join(out, 'index.html'));
    await expectPageTrains(out, 'esbuild');
  }, 300_000);
});
