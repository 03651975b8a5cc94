/**
 * `doctor()`: what this machine can run and what to install for a faster backend.
 *
 * Why: the usual failure is not a bug but a set-up (tfjs-node-gpu silently on the CPU because
 * CUDA 11.2 / cuDNN 8.1 are not the ones installed — tfjs#8505, #8362; no Vulkan loader; wasm
 * without SIMD). This probes each backend the way `useBackend` starts it, lists GPU adapters and
 * the CUDA libraries tfjs-node-gpu links against, and says what would help. The active backend is
 * restored afterwards.
 */
import * as tf from '@tensorflow/tfjs-core';
import { useBackend, type BackendName } from './backend.js';
import { installDawn, type GpuAdapterInfo } from './webgpu_node.js';
import { importOptional } from '../utils/import_optional.js';

/** One backend's probe result. */
export interface BackendProbe {
  name: BackendName;
  /** True when `useBackend(name)` starts. */
  available: boolean;
  /** True when every training kernel is registered (after transferkit's additions). */
  canTrain?: boolean;
  /** Threads (wasm: pool size; cpu: 1). */
  threads?: number;
  /** wasm: SIMD in use. */
  simd?: boolean;
  /** wasm: transferkit's hand-written SIMD kernels active (see `BackendInfo.simdKernels`). */
  simdKernels?: boolean;
  /** Why it is unavailable, or what it runs on. */
  detail: string;
}

/** What {@link doctor} reports. */
export interface DoctorReport {
  runtime: string;
  tfjsVersion: string;
  backends: BackendProbe[];
  /** GPU adapters Dawn can open, per Dawn backend (Node with the `webgpu` package). */
  gpuAdapters: GpuAdapterInfo[];
  /** Linux: CUDA / cuDNN libraries visible to the dynamic loader (tfjs-node-gpu 4.x needs CUDA 11.x and cuDNN 8.x). */
  cuda?: { cudart: string[]; cudnn: string[] };
  /**
   * Node: whether frozen ONNX encoders can run (the optional peer `@huggingface/transformers`,
   * which brings ONNX Runtime), and its version or why not.
   */
  onnxEncoders?: { available: boolean; detail: string };
  /** What to install or change for a faster backend, in order of impact. */
  advice: string[];
}

const isNode = typeof process !== 'undefined' && process.versions?.node !== undefined;

async function probe(name: BackendName): Promise<BackendProbe> {
  try {
    const info = await useBackend(name);
    return {
      name, available: true, canTrain: info.canTrain,
      ...(info.threads !== undefined ? { threads: info.threads } : {}),
      ...(info.simd !== undefined ? { simd: info.simd } : {}),
      ...(info.simdKernels !== undefined ? { simdKernels: info.simdKernels } : {}),
      detail: info.gpuAdapter !== undefined ? `${info.gpuAdapter.device || info.gpuAdapter.description} via ${info.gpuAdapter.dawnBackend}${info.gpuAdapter.software ? ' (software rasteriser)' : ''}` : `tfjs ${info.version}`,
    };
  } catch (err) {
    return { name, available: false, detail: ((err as Error).message ?? String(err)).replace('[transferkit] ', '') };
  }
}

async function probeOnnxEncoders(): Promise<{ available: boolean; detail: string }> {
  try {
    const tjs = (await importOptional('@huggingface/transformers')) as { env?: { version?: string } };
    return { available: true, detail: `@huggingface/transformers ${tjs.env?.version ?? '?'} (ONNX Runtime for Node)` };
  } catch (err) {
    return { available: false, detail: ((err as Error).message ?? String(err)).split('\n')[0] };
  }
}

async function listAdapters(): Promise<GpuAdapterInfo[]> {
  let dawn: unknown;
  try {
    dawn = await importOptional('webgpu');
  } catch {
    return [];
  }
  const mod = ((dawn as { default?: unknown }).default ?? dawn) as Parameters<typeof installDawn>[0];
  const found: GpuAdapterInfo[] = [];
  for (const backend of ['vulkan', 'opengles']) {
    const a = await installDawn(mod, backend, [], true).catch(() => null);
    if (a !== null) found.push(a);
  }
  return found;
}

