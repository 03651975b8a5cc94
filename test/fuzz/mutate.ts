/**
 * Seeded mutators of the fuzz suite: byte-level (bit flips, overwritten spans, truncation,
 * duplicated or deleted chunks, huge little/big-endian integers planted where sizes live) and,
 * for JSON files, structure-level (values swapped between keys, types changed, keys removed,
 * huge or negative numbers, deep nesting, path tricks). Every mutation is described in words so a
 * failing input can be rebuilt from (target, seed, index).
 */
import { mulberry32 } from '../../src/utils/random.js';

export interface Mutation {
  bytes: Uint8Array;
  what: string;
  /** Set when the mutation pointed a file name outside the input folder and removed the file. */
  escapeAttempt?: { from: string; to: string };
}

const HUGE_INTS = [0xffffffff, 0x7fffffff, 0x80000000, 0x10000000, 0xfffffffe, 1 << 24, 0];
const HUGE_NUMBERS = [1e9, 1e12, -1, -2147483648, 2 ** 53, 1e308, 0, 0.5, Number.MAX_SAFE_INTEGER, 100000];
const DEEP = '\u0000deep\u0000';
const PATH_TRICKS = ['../../outside/', '/etc/', '..%2F..%2Foutside%2F', '....//....//outside/', 'C:\\outside\\'];

export class Mutator {
  readonly rand: () => number;
  constructor(seed: number) {
    this.rand = mulberry32(seed);
  }

  int(n: number): number {
    return Math.floor(this.rand() * n);
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }

  /** One byte-level mutation of `src` (never `src` itself). */
  bytes(src: Uint8Array): Mutation {
    const b = new Uint8Array(src);
    const n = b.length;
    if (n === 0) return { bytes: new Uint8Array([this.int(256)]), what: 'one random byte' };
    // Headers decide most of the parsing: bias positions towards the start.
    const pos = () => (this.rand() < 0.6 ? this.int(Math.min(n, 512)) : this.int(n));
    switch (this.int(8)) {
      case 0: {
        const k = 1 + this.int(8);
        const at: number[] = [];
        for (let i = 0; i < k; i++) {
          const p = pos();
          b[p] ^= 1 << this.int(8);
          at.push(p);
        }
        return { bytes: b, what: `bit flips at ${at.join(',')}` };
      }
      case 1: {
        const cut = this.int(n);
        return { bytes: b.slice(0, cut), what: `truncated to ${cut} of ${n} bytes` };
      }
      case 2: {
        const p = pos();
        const len = 1 + this.int(16);
        const v = this.pick([0, 0xff, this.int(256)]);
        b.fill(v, p, Math.min(n, p + len));
        return { bytes: b, what: `${len} bytes at ${p} set to ${v}` };
      }
      case 3: {
        const p = pos() & ~3;
        const v = this.pick(HUGE_INTS);
        const le = this.rand() < 0.5;
        if (p + 4 <= n) new DataView(b.buffer).setUint32(p, v >>> 0, le);
        return { bytes: b, what: `uint32 ${v} (${le ? 'LE' : 'BE'}) at ${p}` };
      }
      case 4: {
        const p = pos() & ~7;
        if (p + 8 <= n) new DataView(b.buffer).setBigUint64(p, BigInt(this.pick(['18446744073709551615', '9223372036854775807', '4294967296', '1099511627776'])), true);
        return { bytes: b, what: `uint64 planted at ${p}` };
      }
      case 5: {
        const p = pos();
        const len = 1 + this.int(Math.min(64, n - p));
        const out = new Uint8Array(n + len);
        out.set(b.subarray(0, p + len), 0);
        out.set(b.subarray(p), p + len);
        return { bytes: out, what: `${len} bytes at ${p} duplicated` };
      }
      case 6: {
        const p = pos();
        const len = 1 + this.int(Math.min(64, n - p));
        const out = new Uint8Array(n - len);
        out.set(b.subarray(0, p), 0);
        out.set(b.subarray(p + len), p);
        return { bytes: out, what: `${len} bytes at ${p} deleted` };
      }
      default: {
        const extra = new Uint8Array(this.pick([1, 7, 100, 4096]));
        for (let i = 0; i < extra.length; i++) extra[i] = this.int(256);
        const out = new Uint8Array(n + extra.length);
        out.set(b);
        out.set(extra, n);
        return { bytes: out, what: `${extra.length} random bytes appended` };
      }
    }
  }

