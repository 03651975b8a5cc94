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

  it('registration is idempotent and wasm reports every training kernel', async () => {
    await useBackend('wasm');
    expect(registerWasmTrainingKernels()).toEqual([]);
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
  it('names the missing optional peer for a native backend', async () => {
    let hasNode = true;
    try {
      await import('@tensorflow/tfjs-node' as string);
    } catch {
      hasNode = false;
    }
    if (hasNode) {
      console.warn('[skip] @tensorflow/tfjs-node is installed; the missing-peer error cannot be observed');
      return;
    }
    await expect(useBackend('tensorflow')).rejects.toMatchObject({ code: 'E_BACKEND_UNAVAILABLE', message: expect.stringContaining('@tensorflow/tfjs-node') });
    // Never falls back silently: the active backend is unchanged.
    expect(tf.getBackend()).toBe('wasm');
  });
});