async function cudaLibraries(): Promise<{ cudart: string[]; cudnn: string[] } | undefined> {
  if (!isNode || process.platform !== 'linux') return undefined;
  const { execFileSync } = await import('node:child_process');
  let listing = '';
  try {
    listing = execFileSync('ldconfig', ['-p'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    listing = '';
  }
  const names = (re: RegExp) => [...new Set(listing.split('\n').map((l) => l.trim().split(' ')[0]).filter((n) => re.test(n)))];
  return { cudart: names(/^libcudart\.so/), cudnn: names(/^libcudnn\.so/) };
}

/**
 * Probes every backend transferkit knows, lists GPU adapters and CUDA libraries, and advises.
 * @example
 * ```ts
 * const report = await doctor();
 * for (const line of report.advice) console.log(line);
 * ```
 */
export async function doctor(): Promise<DoctorReport> {
  const previous = tf.getBackend();
  const names: BackendName[] = isNode ? ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu', 'webgpu'] : ['webgpu', 'webgl', 'wasm', 'cpu'];
  const backends: BackendProbe[] = [];
  for (const n of names) backends.push(await probe(n));
  const gpuAdapters = isNode ? await listAdapters() : [];
  const cuda = await cudaLibraries();
  const onnxEncoders = isNode ? await probeOnnxEncoders() : undefined;
  if (previous !== undefined && previous !== null && tf.getBackend() !== previous) await tf.setBackend(previous);
  const ok = (n: BackendName) => backends.find((b) => b.name === n)?.available === true;
  const advice: string[] = [];
  const hardware = gpuAdapters.filter((a) => !a.software);
  if (isNode && !ok('tensorflow-gpu') && cuda !== undefined && cuda.cudart.some((l) => l.includes('.so.11')) && cuda.cudnn.some((l) => l.includes('.so.8'))) {
    advice.push('CUDA 11 and cuDNN 8 are visible: `npm install @tensorflow/tfjs-node-gpu@4.22.0` (its install downloads libtensorflow) gives native GPU training.');
  } else if (isNode && !ok('tensorflow-gpu') && cuda !== undefined && cuda.cudart.length > 0) {
    advice.push(`tfjs-node-gpu 4.x links against CUDA 11.2 / cuDNN 8.1; visible here: ${[...cuda.cudart, ...cuda.cudnn].join(', ') || 'none'} — other major versions leave it on the CPU silently.`);
  }
  if (hardware.length > 0 && !ok('webgpu')) advice.push(`A GPU adapter is visible (${hardware[0].device || hardware[0].description}): \`npm install @tensorflow/tfjs-backend-webgpu@4.22.0\` and useBackend('webgpu').`);
  if (hardware.length > 0 && ok('webgpu')) advice.push("useBackend('webgpu') runs on the GPU; pass it explicitly ('auto' prefers tfjs-node in Node).");
  if (isNode && !ok('tensorflow') && !ok('tensorflow-gpu')) advice.push('`npm install @tensorflow/tfjs-node@4.22.0` (needs internet at install) gives native multi-threaded CPU kernels, usually several times faster than wasm.');
  const wasm = backends.find((b) => b.name === 'wasm');
  if (wasm?.available === true && wasm.simd === false) advice.push('wasm runs without SIMD: use Node 16.4+ / a browser with WebAssembly SIMD for ~2x faster kernels.');
  if (isNode && gpuAdapters.length === 0) advice.push('No GPU adapter through Dawn: with a GPU install the Vulkan loader and driver (libvulkan1 + the vendor ICD) and `npm install webgpu`.');
  if (onnxEncoders !== undefined && !onnxEncoders.available) advice.push('Frozen encoders: `npm install @huggingface/transformers` (offline: `onnxruntime-node-install=skip` in .npmrc first) runs ONNX encoders in ONNX Runtime, 5-8x faster than wasm for embeddings (docs/encoders.md in the transferkit package).');
  if (advice.length === 0) advice.push('Nothing to add: the fastest backend available here is usable.');
  return { runtime: isNode ? `node ${process.versions.node} ${process.platform}-${process.arch}` : 'browser', tfjsVersion: tf.version_core, backends, gpuAdapters, ...(cuda !== undefined ? { cuda } : {}), ...(onnxEncoders !== undefined ? { onnxEncoders } : {}), advice };
}
