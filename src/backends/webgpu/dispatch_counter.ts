/**
 * Counts the GPU work a piece of code issues on the webgpu backend: compute dispatches, bind
 * groups, uniform uploads and buffer creations, with dispatches attributed to the program (TF.js
 * shader class or transferkit kernel) that issued them.
 *
 * Why: a training step on webgpu is bound by per-dispatch JavaScript overhead long before the
 * GPU is busy (docs/performance.md: ~5,900 dispatches and ~0.1 ms of JS each for a MobileNetV2
 * step on an H200, GPU busy ~20 % of the step). The count is deterministic, so it can be tracked
 * on any machine, a software rasteriser included, where timings mean nothing.
 *
 * How: the WebGPU API's own entry points are wrapped for the duration of `fn`
 * (`GPUComputePassEncoder.dispatchWorkgroups`, `GPUDevice.createBindGroup` / `createBuffer`,
 * `GPUQueue.writeBuffer`), so every dispatch is seen, whoever records it; the backend's
 * `recordAndSubmit` is wrapped only to name the program behind each dispatch.
 */
import * as tf from '@tensorflow/tfjs-core';
import { TransferKitError } from '../../errors.js';

/** What {@link countGpuDispatches} measured. */
export interface GpuDispatchCounts {
  /** Compute dispatches (`dispatchWorkgroups` calls). */
  dispatches: number;
  /** Bind groups created (`createBindGroup` calls). */
  bindGroups: number;
  /** Writes into uniform buffers (`queue.writeBuffer` on a buffer with UNIFORM usage). */
  uniformWrites: number;
  /** GPU buffers created (`createBuffer`; TF.js pools buffers, so this falls to ~0 once warm). */
  buffersCreated: number;
  /** Dispatches per program name (TF.js's shader class, e.g. `BinaryOpProgram`, or transferkit's kernel name), most first. */
  byProgram: Array<[string, number]>;
  /**
   * Dispatches per outermost TF.js kernel (e.g. `Conv2DBackpropFilter` with every dispatch of its
   * composition, `Multiply`), most first: which operation of the model costs the dispatches.
   */
  byKernel: Array<[string, number]>;
}

interface Counters {
  dispatches: number;
  bindGroups: number;
  uniformWrites: number;
  buffersCreated: number;
  byProgram: Map<string, number>;
  byKernel: Map<string, number>;
  current: string | null;
  kernels: string[];
}

/** Uniform usage bit (`GPUBufferUsage.UNIFORM`), spelled out so this module loads without WebGPU globals. */
const UNIFORM = 0x40;

let active: Counters | null = null;

/**
 * Names the program behind dispatches that transferkit's own WebGPU kernels record directly
 * (outside TF.js's `runWebGPUProgram`). A no-op unless a count is running.
 */
export function noteGpuProgram(name: string | null): void {
  if (active !== null) active.current = name;
}

type Method = (...args: unknown[]) => unknown;

function wrap(proto: Record<string, unknown>, name: string, before: (args: unknown[]) => void): () => void {
  const original = proto[name] as Method;
  proto[name] = function (this: unknown, ...args: unknown[]) {
    before(args);
    return original.apply(this, args);
  };
  return () => {
    proto[name] = original;
  };
}

/**
 * Runs `fn` on the active webgpu backend and returns its result with the GPU work it issued.
 * Awaits `fn`; counts nested calls once (a nested count is refused). The backend must be webgpu.
 *
 * @example
 * const { counts } = await countGpuDispatches(() => trainOneStep());
 * console.log(counts.dispatches, counts.byProgram.slice(0, 5));
 */
