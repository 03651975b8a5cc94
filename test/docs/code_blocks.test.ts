/**
 * Docs never rot: every ```ts block in README.md and docs/*.md is compiled against the built
 * package (`import ... from 'transferkit'` resolves to dist through the package's own exports),
 * with the names the surrounding prose assumes declared in an HTML comment right above the block:
 *
 *   <!-- doc-test: declare const model: PretrainedModel; -->
 *
 * Blocks marked `<!-- doc-test: run -->` are also executed (offline, from the repository root)
 * when the shared assets they read exist.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { assetsDir } from '../helpers/assets.js';

const ROOT = path.resolve(__dirname, '../..');
const OUT = path.join(__dirname, '.blocks');

interface Block { doc: string; index: number; line: number; code: string; given: string; run: boolean }

function blocks(): Block[] {
  const docs = ['README.md', ...fs.readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
  const out: Block[] = [];
  for (const doc of docs) {
    const lines = fs.readFileSync(path.join(ROOT, doc), 'utf8').split('\n');
    let index = 0;
    for (let i = 0; i < lines.length; i++) {
      if (lines[i].trim() !== '```ts') continue;
      const end = lines.findIndex((l, k) => k > i && l.trim() === '```');
      const before = lines.slice(Math.max(0, i - 3), i).filter((l) => l.startsWith('<!-- doc-test:'));
      const given = before.map((l) => l.replace(/^<!-- doc-test:\s*/, '').replace(/\s*-->$/, '')).filter((g) => g !== 'run').join('\n');
      out.push({ doc, index: index++, line: i + 1, code: lines.slice(i + 1, end).join('\n'), given, run: before.some((l) => /doc-test:\s*run\b/.test(l)) });
      i = end;
    }
  }
  return out;
}

const built = fs.existsSync(path.join(ROOT, 'dist', 'index.d.ts'));

describe('code blocks in the docs', () => {
  const all = blocks();

  it('there are code blocks to check', () => {
    expect(all.length).toBeGreaterThanOrEqual(8);
  });

  it('every ```ts block compiles against the built package', (ctx) => {
    if (!built) {
      console.log('[skip] dist/ not built (npm test builds it first)');
      return ctx.skip();
    }
    fs.rmSync(OUT, { recursive: true, force: true });
    fs.mkdirSync(OUT, { recursive: true });
    const files = all.map((b) => {
      const f = path.join(OUT, `${b.doc.replace(/[/.]/g, '_')}_${b.index}.mts`);
      // Types the preamble names come from the package too.
      fs.writeFileSync(f, `import type * as TK from 'transferkit';\nimport type { PretrainedModel, LabeledData, TextModel } from 'transferkit';\n${b.given}\n${b.code}\nexport {};\n`);
      return f;
    });
    const program = ts.createProgram(files, {
      target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext,
      strict: true, noEmit: true, skipLibCheck: true, types: ['node'], noUnusedLocals: false,
    });
    const problems = ts.getPreEmitDiagnostics(program).filter((d) => d.file !== undefined && files.includes(path.resolve(d.file.fileName))).map((d) => {
      const b = all[files.indexOf(path.resolve(d.file!.fileName))];
      const { line } = d.file!.getLineAndCharacterOfPosition(d.start ?? 0);
      const preamble = 2 + (b.given ? b.given.split('\n').length : 0);
      return `${b.doc}:${b.line + (line - preamble) + 1}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    });
    expect(problems).toEqual([]);
  }, 120_000);

  it('blocks marked run execute offline', async (ctx) => {
    const runnable = all.filter((b) => b.run);
    if (!built || runnable.length === 0) return ctx.skip();
    if (!fs.existsSync(path.join(assetsDir, 'models'))) {
      console.warn(`[skip] shared assets absent at ${assetsDir}; runnable doc blocks read them`);
      return ctx.skip();
    }
    fs.mkdirSync(OUT, { recursive: true });
    for (const b of runnable) {
      const f = path.join(OUT, `run_${b.doc.replace(/[/.]/g, '_')}_${b.index}.mts`);
      // The docs show the conventional layout (../shared beside the repository); a run with
      // TRANSFERKIT_ASSETS elsewhere reads the same files from there.
      const code = b.code.replace(/(['"`])\.\.\/shared\//g, (_m, q: string) => `${q}${assetsDir.replace(/\\/g, '/')}/`);
      fs.writeFileSync(f, `${code}\nexport {};\n`);
      // Asynchronous: a long spawnSync would block the worker and starve vitest's RPC.
      const r = await new Promise<{ status: number | null; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', f], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, TRANSFERKIT_ASSETS: assetsDir } });
        let stderr = '';
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('close', (status) => resolve({ status, stderr }));
      });
      expect(r.status, `${b.doc}:${b.line}\n${r.stderr.slice(-2000)}`).toBe(0);
    }
  }, 900_000);
});
