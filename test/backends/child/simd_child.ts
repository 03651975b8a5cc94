/**
 * Child process of simd_kernels.test.ts (the wasm build, threaded with a shared memory or not, is
 * fixed per process): runs the depthwise filter and input gradients over a table of geometries on wasm and
 * compares each with the definition computed here in float64; Transpose and Slice (whose wasm
 * kernels transferkit replaces by memory moves) must equal their definitions bit for bit. Prints one JSON line.
 */
import * as tf from '@tensorflow/tfjs-core';
import { backendInfo, useBackend } from '../../../src/index.js';
import { simdKernels } from '../../../src/backends/wasm/simd/simd_kernels.js';

type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];
interface Case { n: number; h: number; w: number; c: number; kh: number; kw: number; s: [number, number]; pad: Pad }

const cases: Case[] = [
  { n: 2, h: 9, w: 9, c: 8, kh: 3, kw: 3, s: [1, 1], pad: 'same' },
  { n: 2, h: 10, w: 7, c: 13, kh: 3, kw: 3, s: [2, 2], pad: 'same' },
  { n: 3, h: 11, w: 11, c: 6, kh: 5, kw: 5, s: [2, 2], pad: 'same' },
  { n: 1, h: 8, w: 12, c: 32, kh: 3, kw: 5, s: [1, 2], pad: 'valid' },
  { n: 2, h: 13, w: 9, c: 5, kh: 3, kw: 3, s: [3, 3], pad: 'valid' },
  { n: 2, h: 8, w: 8, c: 12, kh: 3, kw: 3, s: [2, 2], pad: [[0, 0], [1, 0], [0, 1], [0, 0]] },
  { n: 2, h: 6, w: 6, c: 3, kh: 1, kw: 1, s: [1, 1], pad: 'same' },
  { n: 4, h: 24, w: 24, c: 96, kh: 3, kw: 3, s: [2, 2], pad: 'same' },
];

function geometry(inSize: number, k: number, s: number, pad: Pad, axis: 1 | 2): { out: number; before: number } {
  if (pad === 'valid') return { out: Math.ceil((inSize - k + 1) / s), before: 0 };
  if (pad === 'same') {
    const out = Math.ceil(inSize / s);
    return { out, before: Math.floor(Math.max((out - 1) * s + k - inSize, 0) / 2) };
  }
  const [b, a] = pad[axis];
  return { out: Math.floor((inSize + b + a - k) / s) + 1, before: b };
}

