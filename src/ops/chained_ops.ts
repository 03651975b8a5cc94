/**
 * Chained tensor methods (`x.slice(...)`, `x.argMax(-1)`, `x.square()`), as the
 * `@tensorflow/tfjs` package registers them.
 *
 * transferkit depends on tfjs-core and tfjs-layers, not on the `@tensorflow/tfjs` umbrella, and
 * tfjs-core registers no chained methods by itself: its Node bundle lacks them, and its ESM
 * registration files (`dist/public/chained_ops/*.js`) are ES modules in a CommonJS package that
 * Node cannot import. So without this module a tensor returned by transferkit would throw
 * "x.slice is not a function" where the same code works with `@tensorflow/tfjs`. The methods are
 * defined exactly as tfjs-core 4.22's `public/chained_ops/<op>.ts` define them: check the tensor
 * is not disposed, then call the functional op with the tensor as its first argument (the few
 * that differ are written out below). Existing methods are never replaced.
 *
 * Ported from: tensorflow/tfjs tfjs-core/src/public/chained_ops/*.ts
 */
import * as tf from '@tensorflow/tfjs-core';
// The methods' types (tfjs-core's module augmentation), for code type-checked against the sources.
import type {} from '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops';

/** Methods whose op has the same name and takes the tensor first, then the method's arguments. */
const SAME_NAME = [
  'abs', 'acos', 'acosh', 'add', 'all', 'any', 'argMax', 'argMin', 'asin', 'asinh', 'atan',
  'atan2', 'atanh', 'avgPool', 'batchToSpaceND', 'batchNorm', 'broadcastTo', 'cast', 'ceil',
  'clipByValue', 'conv1d', 'conv2d', 'conv2dTranspose', 'cos', 'cosh', 'cumprod', 'cumsum',
  'depthToSpace', 'depthwiseConv2d', 'dilation2d', 'div', 'divNoNan', 'dot', 'elu', 'equal',
  'erf', 'euclideanNorm', 'exp', 'expandDims', 'expm1', 'fft', 'floor', 'floorDiv', 'gather',
  'greater', 'greaterEqual', 'ifft', 'irfft', 'isFinite', 'isInf', 'isNaN', 'leakyRelu', 'less',
  'lessEqual', 'localResponseNormalization', 'log', 'log1p', 'logSigmoid', 'logSoftmax',
  'logSumExp', 'logicalAnd', 'logicalNot', 'logicalOr', 'logicalXor', 'matMul', 'max', 'maxPool',
  'maximum', 'mean', 'min', 'minimum', 'mirrorPad', 'mod', 'mul', 'neg', 'norm', 'notEqual',
  'oneHot', 'onesLike', 'pad', 'pool', 'pow', 'prelu', 'prod', 'reciprocal', 'relu', 'relu6',
  'reshape', 'reverse', 'rfft', 'round', 'rsqrt', 'selu', 'separableConv2d', 'sigmoid', 'sign',
  'sin', 'sinh', 'slice', 'softmax', 'softplus', 'spaceToBatchND', 'split', 'sqrt', 'square',
  'squaredDifference', 'squeeze', 'step', 'stridedSlice', 'sub', 'sum', 'tan', 'tanh', 'tile',
  'topk', 'transpose', 'unique', 'unsortedSegmentSum', 'unstack', 'zerosLike'
] as const;

type Method = (this: tf.Tensor, ...args: never[]) => unknown;

/** Methods that are not `op(this, ...args)` under the same name (tfjs-core 4.22's definitions). */
const SPECIAL: Record<string, Method> = {
  as1D(this: tf.Tensor) { return tf.reshape(this, [this.size]); },
  as2D(this: tf.Tensor, rows: number, columns: number) { return tf.reshape(this, [rows, columns]); },
  as3D(this: tf.Tensor, rows: number, columns: number, depth: number) { return tf.reshape(this, [rows, columns, depth]); },
  as4D(this: tf.Tensor, rows: number, columns: number, depth: number, depth2: number) { return tf.reshape(this, [rows, columns, depth, depth2]); },
  as5D(this: tf.Tensor, rows: number, columns: number, depth: number, depth2: number, depth3: number) { return tf.reshape(this, [rows, columns, depth, depth2, depth3]); },
  asScalar(this: tf.Tensor) {
    tf.util.assert(this.size === 1, () => 'The array must have only 1 element.');
    return tf.reshape(this, []);
  },
  asType(this: tf.Tensor, dtype: tf.DataType) { return tf.cast(this, dtype); },
  toBool(this: tf.Tensor) { return tf.cast(this, 'bool'); },
  toFloat(this: tf.Tensor) { return tf.cast(this, 'float32'); },
  toInt(this: tf.Tensor) { return tf.cast(this, 'int32'); },
  flatten(this: tf.Tensor) { return tf.reshape(this, [this.size]); },
  reshapeAs(this: tf.Tensor, x: tf.Tensor) { return tf.reshape(this, x.shape); },
  concat(this: tf.Tensor, x: tf.Tensor | tf.Tensor[], axis?: number) { return tf.concat([this, ...(x instanceof tf.Tensor ? [x] : x)], axis); },
  stack(this: tf.Tensor, x: tf.Tensor | tf.Tensor[], axis?: number) { return tf.stack(x instanceof tf.Tensor ? [this, x] : [this, ...x], axis); },
  where(this: tf.Tensor, condition: tf.Tensor, x: tf.Tensor) { return tf.where(condition, this, x); },
  resizeBilinear(this: tf.Tensor, size: [number, number], alignCorners?: boolean, halfPixelCenters?: boolean) {
    return tf.image.resizeBilinear(this as tf.Tensor3D, size, alignCorners, halfPixelCenters);
  },
  resizeNearestNeighbor(this: tf.Tensor, size: [number, number], alignCorners?: boolean, halfPixelCenters?: boolean) {
    return tf.image.resizeNearestNeighbor(this as tf.Tensor3D, size, alignCorners, halfPixelCenters);
  },
};

let registered = false;

/**
 * Gives every tensor TF.js's chained methods (idempotent; methods already present, e.g. from an
 * `@tensorflow/tfjs` import sharing this tfjs-core, are left as they are).
 * @returns the names that were added.
 */
export function registerChainedOps(): string[] {
  if (registered) return [];
  registered = true;
  const proto = tf.Tensor.prototype as unknown as Record<string, unknown>;
  const ops = tf as unknown as Record<string, (...args: unknown[]) => unknown>;
  const added: string[] = [];
  const define = (name: string, method: Method): void => {
    if (typeof proto[name] === 'function') return;
    proto[name] = function (this: tf.Tensor, ...args: never[]) {
      this.throwIfDisposed();
      return method.apply(this, args);
    };
    added.push(name);
  };
  for (const name of SAME_NAME) define(name, function (this: tf.Tensor, ...args: never[]) { return ops[name](this, ...args); });
  for (const [name, method] of Object.entries(SPECIAL)) define(name, method);
  return added;
}
