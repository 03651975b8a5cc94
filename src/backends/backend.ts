/**
 * Picks and initialises the TF.js backend transferkit trains on.
 *
 * `'auto'` follows the order users expect from Keras (use the fastest device present) but never
 * hides a failure: a backend that is *named* and cannot start throws; only `'auto'` walks the
 * chain, and `backendInfo().reason` records why each candidate was taken or passed over.
 */
import * as tf from '@tensorflow/tfjs-core';
// tfjs-layers registers every op gradient when loaded; with tfjs-core alone each backward pass
// fails with 'gradient function not found' (tfjs-core's own ESM gradient module is not valid
// Node ESM, so it cannot be imported directly).
import '@tensorflow/tfjs-layers';
// A namespace import that is used: tfjs-backend-cpu's package.json marks its Node entry as free of
// side effects, so bundlers (esbuild, webpack) drop a bare import, and with it the 'cpu' backend.
import * as cpuBackend from '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { getThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { TransferKitError } from '../errors.js';
import { registerWebgpuTrainingKernels } from './webgpu/register.js';
import { liveEncoders, type LiveEncoderInfo } from './live_encoders.js';
import { dawnAdapterInfo, installDawn, type GpuAdapterInfo } from './webgpu_node.js';
import { registerClipByValueGrad, registerReluGrad } from './clip_by_value_grad.js';
import { registerBatchNormInferenceGrad } from '../ops/batch_norm_inference_grad.js';
import { missingTrainingKernels, registerCpuTrainingKernels, registerWasmTrainingKernels } from './register_training_kernels.js';
import { simdKernels } from './wasm/simd/simd_kernels.js';
import { registerChainedOps } from '../ops/chained_ops.js';
import { importOptional } from '../utils/import_optional.js';
import { checkOptionKeys, optionNames } from '../utils/option_keys.js';

/** Backends transferkit knows how to start. */
export type BackendName = 'tensorflow' | 'tensorflow-gpu' | 'wasm' | 'cpu' | 'webgpu' | 'webgl';

/** Options of {@link useBackend}. */
export interface UseBackendOptions {
  /**
   * Where the wasm binaries are served from: a folder URL ending in `/`, or a map from each of the
   * three binary names to its URL (as tfjs-backend-wasm's `setWasmPaths`). Default: in Node, the
   * tfjs-backend-wasm package folder; in pages, the copies embedded in transferkit's package (a
   * lazily loaded ~190 kB chunk), so bundled pages need no configuration. `false` keeps what the
   * application set itself with tfjs-backend-wasm's `setWasmPaths`.
   */
  wasmPaths?: string | Record<string, string> | false;
  /**
   * Node + webgpu only: the Dawn backend to use (`'vulkan'`, `'opengles'`, ...). Default: the
   * platform's (Vulkan on Linux), then OpenGL ES at compatibility level (Mesa llvmpipe on machines
   * without a GPU). Also read from `TRANSFERKIT_DAWN_BACKEND`.
   */
  dawnBackend?: string;
  /**
   * Node + wasm only: threads of the wasm backend's XNNPACK pool (convolutions, matrix products).
   * Default: `TRANSFERKIT_WASM_THREADS`, else the machine's cores (at most 8). `1` keeps TF.js's
   * single-threaded build. Fixed when the wasm backend first starts in a process.
   */
  threads?: number;
}

