/**
 * Docs never rot: every ```ts block in README.md and docs/*.md (test/helpers/doc_blocks.ts) is
 * compiled against the built package (`import ... from 'transferkit'` resolves to dist through the
 * package's own exports). Blocks marked `<!-- doc-test: run -->` are also executed (offline, from
 * the repository root) when the shared assets they read exist. The consumer matrix
 * (test/consumers) compiles them again in a project that installed the packed tarball.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { assetsDir } from '../helpers/assets.js';
import { blockSource, docBlocks, preambleLines } from '../helpers/doc_blocks.js';

const ROOT = path.resolve(__dirname, '../..');
const OUT = path.join(__dirname, '.blocks');

const built = fs.existsSync(path.join(ROOT, 'dist', 'index.d.ts'));

describe('code blocks in the docs', () => {
  const all = docBlocks(ROOT);

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
      fs.writeFileSync(f, blockSource(b));
      return f;
    });
    const program = ts.createProgram(files, {
      target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext,
      strict: true, noEmit: true, skipLibCheck: true, types: ['node'], noUnusedLocals: false,
    });
    const problems = ts.getPreEmitDiagnostics(program).filter((d) => d.file !== undefined && files.includes(path.resolve(d.file.fileName))).map((d) => {
      const b = all[files.indexOf(path.resolve(d.file!.fileName))];
      const { line } = d.file!.getLineAndCharacterOfPosition(d.start ?? 0);
      return `${b.doc}:${b.line + (line - preambleLines(b)) + 1}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
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
