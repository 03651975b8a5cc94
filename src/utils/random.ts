/**
 * A small seeded PRNG (mulberry32) whose state is one 32-bit integer, so splits, shuffles and
 * flips are reproducible from `seed` and a checkpoint can resume the exact stream.
 */
export class SeededRandom {
  /** The generator state (save it to resume the stream). */
  state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Next value in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
}

/** A `() => number` view of a new {@link SeededRandom} (kept for call sites that only draw). */
export function mulberry32(seed: number): () => number {
  const r = new SeededRandom(seed);
  return () => r.next();
}

/** Fisher–Yates shuffle of 0..n-1 with `rand`. */
export function permutation(n: number, rand: () => number): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}