/** What {@link backendInfo} reports. */
export interface BackendInfo {
  /** The active TF.js backend name (`'wasm'`, `'cpu'`, `'tensorflow'`, `'webgpu'`, ...). */
  name: string;
  /** tfjs-core version. */
  version: string;
  /** Threads the backend computes with (1 for cpu; wasm's pool size; undefined when unknown). */
  threads: number | undefined;
  /** Whether WebAssembly SIMD is used (wasm only). */
  simd: boolean | undefined;
  /**
   * wasm only: whether transferkit's hand-written SIMD kernels (depthwise gradients, BatchNorm,
   * ReLU6 gradient, Adam) run; false without wasm SIMD or with `TRANSFERKIT_WASM_SIMD=0`.
   */
  simdKernels?: boolean;
  /** True when every kernel that training the zoo's models needs is registered. */
  canTrain: boolean;
  /** The training kernels that are absent (empty when `canTrain`). */
  missingKernels: string[];
  /** Kernels transferkit registered for this backend. */
  addedKernels: string[];
  /** Why this backend was chosen. */
  reason: string;
  /** webgpu in Node: the GPU adapter Dawn chose and through which API. */
  gpuAdapter?: GpuAdapterInfo;
  /**
   * The frozen encoders loaded now and where each computes: ONNX encoders in ONNX Runtime
   * (`'onnxruntime-node'`), transferkit's own in TF.js. The head always trains on `name`.
   */
  encoders: LiveEncoderInfo[];
}

// Tensors get TF.js's chained methods (x.slice(), x.argMax()) as with @tensorflow/tfjs (ops/chained_ops.ts).
registerChainedOps();

/** Version of the cpu backend package (referencing it keeps bundlers from dropping its registration). */
export const cpuBackendVersion: string = cpuBackend.version_cpu;

const isNode = typeof process !== 'undefined' && process.versions?.node !== undefined;
let lastReason = 'default backend; useBackend() not called';
/** Kernels transferkit registered, per backend, over the whole process. */
const addedKernels = new Map<string, string[]>();
/** Backends whose training gradients and kernels transferkit has registered. */
const prepared = new Set<string>();


async function loadNative(gpu: boolean): Promise<void> {
  const pkg = gpu ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
  try {
    await importOptional(pkg);
  } catch (err) {
    throw new TransferKitError(
      'E_BACKEND_UNAVAILABLE',
      `Backend '${gpu ? 'tensorflow-gpu' : 'tensorflow'}' needs the optional peer ${pkg}, which could not be loaded. ` +
        `Install it with \`npm install ${pkg}@4.22.0\` (its install script downloads libtensorflow, so it needs internet), ` +
        `or use useBackend('wasm').`,
      { cause: err },
    );
  }
}

