/**
 * Multi-threaded wasm in Node (src/backends/wasm/threads_node.ts): each configuration in its own
 * process, because the thread count is fixed when the backend first starts.
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runTsChild } from '../helpers/child.js';

interface Out { threads: number; conv: number[]; mm: number[]; gx: number[]; gf: number[]; again: string | null }

function run(threads: string) {
  return runTsChild<Out>(path.join(__dirname, 'child', 'wasm_threads_child.ts'), { TRANSFERKIT_WASM_THREADS: threads });
}

const maxDiff = (p: number[], q: number[]) => p.reduce((m, v, i) => Math.max(m, Math.abs(v - q[i])), 0);

describe('wasm threads in Node', () => {
  it('2 threads run TF.js threaded build: same convolutions, products and gradients as 1 thread; the count is fixed per process', async () => {
    const [one, two] = await Promise.all([run('1'), run('2')]);
    expect(one.code, one.stderr).toBe(0);
    expect(two.code, two.stderr).toBe(0);
    expect(one.out?.threads).toBe(1);
    expect(two.out?.threads).toBe(2);
    const a = one.out as Out;
    const b = two.out as Out;
    for (const k of ['conv', 'mm', 'gx', 'gf'] as const) {
      expect(b[k].length, k).toBe(a[k].length);
      const scale = Math.max(...a[k].map(Math.abs));
      expect(maxDiff(a[k], b[k]) / scale, k).toBeLessThan(1e-6);
    }
    expect(a.again).toMatch(/already runs with 1 thread\(s\).*Received: threads=2/);
    expect(b.again).toMatch(/already runs with 2 thread\(s\).*Received: threads=1/);
  }, 120_000);

  it('refuses an invalid thread count by name', async () => {
    const bad = await run('0');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/wasm threads must be an integer from 1 to 8\. Received: TRANSFERKIT_WASM_THREADS=0/);
  }, 60_000);
});
