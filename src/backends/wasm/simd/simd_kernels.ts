/**
 * Hand-written WebAssembly SIMD kernels that work directly on the TF.js wasm backend's memory.
 *
 * Why: some training kernels have no fast form in tfjs-backend-wasm 4.22 (its XNNPACK build has
 * no gradient operators) and cannot be composed from its forward operators without wasting most
 * of the time (see each .wat file's header). These small modules import the backend's own
 * `WebAssembly.Memory`, so they read inputs and write outputs in place, with no copies. The
 * sources are the .wat files beside this file; `scripts/build-wasm-simd.ts` assembles them into
 * `modules.ts`, and a test checks the committed bytes against the sources.
 *
 * They run on the calling thread (single-threaded): helper threads on the same shared memory
 * were tried and measured (docs/performance.md, "helper threads") — 1.8x on a lone transpose, no
 * gain within noise on a 2-core training step, where XNNPACK's own pool threads hold both cores.
 * `TRANSFERKIT_WASM_SIMD=0` turns them off (the composed kernels are then used), for A/B measurements.
 */
import * as tf from '@tensorflow/tfjs-core';
import { SIMD_MODULES } from './modules.js';

/** The parts of tfjs-backend-wasm's `BackendWasm` these kernels use. */
interface WasmBackendInternals {
  wasm: { wasmMemory?: WebAssembly.Memory; asm?: { memory?: WebAssembly.Memory } };
  dataIdMap: { get(dataId: unknown): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  disposeData(dataId: unknown): boolean;
}

/** The exported SIMD kernel functions (all byte offsets into the backend's memory). */
export interface SimdKernelExports {
  /** See depthwise_filter_grad.wat. */
  dwFilterGrad(
    x: number, dy: number, out: number,
    n: number, h: number, w: number, c: number, ho: number, wo: number,
    kh: number, kw: number, sh: number, sw: number, pt: number, pl: number,
  ): void;
  /** See depthwise_input_grad.wat. */
  dwInputGrad(
    dy: number, f: number, dx: number,
    n: number, h: number, w: number, c: number, ho: number, wo: number,
    kh: number, kw: number, sh: number, sw: number, pt: number, pl: number,
  ): void;
  /** See adam_update.wat; `flags & 1`: add the coupled L2 term `p * gWd` to the gradient. */
  adamUpdate(
    p: number, g: number, m: number, v: number, outP: number, outM: number, outV: number, n: number,
    b1: number, c1: number, b2: number, c2: number, sbc2: number, eps: number, step: number, pScale: number, gWd: number, flags: number,
  ): void;
  /** See clip_by_value_grad.wat. */
  clipByValueGrad(dy: number, x: number, out: number, n: number, lo: number, hi: number, strict: number): void;
  /** See batch_norm.wat: per-channel float64 sums of (x - k) and (x - k)^2. */
  bnStats(x: number, rows: number, c: number, k: number, blk1: number, blk2: number, s1: number, s2: number): void;
  /** See batch_norm.wat: per-channel float64 sums of dy and dy * (x - mean). */
  bnGradSums(dy: number, x: number, rows: number, c: number, mean: number, blk1: number, blk2: number, s1: number, s2: number): void;
  /** See batch_norm.wat: y = (x - mean) * scale + beta. */
  bnApply(x: number, y: number, rows: number, c: number, mean: number, scale: number, beta: number): void;
  /** See batch_norm.wat: dx = a * ((dy - b) - (x - mean) * d). */
  bnGradApply(dy: number, x: number, dx: number, rows: number, c: number, mean: number, a: number, b: number, d: number): void;
  /** See batch_norm.wat: y = min(max((x - mean) * scale + beta, 0), max) (NaN passes). */
  bnApplyAct(x: number, y: number, rows: number, c: number, mean: number, scale: number, beta: number, max: number): void;
  /** See batch_norm.wat: bnGradSums of dy masked by the clamp of pre = (x - mean) * a + beta. */
  bnGradSumsAct(dy: number, x: number, rows: number, c: number, mean: number, blk1: number, blk2: number, s1: number, s2: number, a: number, beta: number, max: number): void;
  /** See batch_norm.wat: bnGradApply of dy masked by the clamp of pre = (x - mean) * a + beta. */
  bnGradApplyAct(dy: number, x: number, dx: number, rows: number, c: number, mean: number, a: number, b: number, d: number, beta: number, max: number): void;
  /** See max_pool_grad.wat (dx zeroed by the caller). */
  maxPoolGrad(
    x: number, dy: number, dx: number,
    n: number, h: number, w: number, c: number, ho: number, wo: number,
    kh: number, kw: number, sh: number, sw: number, pt: number, pl: number,
  ): void;
  /** See transpose.wat: dst[c, r] = src[r, c] of a [rows, cols] matrix of 32-bit elements, rows r0..r1. */
  transpose2d(src: number, dst: number, rows: number, cols: number, r0: number, r1: number): void;
}

/** The kernels bound to one backend's memory, and helpers to address its tensors. */
export interface SimdKernels extends SimdKernelExports {
  /** Byte offset of a tensor's data in the backend's memory. */
  offset(t: tf.TensorInfo): number;
  /** A new output tensor of `shape` (uninitialised; float32 unless `dtype` says) and its byte offset. */
  output(shape: number[], dtype?: 'float32' | 'int32' | 'bool'): { info: tf.TensorInfo; offset: number };
  /** A new float32 output tensor of `shape`, zero-filled, and its byte offset. */
  zeros(shape: number[]): { info: tf.TensorInfo; offset: number };
  /** Zeroed scratch memory of at least `bytes` (16-byte aligned start); `free()` releases it. */
  scratch(bytes: number): { offset: number; free(): void };
  /** Current byte / float32 / float64 views of the backend's memory (re-read after any allocation). */
  heap(): { u8: Uint8Array; f32: Float32Array; f64: Float64Array };
}

/**
 * The SIMD kernels for a depthwise gradient of this geometry, or null: they handle channel
 * multiplier 1 without dilation (every MobileNet/EfficientNet depthwise layer), float32 only.
 */
export function depthwiseSimd(backend: unknown, mult: number, g: { dilationHeight: number; dilationWidth: number }, ...tensors: tf.TensorInfo[]): SimdKernels | null {
  const eligible = mult === 1 && g.dilationHeight === 1 && g.dilationWidth === 1 && tensors.every((t) => t.dtype === 'float32');
  return eligible ? simdKernels(backend) : null;
}

const bound = new WeakMap<object, SimdKernels | null>();

function decodeBase64(s: string): Uint8Array<ArrayBuffer> {
  const bin = atob(s);
  const out = new Uint8Array(new ArrayBuffer(bin.length));
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function disabledByEnv(): boolean {
  const env = typeof process !== 'undefined' ? process.env?.TRANSFERKIT_WASM_SIMD : undefined;
  return env === '0' || env === 'false';
}

/**
 * The SIMD kernels for `backend` (a tfjs-backend-wasm backend), or null where they cannot run:
 * no wasm SIMD in this engine, the backend's memory not reachable, or `TRANSFERKIT_WASM_SIMD=0`.
 */
export function simdKernels(backend: unknown): SimdKernels | null {
  if (disabledByEnv() || typeof backend !== 'object' || backend === null) return null;
  if (bound.has(backend)) return bound.get(backend) ?? null;
  const be = backend as WasmBackendInternals;
  let kernels: SimdKernels | null = null;
  const memory = be.wasm?.wasmMemory ?? be.wasm?.asm?.memory;
  if (memory instanceof WebAssembly.Memory) {
    const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
    const modules = Object.values(SIMD_MODULES).map((m) => decodeBase64(m[shared ? 'shared' : 'unshared']));
    if (modules.every((bytes) => WebAssembly.validate(bytes))) {
      // Synchronous compiles: each module is a few KB at most (browsers allow sync compiles < 4 KB;
      // batch_norm, the largest, is 2.4 KB).
      const exports = Object.assign({}, ...modules.map((bytes) => new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports)) as SimdKernelExports;
      const offset = (t: tf.TensorInfo): number => {
        const entry = be.dataIdMap.get(t.dataId);
        if (entry === undefined) throw new Error(`wasm SIMD kernel: tensor ${JSON.stringify(t.shape)} has no data on the wasm backend`);
        return entry.memoryOffset;
      };
      const output = (shape: number[], dtype: 'float32' | 'int32' | 'bool' = 'float32') => {
        const info = be.makeOutput(shape, dtype);
        return { info, offset: offset(info) };
      };
      // Views of the memory as it is now: Emscripten refreshes its own HEAP* views lazily after a
      // growth (in the threaded build another thread may have grown it), so build ours from
      // `memory.buffer` whenever it changed.
      let views = { u8: new Uint8Array(memory.buffer), f32: new Float32Array(memory.buffer), f64: new Float64Array(memory.buffer) };
      const heap = () => {
        const buffer = memory.buffer;
        if (views.u8.buffer !== buffer) views = { u8: new Uint8Array(buffer), f32: new Float32Array(buffer), f64: new Float64Array(buffer) };
        return views;
      };
      const scratch = (bytes: number) => {
        // Over-allocate 16 bytes so that the start can be aligned for float64 / v128 access.
        const words = Math.ceil(bytes / 4) + 4;
        const info = be.makeOutput([words], 'float32');
        const base = offset(info);
        const start = Math.ceil(base / 16) * 16;
        heap().f32.fill(0, base >>> 2, (base >>> 2) + words);
        return { offset: start, free: () => void be.disposeData(info.dataId) };
      };
      kernels = {
        dwFilterGrad: exports.dwFilterGrad,
        dwInputGrad: exports.dwInputGrad,
        adamUpdate: exports.adamUpdate,
        clipByValueGrad: exports.clipByValueGrad,
        bnStats: exports.bnStats,
        bnGradSums: exports.bnGradSums,
        bnApply: exports.bnApply,
        bnGradApply: exports.bnGradApply,
        bnApplyAct: exports.bnApplyAct,
        bnGradSumsAct: exports.bnGradSumsAct,
        bnGradApplyAct: exports.bnGradApplyAct,
        transpose2d: exports.transpose2d,
        maxPoolGrad: exports.maxPoolGrad,
        offset,
        heap,
        scratch,
        output,
        zeros: (shape) => {
          const out = output(shape);
          // The memory may grow with the allocation: take the views after it.
          heap().f32.fill(0, out.offset >>> 2, (out.offset >>> 2) + tf.util.sizeFromShape(shape));
          return out;
        },
      };
    }
  }
  bound.set(backend, kernels);
  return kernels;
}
