/**
 * Each composed wasm kernel against the cpu backend over a table of geometries
 * (strides, 'same'/'valid'/explicit padding, odd sizes, channel multipliers).
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { backendInfo, registerWasmTrainingKernels, useBackend } from '../../src/index.js';
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
    it(`conv2d 1x1 (pointwise fast path when stride 1), stride ${s}, pad ${pad}`, () => {
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

  it('the four gradient kernels tfjs 4.22 lacks on wasm are registered', () => {
    for (const k of ['Conv2DBackpropFilter', 'DepthwiseConv2dNativeBackpropFilter', 'DepthwiseConv2dNativeBackpropInput', 'UnsortedSegmentSum']) {
      expect(tf.getKernel(k, 'wasm')?.kernelFunc).toBeDefined();
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
