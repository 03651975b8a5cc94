/**
 * Multi-threaded wasm in Node. TF.js 4.22 ships a threaded SIMD build of its wasm backend whose
 * Emscripten glue supports Node's `worker_threads`, but never uses it there, for three reasons
 * (tfjs#3830), each worked around here for the duration of backend start-up only:
 * 1. `WASM_HAS_MULTITHREAD_SUPPORT` is hard-wired to false under Node → set to true.
 * 2. The pthread worker script is handed to `new Worker()` as a Blob URL, which Node cannot load →
 *    `URL.createObjectURL` returns a file instead: TF.js's own worker script, written once to the
 *    temp folder, with its Blob branch replaced by loading the package's threaded glue file.
 * 3. The thread pool is capped at `navigator.hardwareConcurrency / 2` ("2 threads per core"
 *    in tfjs-backend-wasm's backend.cc), so a 2-vCPU machine gets one thread → `os.cpus()` reports
 *    twice `threads` entries while the module initialises, so the pool gets `threads` threads.
 * Everything is restored after start-up. Emscripten refs a Node worker while a pthread runs on it,
 * and XNNPACK's pool threads run for the life of the process, so {@link unrefWasmWorkers} unrefs
 * them once the backend has started: otherwise no script using transferkit would ever exit.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { setThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { TransferKitError } from '../../errors.js';

/** The pthread worker script for tfjs-backend-wasm's threaded build, as a file Node can load. */
function workerFile(): string {
  const require = createRequire(import.meta.url);
  const dist = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
  const wasmOut = path.join(dist, '..', 'wasm-out');
  const glue = path.join(wasmOut, 'tfjs-backend-wasm-threaded-simd.js');
  const workerModule = path.join(wasmOut, 'tfjs-backend-wasm-threaded-simd.worker.js');
  if (!fs.existsSync(glue) || !fs.existsSync(workerModule)) {
    throw new TransferKitError('E_BACKEND_UNAVAILABLE', `Threaded wasm needs ${glue} and ${workerModule} from @tensorflow/tfjs-backend-wasm 4.22.0; they are missing. Reinstall the package, or pass threads: 1.`);
  }
  const contents = (require(workerModule) as { wasmWorkerContents?: string }).wasmWorkerContents;
  const blobBranch = 'if(typeof e.data.urlOrBlob=="string"){importScripts(e.data.urlOrBlob)}else{var objectUrl=URL.createObjectURL(e.data.urlOrBlob);importScripts(objectUrl);URL.revokeObjectURL(objectUrl)}';
  if (typeof contents !== 'string' || !contents.includes(blobBranch)) {
    throw new TransferKitError('E_BACKEND_UNAVAILABLE', `The pthread worker script of @tensorflow/tfjs-backend-wasm is not the one transferkit knows (4.22.0); pass threads: 1.`);
  }
  // As TF.js does for its Blob: the script's "\n" string escapes must stay escapes in the file.
  const script = contents.replace(/\n/g, '\\n').replace(blobBranch, `importScripts(${JSON.stringify(glue)});`);
  const hash = createHash('sha256').update(script).digest('hex').slice(0, 16);
  const worker = path.join(os.tmpdir(), `transferkit-wasm-worker-${hash}.cjs`);
  if (!fs.existsSync(worker)) {
    const tmp = `${worker}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, script);
    fs.renameSync(tmp, worker);
  }
  return worker;
}

/** Threads asked for: the option, else TRANSFERKIT_WASM_THREADS, else one per core (at most 8). */
export function wantedWasmThreads(option: number | undefined): number {
  const env = process.env.TRANSFERKIT_WASM_THREADS;
  const raw = option ?? (env !== undefined && env !== '' ? Number(env) : undefined);
  if (raw !== undefined && !(Number.isInteger(raw) && raw >= 1 && raw <= 8)) {
    throw new TransferKitError('E_BAD_OPTION', `wasm threads must be an integer from 1 to 8. Received: ${option !== undefined ? `threads=${option}` : `TRANSFERKIT_WASM_THREADS=${env}`}.`);
  }
  return raw ?? Math.min(8, Math.max(1, os.cpus().length));
}

/**
 * Decides the wasm thread count before a start: `running` is the count of an already started
 * backend (null if none). Returns the undo of {@link prepareWasmThreads}, or null when there is
 * nothing to prepare (one thread, or already running with the count asked for).
 * @throws E_BAD_OPTION for an invalid count, or another count than a running backend's.
 */
export function planWasmThreads(option: number | undefined, running: number | null): (() => void) | null {
  const want = wantedWasmThreads(option);
  if (running !== null) {
    if (option !== undefined && running !== want) {
      throw new TransferKitError('E_BAD_OPTION', `The wasm backend already runs with ${running} thread(s) in this process; its thread count is fixed at its first start. Received: threads=${want}. Call useBackend('wasm', { threads }) before anything else starts the backend.`);
    }
    return null;
  }
  return want > 1 ? prepareWasmThreads(want) : null;
}

/**
 * Prepares the next wasm backend start-up to use `threads` threads (≥ 2) and returns the function
 * that undoes the temporary patches (call it once the backend has started, success or not).
 */
export function prepareWasmThreads(threads: number): () => void {
  const worker = workerFile();
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  setThreadsCount(threads);
  const createObjectURL = URL.createObjectURL;
  URL.createObjectURL = (obj: Blob) => (obj instanceof Blob && obj.type === 'application/javascript' ? worker : createObjectURL(obj));
  const osModule = createRequire(import.meta.url)('node:os') as typeof os;
  const cpus = osModule.cpus;
  osModule.cpus = () => {
    const real = cpus();
    return Array.from({ length: 2 * threads }, (_, i) => real[i % real.length]);
  };
  return () => {
    URL.createObjectURL = createObjectURL;
    osModule.cpus = cpus;
    if (tf.getBackend() === 'wasm') unrefWasmWorkers();
  };
}

/** Unrefs the wasm backend's pthread workers so they never keep the process alive. */
export function unrefWasmWorkers(): void {
  const wasm = (tf.backend() as unknown as { wasm?: { PThread?: { runningWorkers?: unknown[]; unusedWorkers?: unknown[] } } }).wasm;
  const pool = wasm?.PThread;
  for (const w of [...(pool?.runningWorkers ?? []), ...(pool?.unusedWorkers ?? [])]) (w as { unref?: () => void }).unref?.();
}
