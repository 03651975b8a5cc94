/**
 * Each composed wasm kernel against the cpu backend over a table of geometries
 * (strides, 'same'/'valid'/explicit padding, odd sizes, channel multipliers).
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { backendInfo, useBackend } from '../../src/index.js';
import { registerWasmTrainingKernels } from '../../src/entries/backends.js';
import { relErr, values } from '../helpers/compare.js';

type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];

function gradsOf(backend: string, f: (x: tf.Tensor4D, w: tf.Tensor4D) => tf.Tensor, x: Float32Array, xs: number[], w: Float32Array, ws: number[]): Float32Array[] {
  tf.setBackend(backend);
  return tf.tidy(() => {
    const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(f(a as tf.Tensor4D, b as tf.Tensor4D))));
    return g([tf.tensor(x, xs), tf.tensor(w, ws)]).map(values);
  });
}

/** True when the optional @tensorflow/tfjs-node peer can be imported here. */
async function nativePeerInstalled(): Promise<boolean> {
  try {
    await import('@tensorflow/tfjs-node' as string);
    return true;
  } catch {
    return false;
  }
}

beforeAll(async () => {
  await useBackend('cpu');
  await useBackend('wasm');
});

describe('composed wasm kernels match cpu', () => {
  const cases: [number, Pad, number][] = [[1, 'same', 8], [2, 'same', 8], [2, 'same', 7], [2, 'valid', 9], [1, 'valid', 6], [3, 'same', 10], [2, [[0, 0], [1, 0], [0, 1], [0, 0]], 8]];
  for (const [s, pad, h] of cases) {
    for (const [kind, ws] of [['conv2d 3x3', [3, 3, 3, 4]], ['depthwise 3x3', [3, 3, 3, 1]], ['depthwise 3x3 multiplier 2', [3, 3, 3, 2]]] as const) {
      it(`${kind}, stride ${s}, pad ${JSON.stringify(pad)}, ${h}x${h}`, () => {
        tf.setBackend('cpu');
        const xs = [2, h, h, 3];
        const x = values(tf.randomNormal(xs, 0, 1, 'float32', 1));
        const w = values(tf.randomNormal([...ws], 0, 1, 'float32', 2));
        const f = kind.startsWith('conv')
          ? (a: tf.Tensor4D, b: tf.Tensor4D) => tf.conv2d(a, b, s, pad)
          : (a: tf.Tensor4D, b: tf.Tensor4D) => tf.depthwiseConv2d(a, b, s, pad);
        const ref = gradsOf('cpu', f, x, xs, w, [...ws]);
        const got = gradsOf('wasm', f, x, xs, w, [...ws]);
        ref.forEach((r, i) => expect(relErr(r, got[i])).toBeLessThan(1e-5));
      });
    }
  }

  for (const [s, pad] of [[1, 'same'], [1, 'valid'], [2, 'same'], [2, 'valid']] as const) {
    it(`conv2d 1x1 (matmul input gradient, spread when strided), stride ${s}, pad ${pad}`, () => {
      tf.setBackend('cpu');
      const xs = [2, 7, 7, 6];
      const x = values(tf.randomNormal(xs, 0, 1, 'float32', 3));
      const w = values(tf.randomNormal([1, 1, 6, 5], 0, 1, 'float32', 4));
      const f = (a: tf.Tensor4D, b: tf.Tensor4D) => tf.conv2d(a, b, s, pad);
      const ref = gradsOf('cpu', f, x, xs, w, [1, 1, 6, 5]);
      const got = gradsOf('wasm', f, x, xs, w, [1, 1, 6, 5]);
      ref.forEach((r, i) => expect(relErr(r, got[i])).toBeLessThan(1e-5));
    });
  }

  for (const [ta, tb, batch] of [[true, false, 1], [false, true, 1], [true, true, 1], [true, false, 3], [false, true, 3]] as const) {
    it(`matMul with transposeA=${ta} transposeB=${tb}, batch ${batch} (explicit-transpose path) and its gradients`, () => {
      tf.setBackend('cpu');
      const as = batch === 1 ? (ta ? [5, 7] : [7, 5]) : ta ? [batch, 5, 7] : [batch, 7, 5];
      const bs = batch === 1 ? (tb ? [4, 5] : [5, 4]) : tb ? [batch, 4, 5] : [batch, 5, 4];
      const a = values(tf.randomNormal(as, 0, 1, 'float32', 5));
      const b = values(tf.randomNormal(bs, 0, 1, 'float32', 6));
      const run = (backend: string): Float32Array[] => {
        tf.setBackend(backend);
        return tf.tidy(() => {
          const f = (x: tf.Tensor, y: tf.Tensor): tf.Tensor => tf.sum(tf.square(tf.matMul(x, y, ta, tb)));
          const out = values(tf.matMul(tf.tensor(a, as), tf.tensor(b, bs), ta, tb));
          return [out, ...tf.grads(f)([tf.tensor(a, as), tf.tensor(b, bs)]).map(values)];
        });
      };
      const ref = run('cpu');
      const got = run('wasm');
      ref.forEach((r, i) => expect(relErr(r, got[i])).toBeLessThan(1e-5));
    });
  }

  it('depthwise filter gradient with dilation 2 equals the definition (kernel called directly)', () => {
    // tfjs-core's op gradient rejects dilation and tfjs-cpu's kernel ignores it, so the reference
    // is the definition: dW[i,j,c,m] = sum x[n, oh + i*d - pad, ow + j*d - pad, c] * dy[n, oh, ow, c*M + m].
    const [n, h, c, mult, k, d] = [2, 7, 3, 2, 3, 2];
    const pad = ((k - 1) * d) / 2; // 'same', stride 1
    tf.setBackend('wasm');
    const x = tf.randomNormal([n, h, h, c], 0, 1, 'float32', 5);
    const dy = tf.randomNormal([n, h, h, c * mult], 0, 1, 'float32', 6);
    const got = values(tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter', { x, dy }, { strides: 1, pad: 'same', dilations: d, filterShape: [k, k, c, mult] }) as tf.Tensor);
    const xv = x.dataSync();
    const dyv = dy.dataSync();
    const ref = new Float32Array(k * k * c * mult);
    for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) for (let ch = 0; ch < c; ch++) for (let m = 0; m < mult; m++) {
      let acc = 0;
      for (let b = 0; b < n; b++) for (let oh = 0; oh < h; oh++) for (let ow = 0; ow < h; ow++) {
        const ih = oh + i * d - pad;
        const iw = ow + j * d - pad;
        if (ih < 0 || ih >= h || iw < 0 || iw >= h) continue;
        acc += xv[((b * h + ih) * h + iw) * c + ch] * dyv[((b * h + oh) * h + ow) * c * mult + ch * mult + m];
      }
      ref[((i * k + j) * c + ch) * mult + m] = acc;
    }
    expect(relErr(ref, got)).toBeLessThan(1e-5);
  });

  it('registration is idempotent and wasm reports every training kernel', async () => {
    await useBackend('wasm');
    expect(registerWasmTrainingKernels()).toEqual([]);
    expect(backendInfo().addedKernels).toContain('Conv2DBackpropFilter');
    const info = backendInfo();
    expect(info.name).toBe('wasm');
    expect(info.canTrain).toBe(true);
    expect(info.missingKernels).toEqual([]);
  });

  it('Identity and same-dtype Cast share the buffer (ref-counted: disposing either leaves the other intact); other casts convert', () => {
    tf.setBackend('wasm');
    const x = tf.tensor1d([1.5, -2.25, 3.75, 0]);
    const before = tf.memory().numDataBuffers;
    const c = tf.clone(x);
    const f = tf.cast(x, 'float32');
    expect(tf.memory().numDataBuffers).toBe(before); // no new buffer
    x.dispose();
    expect(Array.from(c.dataSync())).toEqual([1.5, -2.25, 3.75, 0]);
    c.dispose();
    expect(Array.from(f.dataSync())).toEqual([1.5, -2.25, 3.75, 0]);
    expect(Array.from(tf.cast(f, 'int32').dataSync())).toEqual([1, -2, 3, 0]);
    const ints = tf.tensor1d([0, 2, -1], 'int32');
    expect(Array.from(tf.cast(ints, 'bool').dataSync())).toEqual([0, 1, 1]); // x != 0 (wasm's stock kernel gave [0, 2, 255])
    expect(Array.from(ints.dataSync())).toEqual([0, 2, -1]); // the input survives the cast
    expect(Array.from(tf.cast(tf.tensor1d([true, false], 'bool'), 'float32').dataSync())).toEqual([1, 0]);
    f.dispose();
  });

  it('the four gradient kernels tfjs 4.22 lacks on wasm are registered', () => {
    for (const k of ['Conv2DBackpropFilter', 'DepthwiseConv2dNativeBackpropFilter', 'DepthwiseConv2dNativeBackpropInput', 'UnsortedSegmentSum']) {
      expect(tf.getKernel(k, 'wasm')?.kernelFunc).toBeDefined();
    }
  });
});

