/**
 * The ```ts blocks of README.md and docs/*.md, with the names the surrounding prose assumes
 * declared in an HTML comment right above a block:
 *
 *   <!-- doc-test: declare const model: PretrainedModel; -->
 *
 * and `<!-- doc-test: run -->` on blocks that also execute offline.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface DocBlock { doc: string; index: number; line: number; code: string; given: string; run: boolean }

/** Every ```ts block of README.md and docs/*.md under `root`. */
export function docBlocks(root: string): DocBlock[] {
  const docs = ['README.md', ...fs.readdirSync(path.join(root, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)];
  const out: DocBlock[] = [];
  for (const doc of docs) {
    const lines = fs.readFileSync(path.join(root, doc), 'utf8').split('\n');
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

/** The file text a block is compiled as: type imports of the names preambles use, the preamble, the block. */
export function blockSource(b: DocBlock): string {
  return `import type * as TK from 'transferkit';\nimport type { PretrainedModel, LabeledData, TextModel } from 'transferkit';\n${b.given}\n${b.code}\nexport {};\n`;
}

/** Lines `blockSource` puts before the block's first line. */
export function preambleLines(b: DocBlock): number {
  return 2 + (b.given ? b.given.split('\n').length : 0);
}
