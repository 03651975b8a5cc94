/** The environment a run records: versions, backend, machine, seed. */
import * as os from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { backendInfo } from '../backends/backend.js';
import { VERSION } from '../version.js';

/** Flat key/value facts for config.json and the report. */
export function environment(seed: number): Record<string, string | number | boolean> {
  const info = backendInfo();
  const cpus = os.cpus();
  return {
    transferkit: VERSION,
    'tfjs-core': tf.version_core,
    backend: info.name,
    'backend threads': info.threads ?? 'unknown',
    'wasm SIMD': info.simd ?? 'n/a',
    'SIMD kernels': info.simdKernels ?? 'n/a',
    'frozen encoders': info.encoders.map((e) => `${e.id} (${e.runtime}, ${e.device})`).join('; ') || 'none',
    node: process.versions.node,
    platform: `${process.platform}-${process.arch}`,
    cpu: `${cpus.length} x ${cpus[0]?.model ?? 'unknown'}`,
    'memory GB': Math.round(os.totalmem() / 2 ** 30),
    seed,
    date: new Date().toISOString(),
  };
}
