/**
 * The architecture as a test: the folders of src/ import each other one way only, in the order
 * below (a folder may import from folders on lower lines, never from its own line or higher),
 * so there is no cycle between folders; and there is one training loop.
 *
 * The import graph is read from the sources (static, type-only and dynamic imports all count).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

/** Lowest first. Root files (errors.ts, kernel_names.ts, version.ts, the entries) are outside. */
const LAYERS: string[][] = [
  ['utils'],
  ['ops'], // tensor ops and their gradients
  ['backends'], // backend start, kernels, doctor
  ['layers'], // the per-instance layer patches (BatchNorm policy, ReLU6, folding, seeded dropout)
  ['schedules', 'optimizers', 'metrics'],
  ['data', 'io', 'peft'], // datasets and tokenizers; file formats; adapters on layers
  ['models'], // architectures, model types, their loaders and savers
  ['encoders'], // frozen encoders over models (ONNX, TF.js)
  ['pretrained'], // loadPretrained: every source, one entry
  ['callbacks'],
  ['train'], // the training loop and its parts
  ['transfer'], // the primitives and recipes on the loop
  ['adapt', 'report'],
  ['tune'],
  ['cli'],
  ['entries'], // the public subpath entries (transferkit/text, /adapt, ...): re-exports only
];

const src = path.resolve(__dirname, '../../src');

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return /\.(ts|mts|cts)$/.test(e.name) && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

const folderOf = (file: string): string | null => {
  const parts = path.relative(src, file).split(path.sep);
  return parts.length > 1 ? parts[0] : null;
};

/** Folder-to-folder edges, each with one file pair that makes it. */
function folderEdges(): Map<string, string> {
  const edges = new Map<string, string>();
  const importRe = /(?:import|export)\s[^'";]*?from\s*['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g;
  for (const file of sourceFiles(src)) {
    const text = fs.readFileSync(file, 'utf8');
    for (const m of text.matchAll(importRe)) {
      const target = path.resolve(path.dirname(file), m[1] ?? m[2]);
      const a = folderOf(file);
      const b = folderOf(target);
      if (a === null || b === null || a === b) continue;
      const key = `${a} -> ${b}`;
      if (!edges.has(key)) edges.set(key, `${path.relative(src, file)} imports ${path.relative(src, target)}`);
    }
  }
  return edges;
}

describe('architecture', () => {
  const level = new Map(LAYERS.flatMap((names, i) => names.map((n) => [n, i] as const)));

  it('every folder of src/ has its place in the layer order', () => {
    const folders = fs.readdirSync(src, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
    expect(folders.filter((f) => !level.has(f))).toEqual([]);
  });

  it('folders import downwards only: no cycle between folders', () => {
    const upward = [...folderEdges()].filter(([edge]) => {
      const [a, b] = edge.split(' -> ');
      return (level.get(b) as number) >= (level.get(a) as number);
    });
    expect(upward.map(([edge, why]) => `${edge} (${why})`)).toEqual([]);
  });

  it('one training loop: only train/loop.ts iterates epochs', () => {
    const loops = sourceFiles(src).filter((f) => /for \(let (epoch|e) = [^;]*;[^;]*epochs/.test(fs.readFileSync(f, 'utf8')));
    expect(loops.map((f) => path.relative(src, f))).toEqual([path.join('train', 'loop.ts')]);
  });
});