async function loadWebgpu(options: UseBackendOptions): Promise<void> {
  if (isNode && (globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu === undefined) {
    let dawn: unknown;
    try {
      dawn = await importOptional('webgpu');
    } catch (err) {
      throw new TransferKitError(
        'E_BACKEND_UNAVAILABLE',
        "Backend 'webgpu' in Node needs the optional peer `webgpu` (Dawn for Node). Install it with `npm install webgpu`, or use useBackend('wasm').",
        { cause: err },
      );
    }
    const mod = ((dawn as { default?: unknown }).default ?? dawn) as Parameters<typeof installDawn>[0];
    const prefer = options.dawnBackend ?? process.env.TRANSFERKIT_DAWN_BACKEND;
    if (prefer === 'null') {
      throw new TransferKitError('E_BAD_OPTION', "Dawn's 'null' backend computes nothing (every read returns zeros); transferkit refuses it. Use 'vulkan' or 'opengles'.");
    }
    const adapter = await installDawn(mod, prefer);
    if (adapter === null) {
      throw new TransferKitError(
        'E_BACKEND_UNAVAILABLE',
        `Backend 'webgpu': Dawn found no GPU adapter (tried ${prefer ?? 'Vulkan, then OpenGL ES at compatibility level'}). ` +
          'On Linux with a GPU install the Vulkan loader and driver (libvulkan1 and the vendor ICD); without a GPU install Mesa EGL/GLES (libegl1 libgles2 libegl-mesa0) for llvmpipe; or use useBackend(\'wasm\').',
      );
    }
  }
  // Already imported by the application (a bundle that imports the backend itself): keep that copy.
  if (tf.findBackendFactory('webgpu') !== null) return;
  try {
    await importOptional('@tensorflow/tfjs-backend-webgpu');
  } catch (err) {
    throw new TransferKitError(
      'E_BACKEND_UNAVAILABLE',
"Backend 'webgpu' needs the optional peer @tensorflow/tfjs-backend-webgpu: `npm install @tensorflow/tfjs-backend-webgpu@4.22.0`, and in a page also `import '@tensorflow/tfjs-backend-webgpu'` in your code before useBackend('webgpu').",
      { cause: err },
    );
  }
}

async function activate(name: BackendName, options: UseBackendOptions): Promise<void> {
  const tfName = name === 'tensorflow-gpu' ? 'tensorflow' : name;
  if (name === 'tensorflow' || name === 'tensorflow-gpu') await loadNative(name === 'tensorflow-gpu');
  if (name === 'webgpu') await loadWebgpu(options);
  // Already imported by the application (a browser bundle imports the backend itself): keep that copy.
  if (name === 'webgl' && tf.findBackendFactory('webgl') === null) {
    try {
      await importOptional('@tensorflow/tfjs-backend-webgl');
    } catch (err) {
      throw new TransferKitError('E_BACKEND_UNAVAILABLE', "Backend 'webgl' needs @tensorflow/tfjs-backend-webgl (browsers only): install it and `import '@tensorflow/tfjs-backend-webgl'` in your page's code before useBackend('webgl'), or use 'wasm'.", { cause: err });
    }
  }
  const wasmStarted = (tf.engine() as unknown as { registry: Record<string, unknown> }).registry.wasm !== undefined;
  if (name === 'wasm' && options.wasmPaths !== undefined && options.wasmPaths !== false) setWasmPaths(options.wasmPaths as string);
  // Pages: the binaries ship inside transferkit (bundlers do not copy .wasm files on their own),
  // unless `wasmPaths: false` keeps what the application set with tfjs-backend-wasm's setWasmPaths.
  else if (name === 'wasm' && !isNode && !wasmStarted && options.wasmPaths !== false) {
    const { embeddedWasmPaths } = await import('./wasm/embedded_binaries.js');
    setWasmPaths(await embeddedWasmPaths());
  }
  let restore: (() => void) | null = null;
  if (name === 'wasm' && isNode) restore = await prepareNodeWasmThreads(options.threads);
  if (tf.findBackendFactory(tfName) === null) {
    throw new TransferKitError('E_BACKEND_UNAVAILABLE', `Backend '${name}' is not registered with TF.js after loading its package. Check that every @tensorflow/* package is at version 4.22.0.`);
  }
  let ok: boolean;
  try {
    ok = await tf.setBackend(tfName);
  } catch (err) {
    throw new TransferKitError('E_BACKEND_UNAVAILABLE', `Backend '${name}' failed to initialise: ${(err as Error).message}.${startAdvice(name)}`, { cause: err });
  } finally {
    restore?.();
  }
  if (!ok) {
    throw new TransferKitError('E_BACKEND_UNAVAILABLE', `Backend '${name}' failed to initialise (TF.js returned false; its console message says why).${startAdvice(name)}`);
  }
  await tf.ready();
  prepareForTraining(tfName);
}

/** Registers the gradients and kernels transferkit adds to the running backend `tfName`. */
function prepareForTraining(tfName: string): void {
  registerClipByValueGrad();
  registerReluGrad();
  registerBatchNormInferenceGrad();
  const added = tfName === 'wasm' ? registerWasmTrainingKernels() : tfName === 'cpu' ? registerCpuTrainingKernels() : tfName === 'webgpu' ? registerWebgpuTrainingKernels() : [];
  addedKernels.set(tfName, [...(addedKernels.get(tfName) ?? []), ...added]);
  prepared.add(tfName);
}

interface EngineState { backendName: string | null; backendInstance: unknown; pendingBackendInit: Promise<boolean> | null }

/**
 * The backend TF.js runs on now, or null when none has started (reading tf.getBackend() would
 * start one). A start still in progress is awaited first; a failed one counts as none (TF.js keeps
 * its name in `backendName` either way, so only a live instance counts).
 */
async function runningBackend(): Promise<string | null> {
  const engine = tf.engine() as unknown as EngineState;
  if (engine.pendingBackendInit != null) await engine.pendingBackendInit.catch(() => false);
  return engine.backendInstance != null ? engine.backendName : null;
}

/** {@link runningBackend} without waiting: a start in progress counts as none. */
function runningBackendNow(): string | null {
  const engine = tf.engine() as unknown as EngineState;
  return engine.backendInstance != null ? engine.backendName : null;
}

/** useBackend calls, one after another. */
let startQueue: Promise<unknown> = Promise.resolve();

/** The first-use start in flight: concurrent first calls share it rather than start TF.js twice. */
let firstUseStart: Promise<void> | null = null;

/**
 * For the async primitives (loadPretrained, fineTune, evaluate, DomainAdapter.fit, ...): makes
 * sure a backend runs and is prepared for training. With none started it starts one as
 * `useBackend('auto')` would; one started by the application itself (`tf.setBackend`) is kept and
 * given transferkit's gradient kernels. So no primitive meets TF.js's raw "backend not
 * initialized" or "kernel not registered" errors.
 */
export async function ensureBackend(): Promise<void> {
  const running = await runningBackend();
  if (running !== null) {
    if (!prepared.has(running)) prepareForTraining(running);
    return;
  }
  firstUseStart ??= (async () => {
    await useBackend('auto');
    lastReason = `started on first use (useBackend() was not called): ${lastReason}`;
  })().finally(() => {
    firstUseStart = null;
  });
  await firstUseStart;
}

/**
 * For the synchronous primitives (replaceHead, predict, freeze, ...), which cannot start a
 * backend: prepares the running one, or throws a coded error saying what to call first.
 * @throws E_BACKEND_NOT_STARTED when no backend runs yet.
 */
export function requireBackend(caller: string): void {
  const running = runningBackendNow();
  if (running === null) {
    throw new TransferKitError('E_BACKEND_NOT_STARTED', `${caller} needs a running backend and none has started yet. Call \`await useBackend()\` first (or any async primitive, e.g. loadPretrained, which starts the default one).`);
  }
  if (!prepared.has(running)) prepareForTraining(running);
}

/** What to do after `name` failed to start: the other backends (never the one that just failed). */
function startAdvice(name: BackendName): string {
  const others = (isNode ? ['wasm', 'cpu'] : ['webgpu', 'webgl', 'wasm', 'cpu']).filter((b) => b !== name).map((b) => `useBackend('${b}')`);
  const wasmHint = name === 'wasm' && !isNode ? " If the page serves tfjs-backend-wasm's .wasm files itself, pass their folder or URLs: useBackend('wasm', { wasmPaths })." : '';
  return `${wasmHint} Or pick another backend: ${others.join(', ')}.`;
}

/**
 * Before the wasm backend's first start in Node: patches what TF.js needs to run its threaded
 * build there (`wasm/threads_node.ts`, loaded only in Node). Returns the undo, or null.
 */
async function prepareNodeWasmThreads(option: number | undefined): Promise<(() => void) | null> {
  const started = (tf.engine() as unknown as { registry: Record<string, unknown> }).registry.wasm !== undefined;
  const { planWasmThreads } = await import('./wasm/threads_node.js');
  return planWasmThreads(option, started ? getThreadsCount() : null);
}

/** Every option name of {@link UseBackendOptions}: others are refused. */
const USE_BACKEND_OPTIONS = optionNames<UseBackendOptions>({ wasmPaths: true, dawnBackend: true, threads: true });

const KNOWN: readonly BackendName[] = ['tensorflow', 'tensorflow-gpu', 'wasm', 'cpu', 'webgpu', 'webgl'];

/**
 * Selects the backend every later call runs on, and prepares it for training (registers the
 * gradient kernels wasm lacks).
 *
 * `'auto'` in Node: tfjs-node-gpu (if installed and a GPU is usable), then tfjs-node (if
 * installed), then wasm, then cpu. In a browser: webgpu, webgl, wasm, cpu.
 *
 * @param name - a backend name or `'auto'` (default).
 * @returns what was chosen and whether it can train.
 * @example
 * ```ts
 * const info = await useBackend('wasm');
 * console.log(info.canTrain); // true: transferkit registered the missing gradient kernels
 * ```
 */
export async function useBackend(name: BackendName | 'auto' = 'auto', options: UseBackendOptions = {}): Promise<BackendInfo> {
  checkOptionKeys('useBackend', options, USE_BACKEND_OPTIONS);
  // One start at a time: two concurrent TF.js starts cancel each other, and the Node wasm start
  // patches globals that an overlapping start would restore in the wrong order.
  const run = startQueue.then(() => startBackend(name, options));
  startQueue = run.catch(() => undefined);
  return run;
}

async function startBackend(name: BackendName | 'auto', options: UseBackendOptions): Promise<BackendInfo> {
  if (name !== 'auto') {
    if (!KNOWN.includes(name)) {
      throw new TransferKitError('E_BACKEND_UNKNOWN', `Unknown backend. Received: name=${String(name)}. Choose one of: auto, ${KNOWN.join(', ')}.`);
    }
    await activate(name, options);
    lastReason = `requested explicitly: useBackend('${name}')`;
    return backendInfo();
  }
  const chain: BackendName[] = isNode ? ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] : ['webgpu', 'webgl', 'wasm', 'cpu'];
  const passed: string[] = [];
  for (const candidate of chain) {
    try {
      await activate(candidate, options);
      if (candidate === 'tensorflow-gpu' && !(await nativeGpuUsable())) {
        passed.push('tensorflow-gpu: installed but no usable GPU');
        continue;
      }
      lastReason = `auto: first usable of [${chain.join(', ')}]` + (passed.length ? `; passed over ${passed.join('; ')}` : '');
      return backendInfo();
    } catch (err) {
      passed.push(`${candidate}: ${((err as Error).message ?? String(err)).replace('[transferkit] ', '').split('. ')[0]}`);
    }
  }
  throw new TransferKitError('E_BACKEND_UNAVAILABLE', `No backend could start. Tried: ${passed.join('; ')}.`);
}