describe('wrapped wasm reductions and the one-pass clip gradient match cpu', () => {
  const run = (backend: string, f: () => tf.Tensor): Float32Array => {
    tf.setBackend(backend);
    return tf.tidy(() => values(f()));
  };

  it('Sum and Mean over the leading axes (the pooling path) and over other axes (stock path)', () => {
    tf.setBackend('cpu');
    const x = values(tf.randomNormal([3, 5, 7, 6], 0, 2, 'float32', 11));
    const cases: Array<[string, (t: tf.Tensor) => tf.Tensor]> = [
      ['sum [0,1,2]', (t) => tf.sum(t, [0, 1, 2])],
      ['sum [2,0,1] keepDims', (t) => tf.sum(t, [2, 0, 1], true)],
      ['mean [0,1,2]', (t) => tf.mean(t, [0, 1, 2])],
      ['mean [0,1,2] keepDims', (t) => tf.mean(t, [0, 1, 2], true)],
      ['sum axis 0 of a matrix (stock)', (t) => tf.sum(tf.reshape(t, [105, 6]), 0)],
      ['mean [-4,-3,-2]', (t) => tf.mean(t, [-4, -3, -2])],
      ['sum [0,1] of rank 3', (t) => tf.sum(tf.reshape(t, [3, 35, 6]), [0, 1])],
      ['sum [1,2] (stock)', (t) => tf.sum(t, [1, 2])],
      ['mean last axis (stock)', (t) => tf.mean(t, -1)],
      ['sum all (stock)', (t) => tf.sum(t)],
    ];
    for (const [name, f] of cases) {
      const ref = run('cpu', () => f(tf.tensor(x, [3, 5, 7, 6])));
      const got = run('wasm', () => f(tf.tensor(x, [3, 5, 7, 6])));
      expect(got.length, name).toBe(ref.length);
      // float32 sums in other orders (cpu adds serially): ~1e-6 apart even for the stock kernels.
      expect(relErr(ref, got), name).toBeLessThan(1e-5);
    }
    expect(backendInfo().addedKernels).toEqual(expect.arrayContaining(['Sum (leading axes by average pooling)', 'Mean (leading axes by average pooling)']));
    // Shapes follow keepDims; int tensors keep the stock kernel (and its int result).
    tf.setBackend('wasm');
    expect(tf.sum(tf.zeros([2, 3, 4]), [0, 1], true).shape).toEqual([1, 1, 4]);
    const ints = tf.sum(tf.tensor2d([[1, 2], [3, 4]], [2, 2], 'int32'), 0);
    expect(ints.dtype).toBe('int32');
    expect(Array.from(ints.dataSync())).toEqual([4, 6]);
  });

  it("clipByValue's gradient equals tfjs-core's formula bit for bit, edges and NaN included", () => {
    const xs = [-1, 0, 0.5, 6, 6.0001, NaN, -0, 3, 7, Infinity];
    const dys = [1, 2, NaN, 4, 5, 6, 7, -Infinity, 9, 10];
    const formula = (x: tf.Tensor, dy: tf.Tensor) => tf.where(tf.logicalAnd(tf.greaterEqual(x, 0), tf.lessEqual(x, 6)), dy, tf.zerosLike(dy));
    const viaGrad = (backend: string): Float32Array => {
      tf.setBackend(backend);
      return tf.tidy(() => {
        const dy = tf.tensor1d(dys);
        const g = tf.grad((x: tf.Tensor) => tf.mul(tf.clipByValue(x, 0, 6), 1))(tf.tensor1d(xs), dy);
        return values(g);
      });
    };
    tf.setBackend('cpu');
    const ref = tf.tidy(() => values(formula(tf.tensor1d(xs), tf.tensor1d(dys))));
    for (const backend of ['cpu', 'wasm']) {
      const got = viaGrad(backend);
      expect(Array.from(got).map((v) => (Number.isNaN(v) ? 'NaN' : Object.is(v, -0) ? '-0' : v)), backend).toEqual(Array.from(ref).map((v) => (Number.isNaN(v) ? 'NaN' : Object.is(v, -0) ? '-0' : v)));
    }
    // A larger random case through MobileNet-style ReLU6 on wasm vs cpu.
    tf.setBackend('cpu');
    const x = values(tf.randomNormal([4, 9, 9, 8], 3, 4, 'float32', 12));
    const dy = values(tf.randomNormal([4, 9, 9, 8], 0, 1, 'float32', 13));
    const g = (backend: string) => run(backend, () => tf.grad((t: tf.Tensor) => tf.clipByValue(t, 0, 6))(tf.tensor(x, [4, 9, 9, 8]), tf.tensor(dy, [4, 9, 9, 8])));
    expect(Array.from(g('wasm'))).toEqual(Array.from(g('cpu')));
  });

  it('the conv filter gradient by swapped convolution matches cpu on large strided cases (7x7 stride 2, 3x3 stride 2 stem)', () => {
    for (const [xs, ws, s, pad] of [[[2, 33, 31, 3], [7, 7, 3, 8], 2, 'same'], [[3, 24, 24, 3], [3, 3, 3, 16], 2, 'same'], [[2, 15, 17, 5], [3, 3, 5, 4], 3, 'valid']] as const) {
      tf.setBackend('cpu');
      const x = values(tf.randomNormal([...xs], 0, 1, 'float32', 21));
      const w = values(tf.randomNormal([...ws], 0, 1, 'float32', 22));
      const f = (a: tf.Tensor4D, b: tf.Tensor4D) => tf.conv2d(a, b, s, pad);
      const ref = gradsOf('cpu', f, x, [...xs], w, [...ws]);
      const got = gradsOf('wasm', f, x, [...xs], w, [...ws]);
      ref.forEach((r, i) => expect(relErr(r, got[i]), `${JSON.stringify(xs)} ${JSON.stringify(ws)} grad ${i}`).toBeLessThan(1e-5));
    }
  });

  it('the conv input gradient as a forward convolution matches cpu (5x5 valid, even kernels, strides 2-3, explicit and asymmetric padding)', () => {
    const explicit: Pad = [[0, 0], [2, 0], [1, 3], [0, 0]];
    const cases: [number[], number[], number, Pad][] = [
      [[3, 12, 12, 6], [5, 5, 6, 7], 1, 'valid'], // the digits CNN's second convolution
      [[2, 11, 10, 4], [4, 4, 4, 5], 2, 'same'], // even kernel: 'same' pads asymmetrically
      [[2, 13, 13, 3], [3, 3, 3, 4], 3, 'same'],
      [[2, 9, 8, 3], [3, 2, 3, 2], 2, explicit],
      [[2, 10, 9, 5], [1, 1, 5, 3], 3, 'same'], // strided pointwise: matmul then spread
      [[2, 8, 8, 4], [2, 2, 4, 4], 2, 'valid'],
    ];
    for (const [xs, ws, s, pad] of cases) {
      tf.setBackend('cpu');
      const x = values(tf.randomNormal(xs, 0, 1, 'float32', 31));
      const w = values(tf.randomNormal(ws, 0, 1, 'float32', 32));
      const f = (a: tf.Tensor4D, b: tf.Tensor4D) => tf.conv2d(a, b, s, pad);
      const ref = gradsOf('cpu', f, x, xs, w, ws);
      const got = gradsOf('wasm', f, x, xs, w, ws);
      expect(relErr(ref[0], got[0]), `input gradient ${JSON.stringify(xs)} ${JSON.stringify(ws)} stride ${s} pad ${JSON.stringify(pad)}`).toBeLessThan(1e-5);
    }
  });
});

