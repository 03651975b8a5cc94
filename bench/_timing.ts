/** Timing helpers shared by the throughput benchmarks. */

/**
 * Median seconds of `steps` timed calls of `step`, after two untimed warm-ups (kernel setup,
 * shader compilation, first allocations). `step` must finish its work (read a result back) so
 * asynchronous backends are timed fully.
 */
export async function medianStepSeconds(step: () => Promise<void>, steps: number): Promise<number> {
  await step();
  await step();
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    await step();
    times.push((performance.now() - t0) / 1000);
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)];
}

/** The last line of a child's stdout that is a JSON object, parsed (null when none). */
export function lastJson<T = Record<string, unknown>>(out: string): T | null {
  const line = out.trim().split('\n').reverse().find((l) => l.startsWith('{'));
  return line ? (JSON.parse(line) as T) : null;
}
