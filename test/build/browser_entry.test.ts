/**
 * The browser entry (`transferkit/browser`) bundles for the browser platform with no static import
 * of a Node built-in: file IO is only reached through dynamic imports on Node-only code paths.
 */
import * as path from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

describe('browser entry', () => {
  it('bundles for platform=browser; every node: import in its graph is dynamic', async () => {
    const result = await build({
      entryPoints: [path.resolve(__dirname, '../../src/browser.ts')],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      metafile: true,
      logLevel: 'silent',
      external: ['@tensorflow/*', 'node:*', 'webgpu', 'h5wasm', 'h5wasm/node', './wasm/tfjs-backend-wasm*'],
    });
    // Modules the entry reaches through static imports only: these load when the page imports
    // transferkit/browser; anything behind a dynamic import loads only on a Node-only code path.
    const staticClosure = (meta: typeof result.metafile, entry: string): Set<string> => {
      const seen = new Set<string>([entry]);
      const queue = [entry];
      while (queue.length > 0) {
        const f = queue.pop() as string;
        for (const imp of meta.inputs[f]?.imports ?? []) {
          if (imp.kind === 'dynamic-import' || imp.external || seen.has(imp.path)) continue;
          seen.add(imp.path);
          queue.push(imp.path);
        }
      }
      return seen;
    };
    const nodeImportsOf = (meta: typeof result.metafile, files: Set<string>) =>
      [...files].flatMap((f) => (meta.inputs[f]?.imports ?? []).filter((i) => i.path.startsWith('node:') && i.kind !== 'dynamic-import').map((i) => `${f} -> ${i.path}`));
    const closure = staticClosure(result.metafile, 'src/browser.ts');
    expect(closure.size).toBeGreaterThan(50);
    expect(nodeImportsOf(result.metafile, closure)).toEqual([]);
    // The test can fail: the Node entry does import node: modules statically.
    const node = await build({ entryPoints: [path.resolve(__dirname, '../../src/index.ts')], bundle: true, platform: 'node', format: 'esm', write: false, metafile: true, logLevel: 'silent', external: ['@tensorflow/*', 'node:*', 'webgpu', 'h5wasm', 'h5wasm/node', './wasm/tfjs-backend-wasm*'] });
    expect(nodeImportsOf(node.metafile, staticClosure(node.metafile, 'src/index.ts')).length).toBeGreaterThan(0);
  }, 60_000);
});
