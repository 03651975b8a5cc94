/**
 * examples/browser (the Vite page) end to end in headless Chromium: build it with Vite, serve it
 * with the real MobileNetV2-0.35 at ./model/, pick real ants and bees photos into the two classes
 * through the page's file inputs, train in the page on the wasm backend, then classify held-out
 * photos; accuracy above chance, no console errors, a screenshot.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { asset, HYMENOPTERA, MOBILENET } from '../helpers/assets.js';
import { CHROMIUM, FLAGS, chromiumAbsent } from '../helpers/chromium.js';

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.json': 'application/json', '.css': 'text/css', '.wasm': 'application/wasm' };

describe('the Vite example page (examples/browser)', () => {
  // webgl runs on SwiftShader (software GL) here, enabled by its flag; wasm fetches its binaries from the page's folder.
  for (const [backend, extraFlags] of [['wasm', []], ['webgl', ['--enable-unsafe-swiftshader']]] as const) it(`on ${backend}: trains on photos picked into two classes and classifies new photos above chance, without console errors`, async (ctx) => {
    const model = asset(MOBILENET);
    const photos = asset(HYMENOPTERA);
    if (chromiumAbsent() || model === null || photos === null) return ctx.skip();
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-vite-'));
    const { build } = await import('vite');
    await build({ root: path.resolve(__dirname, '../../examples/browser'), logLevel: 'silent', build: { outDir: out, emptyOutDir: true } });
    expect(fs.existsSync(path.join(out, 'index.html'))).toBe(true);
    const server = http.createServer((req, res) => {
      const url = decodeURIComponent((req.url ?? '/').split('?')[0]);
      const file = url.startsWith('/model/') ? path.join(model, url.slice('/model/'.length)) : path.join(out, url === '/' ? 'index.html' : url);
      if (!fs.existsSync(file) || !fs.statSync(file).isFile()) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' }).end(fs.readFileSync(file));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const pick = (c: string, from: number, n: number) => fs.readdirSync(path.join(photos, c)).filter((f) => f.endsWith('.jpg')).sort().slice(from, from + n).map((f) => path.join(photos, c, f));
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: [...FLAGS.filter((f) => backend !== 'webgl' || f !== '--disable-gpu'), ...extraFlags] });
    try {
      const page = await browser.newPage({ viewport: { width: 1100, height: 1000 } });
      const errors: string[] = [];
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/?backend=${backend}`);
      await page.waitForSelector('body[data-state=ready]', { timeout: 120_000 });
      expect(await page.locator('#status').textContent()).toContain(`backend ${backend}`);
      const names = page.locator('.class input[type=text]');
      await names.nth(0).fill('ants');
      await names.nth(1).fill('bees');
      const inputs = page.locator('input.class-files');
      await inputs.nth(0).setInputFiles(pick('ants', 0, 20));
      await inputs.nth(1).setInputFiles(pick('bees', 0, 20));
      await page.locator('#epochs').fill('10');
      await page.click('#train');
      await page.waitForSelector('body[data-state=trained]', { timeout: 300_000 });
      expect(await page.locator('#chart svg').count()).toBe(1);
      const held = [...pick('ants', 40, 12).map((f) => [f, 'ants'] as const), ...pick('bees', 40, 12).map((f) => [f, 'bees'] as const)];
      await page.locator('#predict-files').setInputFiles(held.map(([f]) => f));
      await page.waitForSelector('body[data-state=predicted]', { timeout: 120_000 });
      const labels = await page.locator('.pred').evaluateAll((els) => els.map((e) => [(e as HTMLElement).dataset.file, (e as HTMLElement).dataset.label]));
      const truth = new Map(held.map(([f, c]) => [path.basename(f), c]));
      const correct = labels.filter(([f, l]) => truth.get(f as string) === l).length;
      const status = await page.locator('#status').textContent();
      const shot = path.join(out, 'page.png');
      await page.screenshot({ path: shot, fullPage: true });
      console.log(`[vite page, ${backend}] ${status} | held-out ${correct}/${held.length} correct | screenshot ${shot}`);
      expect(labels).toHaveLength(held.length);
      expect(correct / held.length).toBeGreaterThan(0.6);
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
      server.close();
    }
  }, 600_000);
});