  /**
   * One structure-level mutation of a JSON document; `files` are the names of the other files of
   * the input folder (targets of path tricks). Falls back to a byte mutation for non-JSON text.
   */
  json(src: Uint8Array, files: readonly string[]): Mutation {
    let doc: unknown;
    try {
      doc = JSON.parse(new TextDecoder().decode(src));
    } catch {
      return this.bytes(src);
    }
    const slots: { parent: Record<string, unknown> | unknown[]; key: string | number; path: string }[] = [];
    const walk = (v: unknown, p: string, depth: number) => {
      if (depth > 12 || slots.length > 20000) return;
      if (Array.isArray(v)) {
        v.forEach((x, i) => {
          slots.push({ parent: v, key: i, path: `${p}[${i}]` });
          walk(x, `${p}[${i}]`, depth + 1);
        });
      } else if (v !== null && typeof v === 'object') {
        for (const [k, x] of Object.entries(v)) {
          slots.push({ parent: v as Record<string, unknown>, key: k, path: `${p}.${k}` });
          walk(x, `${p}.${k}`, depth + 1);
        }
      }
    };
    walk(doc, '$', 0);
    // Deep nesting is spliced in as text: building it as objects would overflow JSON.stringify here.
    let deep: { depth: number; inner: string } | null = null;
    const enc = (doc2: unknown, what: string, extra: Partial<Mutation> = {}): Mutation => {
      let text = JSON.stringify(doc2);
      const d = deep as { depth: number; inner: string } | null;
      if (d !== null) text = text.replace(JSON.stringify(DEEP), () => `${'['.repeat(d.depth)}${d.inner}${']'.repeat(d.depth)}`);
      return { bytes: new TextEncoder().encode(text), what, ...extra };
    };
    if (slots.length === 0) return enc(this.pick([null, [], {}, 1e12, 'x', [[[[]]]]]), 'document replaced');
    // Path tricks: a string naming another file of the folder now points outside it.
    const named = slots.filter((s) => typeof (s.parent as Record<string | number, unknown>)[s.key] === 'string' && files.includes((s.parent as Record<string | number, unknown>)[s.key] as string));
    if (named.length > 0 && this.rand() < 0.15) {
      const s = this.pick(named);
      const from = (s.parent as Record<string | number, unknown>)[s.key] as string;
      const to = `${this.pick(PATH_TRICKS)}${from}`;
      (s.parent as Record<string | number, unknown>)[s.key] = to;
      return enc(doc, `${s.path} = ${JSON.stringify(to)} (file removed)`, { escapeAttempt: { from, to } });
    }
    const s = this.pick(slots);
    const obj = s.parent as Record<string | number, unknown>;
    const old = obj[s.key];
    switch (this.int(7)) {
      case 0:
        obj[s.key] = this.pick(HUGE_NUMBERS);
        return enc(doc, `${s.path} = ${String(obj[s.key])}`);
      case 1:
        obj[s.key] = this.pick([null, 'x', true, [], {}, [1e9, 1e9], -1]);
        return enc(doc, `${s.path} = ${JSON.stringify(obj[s.key])}`);
      case 2:
        if (Array.isArray(obj)) obj.splice(s.key as number, 1);
        else delete obj[s.key];
        return enc(doc, `${s.path} removed`);
      case 3: {
        const other = this.pick(slots);
        const o = other.parent as Record<string | number, unknown>;
        [obj[s.key], o[other.key]] = [o[other.key], old];
        return enc(doc, `${s.path} swapped with ${other.path}`);
      }
      case 4: {
        const depth = this.pick([100, 2000, 20000]);
        deep = { depth, inner: JSON.stringify(old) ?? 'null' };
        obj[s.key] = DEEP;
        return enc(doc, `${s.path} nested ${depth} deep`);
      }
      case 5:
        if (Array.isArray(old)) {
          obj[s.key] = Array.from({ length: this.pick([0, 5000]) }, () => old[0]);
          return enc(doc, `${s.path} resized to ${(obj[s.key] as unknown[]).length}`);
        }
        obj[s.key] = typeof old === 'string' ? old.repeat(this.pick([0, 1000])) : [old];
        return enc(doc, `${s.path} stretched`);
      default:
        if (typeof old === 'number') obj[s.key] = old * this.pick([-1, 1000, 1e6, 0]) + this.pick([0, 0.5]);
        else obj[s.key] = typeof old === 'string' ? `${old}\u0000` : this.pick(HUGE_NUMBERS);
        return enc(doc, `${s.path} perturbed`);
    }
  }
}