describe('useBackend errors', () => {
  it('rejects unknown names, listing the valid ones', async () => {
    await expect(useBackend('tpu' as never)).rejects.toMatchObject({ code: 'E_BACKEND_UNKNOWN', message: expect.stringContaining('wasm') });
  });
  it('names the missing optional peer for a native backend', async (ctx) => {
    if (await nativePeerInstalled()) {
      console.warn('[skip] @tensorflow/tfjs-node is installed; the missing-peer error cannot be observed');
      return ctx.skip();
    }
    await expect(useBackend('tensorflow')).rejects.toMatchObject({ code: 'E_BACKEND_UNAVAILABLE', message: expect.stringContaining('@tensorflow/tfjs-node') });
    // Never falls back silently: the active backend is unchanged.
    expect(tf.getBackend()).toBe('wasm');
  });
  it("'auto' in Node takes the first usable of tensorflow-gpu, tensorflow, wasm, cpu and says why", async (ctx) => {
    if (await nativePeerInstalled()) {
      console.warn('[skip] @tensorflow/tfjs-node is installed; auto would (correctly) pick it');
      return ctx.skip();
    }
    const info = await useBackend('auto');
    expect(info.name).toBe('wasm');
    expect(info.canTrain).toBe(true);
    expect(info.reason).toContain('passed over tensorflow-gpu');
    expect(info.reason).toContain('@tensorflow/tfjs-node');
  });
});