async function nativeGpuUsable(): Promise<boolean> {
  // tfjs-node-gpu silently runs on the CPU when CUDA is absent; a GPU device in its list proves use.
  const backend = tf.backend() as unknown as { binding?: { isUsingGpuDevice?: () => boolean } };
  return backend.binding?.isUsingGpuDevice?.() ?? false;
}

/** Describes the active backend: name, version, threads, SIMD, and whether it can train. */
export function backendInfo(): BackendInfo {
  const name = tf.getBackend();
  const missing = missingTrainingKernels(name);
  let threads: number | undefined;
  let simd: boolean | undefined;
  if (name === 'wasm') {
    threads = getThreadsCount();
    try {
      simd = tf.env().getBool('WASM_HAS_SIMD_SUPPORT');
    } catch {
      simd = undefined; // flag not evaluated yet (backend still starting)
    }
  } else if (name === 'cpu') threads = 1;
  return {
    name,
    version: tf.version_core,
    threads,
    simd,
    ...(name === 'wasm' ? { simdKernels: simdKernels(tf.backend()) !== null } : {}),
    canTrain: missing.length === 0,
    missingKernels: missing,
    addedKernels: [...(addedKernels.get(name) ?? [])],
    reason: lastReason,
    encoders: liveEncoders(),
    ...(name === 'webgpu' && dawnAdapterInfo() !== null ? { gpuAdapter: dawnAdapterInfo() as GpuAdapterInfo } : {}),
  };
}
