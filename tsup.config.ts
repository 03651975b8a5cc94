import { rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { resolve } from 'node:path';
import type { Plugin } from 'esbuild';
import { defineConfig, type Options } from 'tsup';

// TF.js packages stay external: users share one engine instance with their own code.
const external: Options['external'] = [/^@tensorflow\//, /^@huggingface\//, 'webgpu', 'jpeg-js', 'pngjs', 'fflate', 'h5wasm', 'sharp'];

/**
 * The wasm binaries as modules: written into dist/wasm/ by scripts/postbuild.mjs and imported by
 * src/backends/wasm/embedded_binaries.ts relative to the built chunk (`./wasm/...` from dist/,
 * `../wasm/...` from dist/web/).
 */
const embeddedWasm = (prefix: string): Plugin => ({
  name: 'embedded-wasm',
  setup(build) {
    build.onResolve({ filter: /^\.\/wasm\/tfjs-backend-wasm/ }, (args) => ({ path: args.path.replace('./wasm/', prefix), external: true }));
  },
});

/** Node built-ins and Node-only optional peers, as seen by the page build. */
const NODE_ONLY = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`), 'webgpu', 'h5wasm', 'h5wasm/node', 'sharp', '@huggingface/transformers']);

/**
 * The page build (the "browser" export condition): every import of a Node built-in or Node-only
 * peer resolves to a stub, so bundlers (esbuild, webpack, Vite) meet no `node:` import and need no
 * configuration. The Node-only code behind them (file IO, threaded wasm in Node, the doctor's
 * probes) is only reached on `isNode` paths; if a page ever calls it, the stub throws an error
 * naming the module instead of failing the whole bundle. The stub's members come from a Proxy
 * prototype, so both `import * as fs` and `import { createHash }` see them.
 */
const nodeOnlyStubs: Plugin = {
  name: 'node-only-stubs',
  setup(build) {
    build.onResolve({ filter: /^[@a-z]/ }, (args) => (NODE_ONLY.has(args.path) ? { path: args.path, namespace: 'node-only' } : undefined));
    build.onLoad({ filter: /.*/, namespace: 'node-only' }, (args) => ({
      loader: 'js',
      contents: `const name = ${JSON.stringify(args.path)};
module.exports = Object.create(new Proxy({}, { get(_, key) {
  if (typeof key === 'symbol' || key === '__esModule' || key === 'then') return undefined;
  return () => { throw new Error('[transferkit] ' + name + ' is Node-only; this code path (' + String(key) + ') does not run in browsers.'); };
} }));`,
    }));
  },
};

// A clean dist/ for every build (tsup's own `clean` would race: two builds write into it at once).
rmSync('dist', { recursive: true, force: true });

/** The page build imports optional peers through utils/import_optional_page.ts (no run-time `import()`). */
const pageImportOptional: Plugin = {
  name: 'page-import-optional',
  setup(build) {
    build.onResolve({ filter: /\/import_optional\.js$/ }, (args) => ({ path: resolve(args.resolveDir, args.path.replace(/import_optional\.js$/, 'import_optional_page.ts')) }));
  },
};

/** The subpath entries (src/entries/): name → has a separate portable variant for pages. */
const SUBPATHS: Record<string, boolean> = {"backends": false, "io": true, "encoders": true, "train": false, "optimizers": false, "schedules": false, "datasets": true, "adapt": false, "models": false, "text": true, "peft": false, "tune": true};
const nodeEntries = Object.fromEntries(Object.entries(SUBPATHS).flatMap(([name, portable]) => [[name, `src/entries/${name}.ts`], ...(portable ? [[`${name}_portable`, `src/entries/${name}_portable.ts`]] : [])]));
const pageEntries = Object.fromEntries(Object.entries(SUBPATHS).map(([name, portable]) => [name, `src/entries/${name}${portable ? '_portable' : ''}.ts`]));

export default defineConfig([
  {
    entry: { index: 'src/index.ts', browser: 'src/browser.ts', cli: 'src/cli/main.ts', ...nodeEntries },
    format: ['esm', 'cjs'],
    // Shared chunks for CommonJS too (tsup's experimental CJS splitting): without them every
    // .cjs entry would bundle its own copy of the library, and `require('transferkit/schedules')`
    // would give classes and module state (backend start, dropout seeds) apart from `require('transferkit')`'s.
    splitting: true,
    dts: true,
    sourcemap: true,
    clean: false,
    // CommonJS has no import.meta: tsup's shim gives `import.meta.url` the file's URL there (threaded
    // wasm's worker script and the JPEG decode workers resolve their files from it).
    shims: true,
    target: 'node20',
    external,
    esbuildPlugins: [embeddedWasm('./wasm/')],
  },
  {
    // Pages: what bundlers pick through the "browser" condition of `transferkit`, `transferkit/browser` and the subpaths.
    entry: { browser: 'src/browser.ts', ...pageEntries },
    outDir: 'dist/web',
    format: ['esm'],
    platform: 'browser',
    target: 'es2022',
    splitting: true,
    sourcemap: true,
    clean: false,
    dts: false,
    // tsup would otherwise strip `node:` and mark built-ins external before nodeOnlyStubs sees them.
    removeNodeProtocol: false,
    external,
    esbuildPlugins: [embeddedWasm('../wasm/'), nodeOnlyStubs, pageImportOptional],
  },
]);
