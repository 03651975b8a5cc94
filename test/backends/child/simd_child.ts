/**
 * Child process of simd_kernels.test.ts (the wasm build, threaded with a shared memory or not, is
 * fixed per process): runs the depthwise filter and input gradients over a table of geometries on wasm and
 * compares each with the definition computed here in float64. Prints one JSON line.
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
if ((simdKernels(tf.backend()) !== null) !== backendInfo().simdKernels) throw new Error('backendInfo().simdKernels disagrees with simdKernels()');
const memory = (tf.backend() as unknown as { wasm: { HEAPF32: Float32Array } }).wasm.HEAPF32.buffer;
console.log(JSON.stringify({
  threads: backendInfo().threads,
  sharedMemory: typeof SharedArrayBuffer !== 'undefined' && memory instanceof SharedArrayBuffer,
  simd: simdKernels(tf.backend()) !== null && backendInfo().simdKernels === true,
  errors,
  inputErrors,
  leak,
}));
