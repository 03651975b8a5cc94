/**
 * Records one hand-written WGSL compute shader into TF.js's webgpu command stream, with several
 * outputs.
 *
 * Why not `backend.runWebGPUProgram`: it gives a program exactly one output, and a fused
 * training kernel has several (Adam: the parameter and both moments; BatchNorm: y and the batch
 * statistics). Composing them from single-output programs is what costs the dispatches
 * (docs/performance.md, "WebGPU"). This module uses the same backend pieces as
 * `runWebGPUProgram` — pooled output buffers, pooled uniform buffers, the shared command encoder
 * and compute pass, TF.js's submit batching — so the kernels interleave with TF.js's own in order.
 *
 * Bindings: 0..outputs-1 the outputs (`read_write`), then the inputs (`read`), then one uniform
 * buffer of 4-byte scalars in the order given (padded to 16 bytes), kept and reused for the same
 * values (unlike TF.js's programs, whose uniforms are written into a pooled buffer every dispatch).
 */
import * as tf from '@tensorflow/tfjs-core';
import { noteGpuProgram } from './dispatch_counter.js';

/** A 4-byte scalar uniform. */
export interface WgslScalar {
  type: 'float32' | 'int32' | 'uint32';
  value: number;
}

/** One dispatch of a hand-written shader. */
export interface WgslDispatch {
  /** Kernel name (pipeline cache key together with `variant`; shown by the dispatch counter). */
  name: string;
  /** Distinguishes shader texts of one kernel (e.g. per mode); `name` + `variant` must identify the text, as pipelines are cached by them. */
  variant: string;
  /** Builds the whole WGSL module (entry point `main`); called once per name + variant. */
  code: () => string;
  inputs: tf.TensorInfo[];
  /** Shapes and dtypes of the outputs to allocate. */
  outputs: Array<{ shape: number[]; dtype: 'float32' | 'int32' }>;
  uniforms: WgslScalar[];
  /**
   * Whether the uniform values vary from call to call for the same shapes (Adam's bias
   * corrections change every step). Default false: the uniform buffer is kept and reused by every
   * later dispatch with the same values, instead of being written anew each time.
   */
  volatileUniforms?: boolean;
  /** Workgroup counts (each ≤ the device's maxComputeWorkgroupsPerDimension). */
  workgroups: [number, number, number];
}

/** The webgpu backend's members used here (TF.js 4.22's `WebGPUBackend`). */
interface WebgpuBackendInternals {
  device: GPUDeviceLike;
  commandEncoder: { beginComputePass(d: object): ComputePassLike } | null;
  computePassEncoder: ComputePassLike | null;
  dispatchCountInPass: number;
  commandQueueOwnedIds: WeakSet<object>;
  makeTensorInfo(shape: number[], dtype: string): tf.TensorInfo;
  uploadToGPU(dataId: object): void;
  tensorToBinding(t: tf.TensorInfo): unknown;
  makeUniforms(u: Array<{ type: string; data: number[] }>): unknown;
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
  activeTimers: Array<{ name: string; query: Promise<number> }> | null | undefined;
  supportTimestampQuery: boolean;
  querySet: unknown;
  querySetCount: number;
  getQueryTime(): Promise<number>;
  tensorMap: { get(dataId: object): { values: unknown } };
}

interface ComputePassLike {
  setPipeline(p: unknown): void;
  setBindGroup(i: number, g: unknown): void;
  dispatchWorkgroups(x: number, y: number, z: number): void;
}

interface GPUDeviceLike {
  createQuerySet(d: object): unknown;
  createBuffer(d: { size: number; usage: number }): unknown;
  queue: { writeBuffer(buffer: unknown, offset: number, data: ArrayBuffer): void };
  createShaderModule(d: { code: string }): unknown;
  createComputePipeline(d: object): { getBindGroupLayout(i: number): unknown };
  createBindGroup(d: object): unknown;
  limits: { maxComputeWorkgroupsPerDimension: number };
}

const pipelines = new WeakMap<object, Map<string, { getBindGroupLayout(i: number): unknown }>>();

