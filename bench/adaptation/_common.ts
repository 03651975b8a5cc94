/**
 * Shared bits of the adaptation benchmarks: argument parsing, the assets folder, seeds and
 * a mean/spread summary.
 */
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const here = path.dirname(fileURLToPath(import.meta.url));
export const assets = process.env.TRANSFERKIT_ASSETS ?? path.resolve(here, '..', '..', '..', 'shared');

/** Mean and sample standard deviation (n - 1), rounded to 0.1 percentage point when `pct`. */
export function meanStd(xs: number[], pct = true): { mean: number; std: number; n: number } {
  const n = xs.length;
  const mean = xs.reduce((a, v) => a + v, 0) / n;
  const std = n > 1 ? Math.sqrt(xs.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1)) : 0;
  const r = (v: number) => (pct ? Number((100 * v).toFixed(1)) : Number(v.toFixed(4)));
  return { mean: r(mean), std: r(std), n };
}
