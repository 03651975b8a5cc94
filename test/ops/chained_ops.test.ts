/**
 * Chained tensor methods (src/ops/chained_ops.ts): every method tfjs-core 4.22 defines in its own
 * chained_ops registrations exists on transferkit's tensors and computes what the functional op does.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/index.js';

const CHAINED_DIR = path.resolve(__dirname, '../../node_modules/@tensorflow/tfjs-core/dist/public/chained_ops');

/** The method names tfjs-core's registration files assign to the tensor prototype. */
function tfjsChainedNames(): string[] {
  return fs.readdirSync(CHAINED_DIR)
    .filter((f) => f.endsWith('.js') && !f.endsWith('_test.js') && !f.startsWith('register_all'))
    .map((f) => /prototype\.(\w+)\s*=/.exec(fs.readFileSync(path.join(CHAINED_DIR, f), 'utf8'))?.[1])
    .filter((n): n is string => n !== undefined);
}

beforeAll(async () => {
  await useBackend('cpu');
});

describe('chained tensor methods', () => {
  it('every method tfjs-core registers exists on tensors', () => {
    const names = tfjsChainedNames();
    expect(names.length).toBeGreaterThan(130);
    const proto = tf.Tensor.prototype as unknown as Record<string, unknown>;
    expect(names.filter((n) => typeof proto[n] !== 'function')).toEqual([]);
  });

  it('compute what the functional ops compute, including the ones that are not op(this, ...args)', () => {
    const x = tf.tensor2d([[1, -2, 3], [4, 5, -6]]);
    const y = tf.tensor2d([[0.5, 0.5, 0.5], [2, 2, 2]]);
    const same = (a: tf.Tensor, b: tf.Tensor) => expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
    same(x.argMax(-1), tf.argMax(x, -1));
    same(x.slice([0, 1], [2, 2]), tf.slice(x, [0, 1], [2, 2]));
    same(x.add(y).square(), tf.square(tf.add(x, y)));
    same(x.flatten(), tf.reshape(x, [6]));
    same(x.as1D(), tf.reshape(x, [6]));
    same(x.toInt(), tf.cast(x, 'int32'));
    expect(x.asType('bool').dtype).toBe('bool');
    same(x.reshapeAs(tf.zeros([3, 2])), tf.reshape(x, [3, 2]));
    same(x.concat(y, 0), tf.concat([x, y], 0));
    same(x.concat([y, y], 1), tf.concat([x, y, y], 1));
    same(x.stack(y), tf.stack([x, y]));
    same(x.where(tf.greater(x, 0), y), tf.where(tf.greater(x, 0), x, y));
    same(tf.scalar(3).reshape([1]).asScalar(), tf.scalar(3));
    expect(() => x.asScalar()).toThrow(/only 1 element/);
    const img = tf.ones([4, 4, 1]);
    same(img.resizeBilinear([2, 2]), tf.image.resizeBilinear(img as tf.Tensor3D, [2, 2]));
    const disposed = tf.tensor1d([1, 2]);
    disposed.dispose();
    expect(() => disposed.square()).toThrow(/disposed/);
  });
});
