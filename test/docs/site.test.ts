/**
 * The docs site builds: `npm run docs:build` generates the API reference from the api-extractor
 * model (api-documenter) and builds docs/ with VitePress; every guide page and the API pages exist.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '../..');

describe('docs site', () => {
  it('builds with VitePress, API reference included', async (ctx) => {
    if (!fs.existsSync(path.join(ROOT, 'dist', 'index.d.ts'))) {
      console.log('[skip] dist/ not built (npm test builds it first)');
      return ctx.skip();
    }
    const r = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn('npm', ['run', '-s', 'docs:build'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      child.on('close', (code) => resolve({ code, out }));
    });
    expect(r.code, r.out.slice(-3000)).toBe(0);
    const site = path.join(ROOT, 'docs', '.vitepress', 'dist');
    for (const page of ['index', 'guide', 'cli', 'models', 'text', 'encoders', 'adaptation', 'tuning', 'benchmarks', 'results', 'performance']) {
      expect(fs.existsSync(path.join(site, `${page}.html`)), page).toBe(true);
    }
    const api = fs.readdirSync(path.join(site, 'api'));
    for (const sym of ['transferkit.finetune.html', 'transferkit-encoders.loadonnxencoder.html', 'transferkit-schedules.onecycle.html', 'transferkit.lrschedule.html', 'transferkit.domainadapter.html']) expect(api).toContain(sym);
    expect(fs.readFileSync(path.join(site, 'api', 'transferkit.finetune.html'), 'utf8')).toContain('recipe');
  }, 300_000);
});
