/**
 * transferkit in a real browser: Debian's Chromium (headless, through playwright-core) loads pages
 * that bundle transferkit's browser entry from a loopback server. One fetches the real
 * MobileNetV2-0.35 and real ants/bees photos and trains a new head in the page; one builds,
 * tokenizes and fine-tunes a BERT. Both assert learning, a stable tensor count and no console
 * errors; the image page saves a screenshot. Skips with a reason where Chromium or the shared
 * assets are absent.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { asset, MOBILENET } from '../helpers/assets.js';
import { CHROMIUM, FLAGS, chromiumAbsent } from '../helpers/chromium.js';

/** tfjs-backend-wasm's binaries, served to the image page at /wasm/. */
const WASM_DIST = path.resolve(__dirname, '../../node_modules/@tensorflow/tfjs-backend-wasm/dist');

async function bundlePage(entry: string): Promise<Map<string, string>> {
  const bundle = await build({
    entryPoints: [path.resolve(__dirname, entry)],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    // Node-only IO sits behind dynamic imports on paths a page never takes; code splitting keeps
    // those modules (and their node: imports) in chunks the page never loads, as Vite/Rollup do.
    splitting: true,
    outdir: '/bundle',
    entryNames: 'page',
    write: false,
    logLevel: 'silent',
    // The embedded wasm binaries exist only in the built package (dist/wasm/); these pages start cpu.
    external: ['node:*', 'webgpu', 'h5wasm', 'h5wasm/node', './wasm/tfjs-backend-wasm*'],
  });
  return new Map(bundle.outputFiles.map((f) => [`/${path.basename(f.path)}`, f.text]));
}

interface PageRun<R> {
  result: R;
  /** Console errors and uncaught page errors. */
  errors: string[];
  /** Screenshot of the finished page. */
  screenshot: string;
}

/**
 * Serves `entry` (bundled) under a page whose `<head>` gets `headScript`, plus `files(url)` (a
 * path on disk, or null), opens it in Chromium and waits for `window.__result`.
 */
async function runPage<R>(entry: string, options: { title: string; headScript?: string; files?: (url: string) => string | null; timeoutMs: number }): Promise<PageRun<R>> {
  const chunks = await bundlePage(entry);
  const html = `<!doctype html><meta charset="utf-8"><title>${options.title}</title><link rel="icon" href="data:,"><body>running…${options.headScript ? `<script>${options.headScript}</script>` : ''}<script type="module" src="/page.js"></script></body>`;
  const types: Record<string, string> = { '.json': 'application/json', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.wasm': 'application/wasm' };
  const server = http.createServer((req, res) => {
    const url = decodeURIComponent((req.url ?? '/').split('?')[0]);
    const chunk = chunks.get(url);
    if (url === '/') return void res.writeHead(200, { 'content-type': 'text/html' }).end(html);
    if (chunk !== undefined) return void res.writeHead(200, { 'content-type': 'text/javascript' }).end(chunk);
    const file = options.files?.(url) ?? null;
    if (file !== null && fs.existsSync(file) && fs.statSync(file).isFile()) {
      return void res.writeHead(200, { 'content-type': types[path.extname(file).toLowerCase()] ?? 'application/octet-stream' }).end(fs.readFileSync(file));
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    // Fail fast on a page error (a module that does not load never sets __result).
    await Promise.race([
      page.waitForFunction(() => (window as unknown as { __result?: unknown }).__result !== undefined, undefined, { timeout: options.timeoutMs }),
      new Promise<never>((_, reject) => page.on('pageerror', (e) => reject(new Error(`page error: ${String(e)}`)))),
    ]);
    const result = (await page.evaluate(() => (window as unknown as { __result: unknown }).__result)) as R;
    const screenshot = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tk-chromium-')), 'page.png');
    await page.screenshot({ path: screenshot });
    return { result, errors, screenshot };
  } finally {
    await browser.close();
    server.close();
  }
}

describe('the text pipeline in headless Chromium', () => {
  it('builds a BERT, tokenizes with tokenizers.js and fine-tunes it with the HF recipe, in the page', async (ctx) => {
    if (chromiumAbsent()) return ctx.skip();
    const { result, errors } = await runPage<{ ok: boolean; error?: string; accuracy: number; losses: number[]; numTensors: number[] }>('text_page.ts', { title: 'BERT in the browser', timeoutMs: 120_000 });
    console.log(`[chromium text] ${JSON.stringify(result)}`);
    expect(result.error).toBeUndefined();
    expect(result.accuracy).toBeGreaterThan(0.9);
    expect(result.losses[3]).toBeLessThan(result.losses[0]);
    expect(new Set(result.numTensors.slice(1)).size).toBe(1);
    expect(errors).toEqual([]);
  });
});

describe('fine-tuning in headless Chromium', () => {
  it('trains a head on MobileNetV2 features of real photos in the page, above chance, without console errors', async (ctx) => {
    const model = asset(MOBILENET);
    const photos = asset('data/hymenoptera/train');
    if (model === null || photos === null || chromiumAbsent()) return ctx.skip();
    const list = (cls: string): string[] => fs.readdirSync(path.join(photos, cls)).filter((f) => /\.jpe?g$/i.test(f)).sort();
    const ants = list('ants');
    const bees = list('bees');
    const pick = (a: number, b: number): [string, number][] => [...ants.slice(a, b).map((f): [string, number] => [`/img/ants/${f}`, 0]), ...bees.slice(a, b).map((f): [string, number] => [`/img/bees/${f}`, 1])];
    const images = { train: pick(0, 30), val: pick(30, 45) };
    const { result, errors, screenshot } = await runPage<{ ok: boolean; error?: string; valAccuracy: number; trainAccuracy: number; numTensorsPerEpoch: number[]; epochs: number; seconds: number; backend: string }>('page.ts', {
      title: 'transferkit in the browser',
      headScript: `window.__images = ${JSON.stringify(images)};`,
      files: (url) => (url.startsWith('/model/') ? path.join(model, url.slice(7)) : url.startsWith('/img/') ? path.join(photos, url.slice(5)) : url.startsWith('/wasm/') ? path.join(WASM_DIST, url.slice(6)) : null),
      timeoutMs: 240_000,
    });
    console.log(`[chromium] ${JSON.stringify({ ...result, screenshot })}`);
    expect(result.error).toBeUndefined();
    expect(result.ok).toBe(true);
    expect(result.epochs).toBe(8);
    expect(result.valAccuracy).toBeGreaterThan(0.7); // 30 validation photos, chance is 0.5
    expect(new Set(result.numTensorsPerEpoch.slice(1)).size).toBe(1);
    expect(errors).toEqual([]);
    expect(fs.statSync(screenshot).size).toBeGreaterThan(1000);
  });
});
