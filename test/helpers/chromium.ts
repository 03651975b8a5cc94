import * as fs from 'node:fs';

/** Debian's Chromium (override with TRANSFERKIT_CHROMIUM). */
export const CHROMIUM = process.env.TRANSFERKIT_CHROMIUM ?? '/usr/bin/chromium';

/** Flags for a quiet, offline headless Chromium. */
export const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

/** True (with the reason printed) when Chromium is not installed. */
export function chromiumAbsent(): boolean {
  if (fs.existsSync(CHROMIUM)) return false;
  console.warn(`[skip] no Chromium at ${CHROMIUM} (apt-get install chromium, or set TRANSFERKIT_CHROMIUM)`);
  return true;
}

/** A static folder served on loopback (index.html at /), with the content types pages need. */
export async function serveFolder(root: string): Promise<{ url: string; close: () => void }> {
  const http = await import('node:http');
  const path = await import('node:path');
  const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.json': 'application/json', '.css': 'text/css', '.wasm': 'application/wasm', '.map': 'application/json' };
  const server = http.createServer((req, res) => {
    const url = decodeURIComponent((req.url ?? '/').split('?')[0]);
    const file = path.join(root, url === '/' ? 'index.html' : url);
    if (!file.startsWith(root) || !fs.existsSync(file) || !fs.statSync(file).isFile()) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': types[path.extname(file)] ?? 'application/octet-stream' }).end(fs.readFileSync(file));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as import('node:net').AddressInfo;
  return { url: `http://127.0.0.1:${port}/`, close: () => server.close() };
}

/**
 * Opens `url` in headless Chromium and waits for the page to set `window.__result`; returns it
 * with the console errors, uncaught page errors and failed requests seen on the way.
 */
export async function resultOfPage<R>(url: string, timeoutMs: number): Promise<{ result: R; errors: string[] }> {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()}`));
    await page.goto(url);
    await Promise.race([
      page.waitForFunction(() => (window as unknown as { __result?: unknown }).__result !== undefined, undefined, { timeout: timeoutMs }),
      new Promise<never>((_, reject) => page.on('pageerror', (e) => reject(new Error(`page error: ${String(e)}`)))),
    ]);
    const result = (await page.evaluate(() => (window as unknown as { __result: unknown }).__result)) as R;
    return { result, errors };
  } finally {
    await browser.close();
  }
}
