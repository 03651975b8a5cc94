/**
 * The wasm backend's binaries for pages, shipped inside transferkit's package as JavaScript.
 *
 * tfjs-backend-wasm fetches its `.wasm` file at start-up from a URL its glue code computes (the
 * folder of the running script, or `setWasmPaths`). A bundler (Vite, esbuild, webpack) copies the
 * JavaScript it bundles but not binaries that only that glue knows about, so a bundled page gets
 * "failed to initialise" unless its author copies the files and sets `wasmPaths` by hand. Instead,
 * `npm run build` writes each binary as a deflated base64 string module into `dist/wasm/`
 * (scripts/postbuild.mjs), and `useBackend('wasm')` in a browser imports the one binary the
 * browser's features select (a lazily loaded chunk: ~190 kB, only when wasm starts), checks it
 * and hands TF.js a blob: URL of it. `useBackend('wasm', { wasmPaths })` still serves your own.
 *
 * The import paths below are relative to the built chunk in `dist/`, not to this source file, and
 * are external to tsup: they exist only in the built package (in Node the backend reads its
 * binaries from its own package folder and never comes here).
 */
import * as tf from '@tensorflow/tfjs-core';
import { version_wasm } from '@tensorflow/tfjs-backend-wasm';
import { inflateSync } from 'fflate';
import { TransferKitError } from '../../errors.js';

/** The binary names TF.js's `setWasmPaths` expects a map for. */
export const WASM_BINARY_NAMES = ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'] as const;
type WasmBinaryName = (typeof WASM_BINARY_NAMES)[number];

interface EmbeddedBinary {
  version: string;
  byteLength: number;
  sha256: string;
  deflated: string;
}

const loaders: Record<WasmBinaryName, () => Promise<EmbeddedBinary>> = {
  // @ts-expect-error -- generated into dist/wasm/ by scripts/postbuild.mjs; the path is the built chunk's
  'tfjs-backend-wasm.wasm': () => import('./wasm/tfjs-backend-wasm.js'),
  // @ts-expect-error -- as above
  'tfjs-backend-wasm-simd.wasm': () => import('./wasm/tfjs-backend-wasm-simd.js'),
  // @ts-expect-error -- as above
  'tfjs-backend-wasm-threaded-simd.wasm': () => import('./wasm/tfjs-backend-wasm-threaded-simd.js'),
};

/** The binary tfjs-backend-wasm 4.22's `init` will ask for, from the same feature flags it reads. */
export async function selectedWasmBinary(): Promise<WasmBinaryName> {
  const [simd, threads] = await Promise.all([tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'), tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')]);
  return simd && threads ? 'tfjs-backend-wasm-threaded-simd.wasm' : simd ? 'tfjs-backend-wasm-simd.wasm' : 'tfjs-backend-wasm.wasm';
}

function base64Bytes(b64: string): Uint8Array {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string | null> {
  const subtle = globalThis.crypto?.subtle;
  if (subtle === undefined) return null; // insecure origins (plain http on another host) have no SubtleCrypto
  const digest = new Uint8Array(await subtle.digest('SHA-256', bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * A `setWasmPaths` file map whose every name points at a blob: URL of the binary this browser
 * will load (TF.js requires all three names; it fetches only the selected one).
 * @throws E_BACKEND_UNAVAILABLE when the embedded binary is absent (transferkit run from source,
 * not from its built package), corrupt, or built for another tfjs-backend-wasm version.
 */
export async function embeddedWasmPaths(): Promise<Record<WasmBinaryName, string>> {
  const name = await selectedWasmBinary();
  let binary: EmbeddedBinary;
  try {
    binary = await loaders[name]();
  } catch (err) {
    throw new TransferKitError(
      'E_BACKEND_UNAVAILABLE',
      `Backend 'wasm': the embedded binary ${name} could not be loaded (it exists only in transferkit's built package, dist/wasm/). ` +
        "Serve tfjs-backend-wasm's .wasm files yourself and pass their URLs: useBackend('wasm', { wasmPaths: '/path/to/folder/' }).",
      { cause: err },
    );
  }
  if (binary.version !== version_wasm) {
    throw new TransferKitError(
      'E_BACKEND_UNAVAILABLE',
      `Backend 'wasm': transferkit embeds ${name} of @tensorflow/tfjs-backend-wasm ${binary.version}, but the page bundles version ${version_wasm}; a binary must match its glue code. ` +
        `Install @tensorflow/tfjs-backend-wasm@${binary.version}, or pass wasmPaths pointing at the .wasm files of ${version_wasm}.`,
    );
  }
  const bytes = new Uint8Array(inflateSync(base64Bytes(binary.deflated))); // a copy on a plain ArrayBuffer
  const digest = await sha256Hex(bytes);
  if (bytes.length !== binary.byteLength || (digest !== null && digest !== binary.sha256)) {
    throw new TransferKitError('E_BACKEND_UNAVAILABLE', `Backend 'wasm': the embedded binary ${name} is corrupt (${bytes.length} bytes, expected ${binary.byteLength}). Reinstall transferkit, or pass wasmPaths.`);
  }
  const url = URL.createObjectURL(new Blob([bytes], { type: 'application/wasm' }));
  return Object.fromEntries(WASM_BINARY_NAMES.map((n) => [n, url])) as Record<WasmBinaryName, string>;
}