await useBackend('wasm');
const errors: number[] = [];
const inputErrors: number[] = [];
let leak = 0;
for (const [idx, { n, h, w, c, kh, kw, s, pad }] of cases.entries()) {
  const gh = geometry(h, kh, s[0], pad, 1);
  const gw = geometry(w, kw, s[1], pad, 2);
  const x = tf.randomNormal([n, h, w, c], 0, 1, 'float32', 10 + idx);
  const dy = tf.randomNormal([n, gh.out, gw.out, c], 0, 1, 'float32', 50 + idx);
  const run = () => tf.engine().runKernel(tf.DepthwiseConv2dNativeBackpropFilter, { x, dy }, { strides: s, pad, dilations: 1, filterShape: [kh, kw, c, 1] }) as tf.Tensor;
  const before = tf.memory().numTensors;
  for (let r = 0; r < 3; r++) run().dispose();
  leak = Math.max(leak, tf.memory().numTensors - before);
  const got = run().dataSync();
  const xv = x.dataSync();
  const dyv = dy.dataSync();
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) for (let ch = 0; ch < c; ch++) {
    let acc = 0;
    for (let b = 0; b < n; b++) for (let oh = 0; oh < gh.out; oh++) for (let ow = 0; ow < gw.out; ow++) {
      const ih = oh * s[0] + i - gh.before;
      const iw = ow * s[1] + j - gw.before;
      if (ih < 0 || ih >= h || iw < 0 || iw >= w) continue;
      acc += xv[((b * h + ih) * w + iw) * c + ch] * dyv[((b * gh.out + oh) * gw.out + ow) * c + ch];
    }
    diff = Math.max(diff, Math.abs(acc - got[(i * kw + j) * c + ch]));
    scale = Math.max(scale, Math.abs(acc));
  }
  errors.push(diff / scale);

  // Input gradient: dx by scattering dy * f through every tap (the definition), in float64.
  const f = tf.randomNormal([kh, kw, c, 1], 0, 1, 'float32', 90 + idx);
  const runInput = () => tf.engine().runKernel(tf.DepthwiseConv2dNativeBackpropInput, { dy, filter: f }, { strides: s, pad, dilations: 1, inputShape: [n, h, w, c] }) as tf.Tensor;
  const before2 = tf.memory().numTensors;
  for (let r = 0; r < 3; r++) runInput().dispose();
  leak = Math.max(leak, tf.memory().numTensors - before2);
  const gotDx = runInput().dataSync();
  const fv = f.dataSync();
  const ref = new Float64Array(n * h * w * c);
  for (let b = 0; b < n; b++) for (let oh = 0; oh < gh.out; oh++) for (let ow = 0; ow < gw.out; ow++) for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) {
    const ih = oh * s[0] + i - gh.before;
    const iw = ow * s[1] + j - gw.before;
    if (ih < 0 || ih >= h || iw < 0 || iw >= w) continue;
    for (let ch = 0; ch < c; ch++) ref[((b * h + ih) * w + iw) * c + ch] += dyv[((b * gh.out + oh) * gw.out + ow) * c + ch] * fv[(i * kw + j) * c + ch];
  }
  let diffDx = 0;
  let scaleDx = 0;
  ref.forEach((v, i) => {
    diffDx = Math.max(diffDx, Math.abs(v - gotDx[i]));
    scaleDx = Math.max(scaleDx, Math.abs(v));
  });
  inputErrors.push(diffDx / scaleDx);
}
// Transpose and Slice (memory moves): every element equal to the definition, bit for bit.
function outIndexToIn(outIdx: number, outShape: number[], map: (o: number[]) => number[], inShape: number[]): number {
  const o = new Array<number>(outShape.length);
  let r = outIdx;
  for (let a = outShape.length - 1; a >= 0; a--) {
    o[a] = r % outShape[a];
    r = Math.floor(r / outShape[a]);
  }
  const i = map(o);
  return i.reduce((acc, v, a) => acc * inShape[a] + v, 0);
}
function mismatches(got: ArrayLike<number>, src: ArrayLike<number>, outShape: number[], map: (o: number[]) => number[], inShape: number[]): number {
  let bad = got.length === outShape.reduce((a, b) => a * b, 1) ? 0 : 1;
  for (let k = 0; k < got.length; k++) if (!Object.is(got[k], src[outIndexToIn(k, outShape, map, inShape)])) bad++;
  return bad;
}
const transposeCases: Array<{ shape: number[]; perm: number[]; dtype: 'float32' | 'int32' | 'bool' }> = [
  { shape: [18, 7], perm: [1, 0], dtype: 'float32' },
  { shape: [67, 131], perm: [1, 0], dtype: 'float32' }, // > 64 columns: two column tiles, odd edges
  { shape: [3, 9, 6], perm: [0, 2, 1], dtype: 'float32' }, // batched
  { shape: [2, 5, 4, 6], perm: [0, 3, 1, 2], dtype: 'int32' }, // merges to a batch of [20, 6]
  { shape: [5, 1, 8], perm: [2, 1, 0], dtype: 'float32' }, // size-1 axis dropped
  { shape: [4, 3, 5, 2], perm: [3, 1, 2, 0], dtype: 'float32' }, // not a matrix transpose: stock
  { shape: [4, 6], perm: [0, 1], dtype: 'float32' }, // identity
  { shape: [3, 4], perm: [1, 0], dtype: 'bool' }, // bool: stock
  { shape: [0, 5], perm: [1, 0], dtype: 'float32' }, // empty
];
const transposeErrors: number[] = [];
for (const [i, { shape, perm, dtype }] of transposeCases.entries()) {
  const size = shape.reduce((a, b) => a * b, 1);
  const src = Float32Array.from({ length: size }, (_, k) => (dtype === 'bool' ? k % 3 === 0 ? 1 : 0 : dtype === 'int32' ? k - 7 : Math.sin(k + i) * 1e3));
  const x = tf.tensor(src, shape, dtype);
  const before = tf.memory().numTensors;
  const y = tf.transpose(x, perm);
  const outShape = perm.map((a) => shape[a]);
  const inv = (o: number[]) => { const r = new Array<number>(shape.length); perm.forEach((a, k) => { r[a] = o[k]; }); return r; };
  transposeErrors.push(mismatches(y.dataSync() as unknown as ArrayLike<number>, x.dataSync() as unknown as ArrayLike<number>, outShape, inv, shape) + (y.shape.join() === outShape.join() ? 0 : 1));
  y.dispose();
  leak = Math.max(leak, tf.memory().numTensors - before);
  x.dispose();
}
const sliceCases: Array<{ shape: number[]; begin: number[]; size: number[]; dtype: 'float32' | 'int32' | 'bool' }> = [
  { shape: [3, 7, 7, 5], begin: [0, 1, 1, 0], size: [3, 6, 6, 5], dtype: 'float32' }, // ZeroPadding2D's gradient
  { shape: [3, 7, 7, 5], begin: [1, 0, 0, 0], size: [2, -1, -1, -1], dtype: 'float32' }, // one run
  { shape: [4, 6], begin: [1, 2], size: [2, 3], dtype: 'int32' },
  { shape: [2, 3, 4, 5, 6], begin: [0, 1, 0, 2, 0], size: [2, 2, 4, 3, 6], dtype: 'float32' }, // rank 5
  { shape: [9], begin: [2], size: [5], dtype: 'bool' },
  { shape: [4, 4], begin: [1, 0], size: [0, 4], dtype: 'float32' }, // empty
  { shape: [2, 5, 3], begin: [0, 0, 1], size: [-1, -1, 2], dtype: 'float32' }, // innermost cut: runs of 2
];
const sliceErrors: number[] = [];
for (const [i, { shape, begin, size: sz, dtype }] of sliceCases.entries()) {
  const n = shape.reduce((a, b) => a * b, 1);
  const src = Float32Array.from({ length: n }, (_, k) => (dtype === 'bool' ? k % 2 : dtype === 'int32' ? 3 * k - 11 : Math.cos(k * 0.37 + i) * 10));
  const x = tf.tensor(src, shape, dtype);
  const before = tf.memory().numTensors;
  const y = tf.slice(x, begin, sz);
  const outShape = sz.map((d, a) => (d === -1 ? shape[a] - begin[a] : d));
  sliceErrors.push(mismatches(y.dataSync() as unknown as ArrayLike<number>, x.dataSync() as unknown as ArrayLike<number>, outShape, (o) => o.map((v, a) => v + begin[a]), shape) + (y.shape.join() === outShape.join() ? 0 : 1));
  y.dispose();
  leak = Math.max(leak, tf.memory().numTensors - before);
  x.dispose();
}