function pipelineFor(device: GPUDeviceLike, d: WgslDispatch): { getBindGroupLayout(i: number): unknown } {
  let cache = pipelines.get(device);
  if (cache === undefined) {
    cache = new Map();
    pipelines.set(device, cache);
  }
  const key = `${d.name}/${d.variant}`;
  let p = cache.get(key);
  if (p === undefined) {
    p = device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code: d.code() }), entryPoint: 'main' } });
    cache.set(key, p);
  }
  return p;
}

/** Uniform buffers kept per device, by their values (least recently used first); at most this many. */
const UNIFORM_CACHE_SIZE = 4096;
const uniformCaches = new WeakMap<object, Map<string, { buffer: unknown; size: number }>>();

/**
 * A uniform buffer holding `scalars` (4-byte values in order), written once and reused: layers
 * repeat the same shapes every step, so after the first step their kernels' uniforms are all
 * cached. Evicted buffers are only dropped (never destroyed: recorded, unsubmitted commands may
 * still use them); the garbage collector frees them.
 */
function cachedUniforms(device: GPUDeviceLike, scalars: Array<{ type: string; data: number[] }>): { buffer: unknown; offset: number; size: number } {
  let cache = uniformCaches.get(device);
  if (cache === undefined) {
    cache = new Map();
    uniformCaches.set(device, cache);
  }
  const key = scalars.map((v) => `${v.type[0]}${v.data[0]}`).join(',');
  let entry = cache.get(key);
  if (entry !== undefined) {
    cache.delete(key); // most recently used last
  } else {
    const bytes = new ArrayBuffer(4 * scalars.length);
    scalars.forEach((v, i) => {
      if (v.type === 'float32') new Float32Array(bytes, 4 * i, 1)[0] = v.data[0];
      else if (v.type === 'uint32') new Uint32Array(bytes, 4 * i, 1)[0] = v.data[0];
      else new Int32Array(bytes, 4 * i, 1)[0] = v.data[0];
    });
    const usage = (globalThis as unknown as { GPUBufferUsage: { UNIFORM: number; COPY_DST: number } }).GPUBufferUsage;
    entry = { buffer: device.createBuffer({ size: bytes.byteLength, usage: usage.UNIFORM | usage.COPY_DST }), size: bytes.byteLength };
    device.queue.writeBuffer(entry.buffer, 0, bytes);
    if (cache.size >= UNIFORM_CACHE_SIZE) cache.delete(cache.keys().next().value as string);
  }
  cache.set(key, entry);
  return { buffer: entry.buffer, offset: 0, size: entry.size };
}

/** The webgpu backend's device limit on workgroups per dimension. */
export function maxWorkgroupsPerDimension(): number {
  return (tf.backend() as unknown as WebgpuBackendInternals).device.limits.maxComputeWorkgroupsPerDimension;
}

/**
 * A 2-D grid covering `count` workgroups within the per-dimension limit (shaders recover the
 * linear index as `wid.y * num_workgroups.x + wid.x` and skip indices past the end).
 */
export function grid1d(count: number): [number, number, number] {
  const max = maxWorkgroupsPerDimension();
  const x = Math.min(Math.max(count, 1), max);
  return [x, Math.ceil(Math.max(count, 1) / x), 1];
}

/**
 * Records `d` and returns its outputs (TensorInfos owned by the caller, as a kernel's outputs).
 * Empty outputs are returned without a dispatch (WebGPU cannot bind empty buffers); a kernel with
 * an empty input must not come here with non-empty outputs (each kernel checks its sizes).
 */
