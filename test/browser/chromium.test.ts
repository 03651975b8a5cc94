/**
 * Fine-tuning in a real browser: Debian's Chromium (headless, through playwright-core) loads a page
 * that bundles transferkit's browser entry, fetches the real MobileNetV2-0.35 and real ants/bees
 * photos from a loopback server, trains a new head in the page, and reports accuracy. Asserts
 * accuracy above chance, a stable tensor count, and no console errors; saves a screenshot.
 * Skips with a reason where Chromium or the shared assets are absent.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { asset, MOBILENET } from '../helpers/assets.js';

const CHROMIUM = process.env.TRANSFERKIT_CHROMIUM ?? '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

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
    external: ['node:*', 'webgpu', 'h5wasm', 'h5wasm/node'],
  });
  return new Map(bundle.outputFiles.map((f) => [`/${path.basename(f.path)}`, f.text]));
}

describe('the text pipeline in headless Chromium', () => {
  it('builds a BERT, tokenizes with tokenizers.js and fine-tunes it with the HF recipe, in the page', async (ctx) => {
    if (!fs.existsSync(CHROMIUM)) {
      console.warn(`[skip] no Chromium at ${CHROMIUM} (apt-get install chromium, or set TRANSFERKIT_CHROMIUM)`);
      return ctx.skip();
    }
    const chunks = await bundlePage('text_page.ts');
    const html = '<!doctype html><meta charset="utf-8"><title>BERT in the browser</title><link rel="icon" href="data:,"><body>training…<script type="module" src="/page.js"></script></body>';
    const server = http.createServer((req, res) => {
      const url = (req.url ?? '/').split('?')[0];
      const chunk = chunks.get(url);
      if (url === '/') return void res.writeHead(200, { 'content-type': 'text/html' }).end(html);
      if (chunk !== undefined) return void res.writeHead(200, { 'content-type': 'text/javascript' }).end(chunk);
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
      await page.waitForFunction(() => (window as unknown as { __result?: unknown }).__result !== undefined, undefined, { timeout: 120_000 });
      const result = (await page.evaluate(() => (window as unknown as { __result: unknown }).__result)) as { ok: boolean; error?: string; accuracy: number; losses: number[]; numTensors: number[] };
      console.log(`[chromium text] ${JSON.stringify(result)}`);
      expect(result.error).toBeUndefined();
      expect(result.accuracy).toBeGreaterThan(0.9);
      expect(result.losses[3]).toBeLessThan(result.losses[0]);
      expect(new Set(result.numTensors.slice(1)).size).toBe(1);
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
      server.close();
    }
  });
});

describe('fine-tuning in headless Chromium', () => {
  it('trains a head on MobileNetV2 features of real photos in the page, above chance, without console errors', async (ctx) => {
    const model = asset(MOBILENET);
    const photos = asset('data/hymenoptera/train');
    if (model === null || photos === null) return ctx.skip();
    if (!fs.existsSync(CHROMIUM)) {
      console.warn(`[skip] no Chromium at ${CHROMIUM} (apt-get install chromium, or set TRANSFERKIT_CHROMIUM)`);
      return ctx.skip();
    }
    const chunks = await bundlePage('page.ts');
    const list = (cls: string): string[] => fs.readdirSync(path.join(photos, cls)).filter((f) => /\.jpe?g$/i.test(f)).sort();
    const ants = list('ants');
    const bees = list('bees');
    const pick = (a: number, b: number): [string, number][] => [...ants.slice(a, b).map((f): [string, number] => [`/img/ants/${f}`, 0]), ...bees.slice(a, b).map((f): [string, number] => [`/img/bees/${f}`, 1])];
    const images = { train: pick(0, 30), val: pick(30, 45) };
    const html = `<!doctype html><meta charset="utf-8"><title>transferkit in the browser</title><link rel="icon" href="data:,"><body>training…<script>window.__images = ${JSON.stringify(images)};</script><script type="module" src="/page.js"></script></body>`;
    const server = http.createServer((req, res) => {
      const url = decodeURIComponent((req.url ?? '/').split('?')[0]);
      const send = (body: string | Buffer, type: string): void => void res.writeHead(200, { 'content-type': type }).end(body);
      if (url === '/') return send(html, 'text/html');
      const chunk = chunks.get(url);
      if (chunk !== undefined) return send(chunk, 'text/javascript');
      const file = url.startsWith('/model/') ? path.join(model, url.slice(7)) : url.startsWith('/img/') ? path.join(photos, url.slice(5)) : '';
      if (file && fs.existsSync(file) && fs.statSync(file).isFile()) return send(fs.readFileSync(file), file.endsWith('.json') ? 'application/json' : file.endsWith('.jpg') ? 'image/jpeg' : 'application/octet-stream');
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(origin);
      // Fail fast on a page error (a module that does not load never sets __result).
      await Promise.race([
        page.waitForFunction(() => (window as unknown as { __result?: unknown }).__result !== undefined, undefined, { timeout: 240_000 }),
        new Promise<never>((_, reject) => page.on('pageerror', (e) => reject(new Error(`page error: ${String(e)}`)))),
      ]);
      const result = (await page.evaluate(() => (window as unknown as { __result: unknown }).__result)) as { ok: boolean; error?: string; valAccuracy: number; trainAccuracy: number; numTensorsPerEpoch: number[]; epochs: number; seconds: number; backend: string };
      const shot = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tk-chromium-')), 'page.png');
      await page.screenshot({ path: shot });
      console.log(`[chromium] ${JSON.stringify({ ...result, screenshot: shot })}`);
      expect(result.error).toBeUndefined();
      expect(result.ok).toBe(true);
      expect(result.epochs).toBe(8);
      expect(result.valAccuracy).toBeGreaterThan(0.7); // 30 validation photos, chance is 0.5
      expect(new Set(result.numTensorsPerEpoch.slice(1)).size).toBe(1);
      expect(errors).toEqual([]);
      expect(fs.statSync(shot).size).toBeGreaterThan(1000);
    } finally {
      await browser.close();
      server.close();
    }
  });
});