// MaxPoolGrad: dy added where each window's first strict maximum is (tfjs's maxPoolPositions),
// padding never winning; ties (rounded inputs), NaN and -inf included.
const poolCases: Array<{ n: number; h: number; w: number; c: number; k: number; s: number; pad: 'same' | 'valid' }> = [
  { n: 2, h: 9, w: 9, c: 8, k: 3, s: 2, pad: 'same' }, // ResNet's stem pool
  { n: 2, h: 8, w: 8, c: 6, k: 2, s: 2, pad: 'valid' }, // VGG's, and a scalar tail of 2 channels
  { n: 1, h: 7, w: 10, c: 13, k: 3, s: 1, pad: 'same' }, // overlapping windows
  { n: 2, h: 6, w: 5, c: 4, k: 3, s: 2, pad: 'valid' },
];
const poolErrors: number[] = [];
for (const [i, { n, h, w, c, k, s: st, pad }] of poolCases.entries()) {
  const xv = Float32Array.from({ length: n * h * w * c }, (_, q) => Math.round(Math.sin(q * 1.7 + i) * 4) / 2);
  xv[5] = NaN;
  xv[c + 1] = -Infinity;
  const x = tf.tensor4d(xv, [n, h, w, c]);
  const y = tf.maxPool(x, k, st, pad);
  const dy = tf.randomNormal(y.shape, 0, 1, 'float32', 70 + i);
  const before = tf.memory().numTensors;
  const got = (tf.engine().runKernel(tf.MaxPoolGrad, { dy, input: x, output: y }, { filterSize: k, strides: st, pad }) as tf.Tensor).dataSync();
  leak = Math.max(leak, tf.memory().numTensors - before - 1);
  const [, ho, wo] = y.shape;
  const pt = pad === 'same' ? Math.floor(Math.max((ho - 1) * st + k - h, 0) / 2) : 0;
  const pl = pad === 'same' ? Math.floor(Math.max((wo - 1) * st + k - w, 0) / 2) : 0;
  const dyv = dy.dataSync();
  const ref = new Float64Array(xv.length);
  for (let b = 0; b < n; b++) for (let oh = 0; oh < ho; oh++) for (let ow = 0; ow < wo; ow++) for (let ch = 0; ch < c; ch++) {
    let best = -Infinity;
    let at = -1;
    for (let r = Math.max(0, oh * st - pt); r < Math.min(h, oh * st - pt + k); r++) {
      for (let q = Math.max(0, ow * st - pl); q < Math.min(w, ow * st - pl + k); q++) {
        const idx = ((b * h + r) * w + q) * c + ch;
        if (xv[idx] > best) { best = xv[idx]; at = idx; }
      }
    }
    if (at >= 0) ref[at] += dyv[((b * ho + oh) * wo + ow) * c + ch];
  }
  let diff = 0;
  ref.forEach((v, q) => { diff = Math.max(diff, Math.abs(v - got[q])); });
  poolErrors.push(diff);
  tf.dispose([x, y, dy]);
}

if ((simdKernels(tf.backend()) !== null) !== backendInfo().simdKernels) throw new Error('backendInfo().simdKernels disagrees with simdKernels()');
const memory = (tf.backend() as unknown as { wasm: { HEAPF32: Float32Array } }).wasm.HEAPF32.buffer;
console.log(JSON.stringify({
  threads: backendInfo().threads,
  sharedMemory: typeof SharedArrayBuffer !== 'undefined' && memory instanceof SharedArrayBuffer,
  simd: simdKernels(tf.backend()) !== null && backendInfo().simdKernels === true,
  errors,
  inputErrors,
  transposeErrors,
  sliceErrors,
  poolErrors,
  leak,
}));