export async function countGpuDispatches<T>(fn: () => T | Promise<T>): Promise<{ result: T; counts: GpuDispatchCounts }> {
  if (tf.getBackend() !== 'webgpu') {
    throw new TransferKitError('E_BACKEND_NOT_STARTED', `countGpuDispatches needs the webgpu backend; the active backend is '${tf.getBackend()}'. Call useBackend('webgpu') first.`);
  }
  if (active !== null) throw new TransferKitError('E_BAD_OPTION', 'countGpuDispatches: a count is already running; nested counts are not supported.');
  const g = globalThis as unknown as Record<string, { prototype: Record<string, unknown> } | undefined>;
  const passProto = g.GPUComputePassEncoder?.prototype;
  const deviceProto = g.GPUDevice?.prototype;
  const queueProto = g.GPUQueue?.prototype;
  if (passProto === undefined || deviceProto === undefined || queueProto === undefined) {
    throw new TransferKitError('E_BACKEND_UNAVAILABLE', 'countGpuDispatches: the WebGPU classes (GPUComputePassEncoder, GPUDevice, GPUQueue) are not globals here, so dispatches cannot be counted.');
  }
  const c: Counters = { dispatches: 0, bindGroups: 0, uniformWrites: 0, buffersCreated: 0, byProgram: new Map(), byKernel: new Map(), current: null, kernels: [] };
  const backend = tf.backend() as unknown as Record<string, unknown>;
  const restores = [
    wrap(passProto, 'dispatchWorkgroups', () => {
      c.dispatches++;
      const name = c.current ?? 'unattributed';
      c.byProgram.set(name, (c.byProgram.get(name) ?? 0) + 1);
      const kernel = c.kernels[0] ?? 'outside a kernel';
      c.byKernel.set(kernel, (c.byKernel.get(kernel) ?? 0) + 1);
    }),
    wrap(deviceProto, 'createBindGroup', () => {
      c.bindGroups++;
    }),
    wrap(deviceProto, 'createBuffer', () => {
      c.buffersCreated++;
    }),
    wrap(queueProto, 'writeBuffer', (args) => {
      const buffer = args[0] as { usage?: number } | undefined;
      if (buffer !== undefined && typeof buffer.usage === 'number' && (buffer.usage & UNIFORM) !== 0) c.uniformWrites++;
    }),
  ];
  // Own properties the wrappers shadow (none in TF.js 4.22; restored as found, not deleted).
  const ownRecord = Object.getOwnPropertyDescriptor(backend, 'recordAndSubmit');
  const ownRunKernel = Object.getOwnPropertyDescriptor(tf.engine(), 'runKernel');
  const record = backend.recordAndSubmit as Method | undefined;
  if (typeof record === 'function') {
    backend.recordAndSubmit = function (this: unknown, ...args: unknown[]) {
      const program = args[0] as { constructor?: { name?: string } } | undefined;
      const previous = c.current;
      c.current = program?.constructor?.name ?? 'program';
      try {
        return record.apply(this, args);
      } finally {
        c.current = previous;
      }
    };
  }
  const engine = tf.engine() as unknown as Record<string, unknown>;
  const runKernel = engine.runKernel as Method;
  engine.runKernel = function (this: unknown, ...args: unknown[]) {
    c.kernels.push(String(args[0]));
    try {
      return runKernel.apply(this, args);
    } finally {
      c.kernels.pop();
    }
  };
  active = c;
  try {
    const result = await fn();
    return {
      result,
      counts: {
        dispatches: c.dispatches,
        bindGroups: c.bindGroups,
        uniformWrites: c.uniformWrites,
        buffersCreated: c.buffersCreated,
        byProgram: [...c.byProgram.entries()].sort((a, b) => b[1] - a[1]),
        byKernel: [...c.byKernel.entries()].sort((a, b) => b[1] - a[1]),
      },
    };
  } finally {
    active = null;
    for (const r of restores) r();
    const restore = (target: Record<string, unknown>, name: string, own: PropertyDescriptor | undefined) => {
      if (own !== undefined) Object.defineProperty(target, name, own);
      else delete target[name];
    };
    if (typeof record === 'function') restore(backend, 'recordAndSubmit', ownRecord);
    restore(engine, 'runKernel', ownRunKernel);
  }
}
