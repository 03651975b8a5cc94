/**
 * The hand-written wasm SIMD kernels (src/backends/wasm/simd): the committed bytes are the .wat
 * sources assembled, and each kernel equals its definition on the single-thread build (unshared
 * memory) and the threaded build (shared memory), and with the kernels turned off.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runTsChild } from '../helpers/child.js';
import { assembleSimdModules } from '../../scripts/build-wasm-simd.js';

interface Out { threads: number; sharedMemory: boolean; simd: boolean; errors: number[]; inputErrors: number[]; transposeErrors: number[]; sliceErrors: number[]; poolErrors: number[]; leak: number }

function run(env: Record<string, string>) {
  return runTsChild<Out>(path.join(__dirname, 'child', 'simd_child.ts'), env);
}

describe('wasm SIMD kernels', () => {
  it('modules.ts holds exactly the assembled .wat sources', async () => {
    const committed = fs.readFileSync(path.resolve(__dirname, '../../src/backends/wasm/simd/modules.ts'), 'utf8');
    expect(committed, 'stale: run npx tsx scripts/build-wasm-simd.ts').toBe(await assembleSimdModules());
  });

  it('depthwise filter and input gradients, max-pool gradients, transposes and slices equal their definitions: 1 thread (unshared memory), 2 threads (shared), and with SIMD off', async () => {
    const [one, two, off] = await Promise.all([
      run({ TRANSFERKIT_WASM_THREADS: '1' }),
      run({ TRANSFERKIT_WASM_THREADS: '2' }),
      run({ TRANSFERKIT_WASM_THREADS: '2', TRANSFERKIT_WASM_SIMD: '0' }),
    ]);
    for (const r of [one, two, off]) expect(r.code, r.stderr).toBe(0);
    const [a, b, c] = [one.out, two.out, off.out] as Out[];
    expect([a.threads, a.sharedMemory, a.simd]).toEqual([1, false, true]);
    expect([b.threads, b.sharedMemory, b.simd]).toEqual([2, true, true]);
    expect(c.simd).toBe(false);
    for (const o of [a, b, c]) {
      expect(o.errors).toHaveLength(8);
      o.errors.forEach((e, i) => expect(e, `filter gradient, case ${i}`).toBeLessThan(1e-5));
      expect(o.inputErrors).toHaveLength(8);
      o.inputErrors.forEach((e, i) => expect(e, `input gradient, case ${i}`).toBeLessThan(1e-5));
      expect(o.transposeErrors).toEqual(new Array(9).fill(0));
      expect(o.sliceErrors).toEqual(new Array(7).fill(0));
      expect(o.poolErrors).toHaveLength(4);
      // With SIMD off, TF.js's own wasm MaxPoolGrad runs: it breaks ties (and NaN) differently
      // from tfjs-cpu's maxPoolPositions, the definition here, so it is not held to it.
      if (o.simd) o.poolErrors.forEach((e, i) => expect(e, `max-pool gradient, case ${i}`).toBeLessThan(1e-5));
      expect(o.leak).toBe(0);
    }
  }, 120_000);
});