export function runWgsl(d: WgslDispatch): tf.TensorInfo[] {
  const backend = tf.backend() as unknown as WebgpuBackendInternals;
  const outputs = d.outputs.map((o) => backend.makeTensorInfo(o.shape, o.dtype));
  const empty = (t: tf.TensorInfo) => tf.util.sizeFromShape(t.shape) === 0;
  if (outputs.every(empty)) {
    // As runWebGPUProgram's short cut: the result is empty, its values an empty array.
    for (const o of outputs) backend.tensorMap.get(o.dataId).values = tf.util.getTypedArrayFromDType(o.dtype as 'float32', 0);
    return outputs;
  }
  if (outputs.some(empty) || d.inputs.some(empty)) throw new Error(`${d.name}: empty inputs or outputs reached the WGSL kernel (the kernel should have taken its composed path).`);
  for (const t of [...outputs, ...d.inputs]) backend.uploadToGPU(t.dataId);
  const pipeline = pipelineFor(backend.device, d);
  const scalars = d.uniforms.map((u) => ({ type: u.type, data: [u.value] }));
  while (scalars.length % 4 !== 0 || scalars.length === 0) scalars.push({ type: 'int32', data: [0] });
  const uniform = d.volatileUniforms === true ? backend.makeUniforms(scalars) : cachedUniforms(backend.device, scalars);
  const bindings = [...outputs.map((t) => backend.tensorToBinding(t)), ...d.inputs.map((t) => backend.tensorToBinding(t)), uniform];
  for (const t of [...outputs, ...d.inputs]) backend.commandQueueOwnedIds.add(t.dataId);
  const bindGroup = backend.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: bindings.map((resource, binding) => ({ binding, resource })) });
  // Warm-up compile passes (TF.js's WEBGPU_ENGINE_COMPILE_ONLY) build pipelines and dispatch nothing.
  if (tf.env().getBool('WEBGPU_ENGINE_COMPILE_ONLY')) return outputs;
  backend.ensureCommandEncoderReady();
  const encoder = backend.commandEncoder as NonNullable<WebgpuBackendInternals['commandEncoder']>;
  // As recordAndSubmit: while tf.profile / tf.time run, each dispatch gets a pass of its own with
  // timestamp writes, and its time is pushed as a timer under the kernel's name.
  const timed = backend.activeTimers != null;
  if (timed && backend.supportTimestampQuery) {
    backend.endComputePassEncoder();
    if (backend.querySet == null) backend.querySet = backend.device.createQuerySet({ type: 'timestamp', count: backend.querySetCount });
    backend.computePassEncoder = encoder.beginComputePass({ timestampWrites: { querySet: backend.querySet, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 } });
  } else if (backend.computePassEncoder === null || backend.computePassEncoder === undefined) {
    backend.computePassEncoder = encoder.beginComputePass({});
  }
  const pass = backend.computePassEncoder;
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bindGroup);
  noteGpuProgram(d.name);
  pass.dispatchWorkgroups(d.workgroups[0], d.workgroups[1], d.workgroups[2]);
  noteGpuProgram(null);
  backend.dispatchCountInPass++;
  // As runWebGPUProgram: submit every WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE dispatches.
  if (timed || (tf.env().get('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE') as number) <= backend.dispatchCountInPass) {
    backend.endComputePassEncoder();
    if (timed) (backend.activeTimers as NonNullable<WebgpuBackendInternals['activeTimers']>).push({ name: d.name, query: backend.getQueryTime() });
    else backend.submitQueue();
  }
  return outputs;
}

/**
 * WGSL lines that declare the bindings of a {@link WgslDispatch} (outputs, inputs, uniforms).
 * Arrays are `f32` unless a name ends in `:i32` (int32 tensors, e.g. one-hot labels).
 */
export function wgslBindings(outputs: string[], inputs: string[], uniforms: Array<[string, 'f32' | 'i32' | 'u32']>): string {
  const lines: string[] = [];
  let b = 0;
  const decl = (name: string, access: string) => {
    const [n, t = 'f32'] = name.split(':');
    return `@group(0) @binding(${b++}) var<storage, ${access}> ${n}: array<${t}>;`;
  };
  for (const o of outputs) lines.push(decl(o, 'read_write'));
  for (const i of inputs) lines.push(decl(i, 'read'));
  const fields = uniforms.map(([n, t]) => `  ${n}: ${t},`);
  while (fields.length % 4 !== 0 || fields.length === 0) fields.push(`  _pad${fields.length}: i32,`);
  lines.push(`struct Uniforms {\n${fields.join('\n')}\n};`);
  lines.push(`@group(0) @binding(${b}) var<uniform> u: Uniforms;`);
  return lines.join('\n');
}
