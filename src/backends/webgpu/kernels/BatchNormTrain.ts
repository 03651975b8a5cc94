/**
 * Training-mode batch normalisation on webgpu, as hand-written WGSL:
 * - forward (`TkBatchNormTrain`), with the layer's moving-average update when given the moving
 *   statistics: 2 dispatches (partial sums, then one pass that adds the partials per workgroup
 *   and writes y and the statistics);
 * - gradient (`TkBatchNormTrainGrad`): 2 dispatches (partial sums, then one pass that adds the
 *   partials per workgroup and writes dx, dgamma and dbeta);
 * - the same with a ReLU or ReLU6 fused after the BN (`TkBatchNormActTrain`, `TkBatchNormActTrainGrad`):
 *   the forward clamps, the gradient masks `dy` where `0 < pre <= max` first, with `pre`
 *   recomputed from x exactly as the forward computed it; the activation layer then costs nothing.
 *   NaN pre-activations pass through both (as tfjs's ReLU), so the divergence guard still sees them.
 * The composed TF.js ops of `ops/batch_norm_train.ts`, the layer's moving update and the
 * activation take ~27 dispatches per layer (MobileNetV2 has 52 BN layers, 35 followed by ReLU6).
 *
 * The per-channel sums over the N·H·W rows: partial sums over slices of rows (a workgroup is 64
 * channels × 4 row lanes, so each row is read coalesced), then, in every workgroup of the second
 * pass, over the slices (≤ 256 of them; redundant reads, one dispatch fewer). The
 * forward sums are shifted by the first row (shifted-data variance, as the wasm kernel), so a
 * large mean does not cancel the variance away. Same formulas as the composed ops (biased batch
 * variance; Ioffe & Szegedy's closed-form gradient); float32 sums in a different order, so values
 * agree to float32 rounding (tested against cpu).
 */
import * as tf from '@tensorflow/tfjs-core';
import { asTensor } from '../../../ops/_conv_util.js';
import { BatchNormActTrain, BatchNormActTrainGrad, BatchNormTrain, BatchNormTrainGrad } from '../../../kernel_names.js';
import { batchNormActTrainGradComposed, batchNormMovingUpdateComposed, batchNormTrainComposed, batchNormTrainGradComposed } from '../../../ops/batch_norm_train.js';
import { runWgsl, wgslBindings } from '../run_wgsl.js';

const LANES = 4;
const CH = 64;

type Uniform = [string, 'f32' | 'u32'];

/**
 * NaN from the bit pattern: WGSL lets compilers assume floats are never NaN or infinite, and a NaN
 * must still reach the loss (the training loop's divergence guard). For the same reason ReLU's
 * "no upper bound" is a flag (`clampMax` 0), never an infinite uniform.
 */
const NAN_FN = 'fn isNan(v: f32) -> bool { return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u; }';

/** Rows per slice: at least 64, and at most 256 slices. */
function slicing(rows: number): { rps: number; slices: number } {
  const rps = Math.max(64, Math.ceil(rows / 256));
  return { rps, slices: Math.ceil(rows / rps) };
}

/**
 * Partial sums of two per-row quantities over slices of rows: `partials[s, 0, c]`,
 * `partials[s, 1, c]`; `terms` is WGSL computing `t1` and `t2` from row `r` and channel `c`.
 * `extra`: WGSL run by the slice-0 workgroups' lane 0 to store per-channel rows after the
 * 2 × slices rows of sums.
 */
function partialsCode(inputs: string[], uniforms: Uniform[], terms: string, extra: string): () => string {
  return () => `${wgslBindings(['partials'], inputs, [['rows', 'u32'], ['c', 'u32'], ['rps', 'u32'], ...uniforms])}
${NAN_FN}
var<workgroup> s1: array<f32, ${CH * LANES}>;
var<workgroup> s2: array<f32, ${CH * LANES}>;
@compute @workgroup_size(${CH}, ${LANES})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let c = wid.x * ${CH}u + lid.x;
  let start = wid.y * u.rps;
  let end = min(u.rows, start + u.rps);
  var a1 = 0.0;
  var a2 = 0.0;
  if (c < u.c) {
    for (var r = start + lid.y; r < end; r = r + ${LANES}u) {
      ${terms}
      a1 = a1 + t1;
      a2 = a2 + t2;
    }
  }
  s1[lid.y * ${CH}u + lid.x] = a1;
  s2[lid.y * ${CH}u + lid.x] = a2;
  workgroupBarrier();
  if (lid.y == 0u && c < u.c) {
    var b1 = 0.0;
    var b2 = 0.0;
    for (var k = 0u; k < ${LANES}u; k = k + 1u) {
      b1 = b1 + s1[k * ${CH}u + lid.x];
      b2 = b2 + s2[k * ${CH}u + lid.x];
    }
    partials[wid.y * 2u * u.c + c] = b1;
    partials[wid.y * 2u * u.c + u.c + c] = b2;
    if (wid.y == 0u) { ${extra} }
  }
}`;
}

// Forward: sums of d = x - x[first row] and d², then after the sums the shift, gamma, beta and
// (with moving statistics) the moving mean and variance, so the apply pass binds only x and the
// partials beside its 6 outputs (WebGPU guarantees 8 storage buffers per shader stage).
const shiftTerms = 'let d = x[r * u.c + c] - x[c];\n      let t1 = d;\n      let t2 = d * d;';
const carry = (names: string[]) => ['x[c]', ...names.map((n) => `${n}[c]`)].map((v, k) => `partials[(nwg.y * 2u + ${k}u) * u.c + c] = ${v};`).join('\n      ');
const statsPartials = {
  plain: partialsCode(['x', 'gamma', 'beta'], [], shiftTerms, carry(['gamma', 'beta'])),
  moving: partialsCode(['x', 'gamma', 'beta', 'mm', 'mv'], [], shiftTerms, carry(['gamma', 'beta', 'mm', 'mv'])),
};

// Gradient: sums of dy and dy·x̂ (dbeta, dgamma), then mean and rstd after the sums (the apply
// pass reads them from there, which keeps it within 8 storage buffers).
const gradExtra = 'partials[nwg.y * 2u * u.c + c] = mean[c];\n      partials[(nwg.y * 2u + 1u) * u.c + c] = rstd[c];';
/**
 * `dy` masked where the fused activation passed its input, `0 < pre <= max` (no upper bound for
 * ReLU), `pre` as the forward computed it; NaN where `pre` is NaN.
 */
const maskExpr = 'select(select(0.0, dy[i], pre > 0.0 && (u.clampMax == 0u || pre <= u.max)), pre, isNan(pre))';
const maskedDy = `let xhat = (x[i] - mean[c]) * rstd[c];\n      let pre = xhat * gamma[c] + beta[c];\n      let g = ${maskExpr};`;
const gradPartials = {
  plain: partialsCode(['dy', 'x', 'mean', 'rstd'], [], 'let i = r * u.c + c;\n      let t1 = dy[i];\n      let t2 = dy[i] * ((x[i] - mean[c]) * rstd[c]);', gradExtra),
  act: partialsCode(['dy', 'x', 'mean', 'rstd', 'gamma', 'beta'], [['clampMax', 'u32'], ['max', 'f32']], `let i = r * u.c + c;\n      ${maskedDy}\n      let t1 = g;\n      let t2 = g * xhat;`, gradExtra),
};

/**
 * The second passes' prologue: the workgroup's 64 channels × 4 lanes add the slices' partial sums
 * (`partials[s, 0 | 1, c]`, `nwg.y` slices) into `sum1`, `sum2` for channel `c`, every workgroup in
 * the same order (so all agree); lanes past the last channel return after the barrier.
 */
const SLICE_SUMS = `var<workgroup> s1: array<f32, ${CH * LANES}>;
var<workgroup> s2: array<f32, ${CH * LANES}>;
@compute @workgroup_size(${CH}, ${LANES})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let c = wid.x * ${CH}u + lid.x;
  let slices = nwg.y;
  var a1 = 0.0;
  var a2 = 0.0;
  if (c < u.c) {
    for (var s = lid.y; s < slices; s = s + ${LANES}u) {
      a1 = a1 + partials[s * 2u * u.c + c];
      a2 = a2 + partials[s * 2u * u.c + u.c + c];
    }
  }
  s1[lid.y * ${CH}u + lid.x] = a1;
  s2[lid.y * ${CH}u + lid.x] = a2;
  workgroupBarrier();
  if (c >= u.c) { return; }
  var sum1 = 0.0;
  var sum2 = 0.0;
  for (var k = 0u; k < ${LANES}u; k = k + 1u) {
    sum1 = sum1 + s1[k * ${CH}u + lid.x];
    sum2 = sum2 + s2[k * ${CH}u + lid.x];
  }`;

/**
 * Statistics and normalisation in one dispatch: each workgroup (64 channels × 4 lanes, one slice
 * of rows) adds the slices' partial sums for its channels in workgroup memory (all workgroups in
 * the same order, so all agree), computes mean, variance and rstd, normalises its rows
 * (y = ((x - mean) · rstd) · gamma + beta, the composed ops' order; clamped to [0, max] with a
 * fused activation); the slice-0 workgroups store the statistics and, with `moving`, tfjs-layers'
 * update `moving - (moving - batch) · (1 - momentum)`.
 */
function applyCode(act: boolean, moving: boolean): () => string {
  const outputs = ['y', 'mean', 'variance', 'rstd', ...(moving ? ['mmOut', 'mvOut'] : [])];
  return () => `${wgslBindings(outputs, ['x', 'partials'], [['rows', 'u32'], ['c', 'u32'], ['rps', 'u32'], ['eps', 'f32'], ['keep', 'f32'], ['clampMax', 'u32'], ['max', 'f32']])}
${NAN_FN}
${SLICE_SUMS}
  let d1 = sum1;
  let d2 = sum2;
  let n = f32(u.rows);
  let m1 = d1 / n;
  let v = max(d2 / n - m1 * m1, 0.0);
  let base = slices * 2u * u.c + c;
  let mu = partials[base] + m1;
  let r = 1.0 / sqrt(v + u.eps);
  let gamma = partials[base + u.c];
  let beta = partials[base + 2u * u.c];
  if (wid.y == 0u && lid.y == 0u) {
    mean[c] = mu;
    variance[c] = v;
    rstd[c] = r;
    ${moving ? 'let mm = partials[base + 3u * u.c];\n    let mv = partials[base + 4u * u.c];\n    mmOut[c] = mm - (mm - mu) * u.keep;\n    mvOut[c] = mv - (mv - v) * u.keep;' : '_ = u.keep;'}
  }
  let start = wid.y * u.rps;
  let end = min(u.rows, start + u.rps);
  for (var row = start + lid.y; row < end; row = row + ${LANES}u) {
    let i = row * u.c + c;
    let pre = ((x[i] - mu) * r) * gamma + beta;
    ${act ? '// As tfjs relu (NaN passes) then the clip at max (ReLU6).\n    var v = select(pre, 0.0, pre < 0.0);\n    if (u.clampMax == 1u && v > u.max) { v = u.max; }\n    y[i] = select(v, pre, isNan(pre));' : 'y[i] = pre;\n    _ = u.max;\n    _ = u.clampMax;'}
  }
}`;
}

/**
 * dgamma, dbeta and dx in one dispatch: each workgroup (64 channels × 4 lanes, one slice of rows)
 * first adds the slices' partial sums for its channels in workgroup memory (every workgroup in
 * the same order, so all agree), then applies the closed-form gradient to its rows; the slice-0
 * workgroups store dgamma and dbeta.
 */
function gradApplyCode(act: boolean): () => string {
  return () => `${wgslBindings(['dx', 'dgamma', 'dbeta'], ['dy', 'x', 'gamma', 'partials', ...(act ? ['beta'] : [])], [['rows', 'u32'], ['c', 'u32'], ['rps', 'u32'], ['count', 'f32'], ['clampMax', 'u32'], ['max', 'f32']])}
${NAN_FN}
${SLICE_SUMS}
  let db = sum1;
  let dg = sum2;
  if (wid.y == 0u && lid.y == 0u) {
    dbeta[c] = db;
    dgamma[c] = dg;
  }
  let mean = partials[slices * 2u * u.c + c];
  let rstd = partials[(slices * 2u + 1u) * u.c + c];
  let gr = gamma[c] * rstd;
  let start = wid.y * u.rps;
  let end = min(u.rows, start + u.rps);
  // The composed gradient's order: mul(sub(sub(dy, dbeta / M), xhat * (dgamma / M)), gamma * rstd).
  for (var row = start + lid.y; row < end; row = row + ${LANES}u) {
    let i = row * u.c + c;
    let xhat = (x[i] - mean) * rstd;
    ${act ? `let pre = xhat * gamma[c] + beta[c];\n    let g = ${maskExpr};` : 'let g = dy[i];\n    _ = u.max;\n    _ = u.clampMax;'}
    dx[i] = ((g - db / u.count) - xhat * (dg / u.count)) * gr;
  }
}`;
}

const u32 = (value: number) => ({ type: 'uint32' as const, value });
const f32 = (value: number) => ({ type: 'float32' as const, value });
const allFloat = (ts: tf.TensorInfo[]) => ts.every((t) => t.dtype === 'float32');

function forward(act: boolean): tf.KernelFunc {
  return ({ inputs, attrs }) => {
    const { x, gamma, beta, movingMean, movingVariance } = inputs as unknown as Record<'x' | 'gamma' | 'beta', tf.TensorInfo> & Partial<Record<'movingMean' | 'movingVariance', tf.TensorInfo>>;
    const { epsilon, momentum, max = Infinity } = attrs as unknown as { epsilon: number; momentum?: number; max?: number };
    const bound = Number.isFinite(max);
    const moving = movingMean !== undefined && movingVariance !== undefined && momentum !== undefined ? { mm: movingMean, mv: movingVariance, momentum } : null;
    const c = x.shape[x.shape.length - 1];
    const n = tf.util.sizeFromShape(x.shape);
    const rows = n / c;
    if (rows === 0 || !allFloat([x, gamma, beta, ...(moving === null ? [] : [moving.mm, moving.mv])])) {
      return tf.tidy(() => {
        const out = batchNormTrainComposed(asTensor(x), asTensor(gamma), asTensor(beta), epsilon);
        if (act) out[0] = tf.clipByValue(out[0], 0, max);
        return moving === null ? out : [...out, ...batchNormMovingUpdateComposed(asTensor(moving.mm), asTensor(moving.mv), out[1], out[2], moving.momentum)];
      }) as unknown as tf.TensorInfo[];
    }
    const { rps, slices } = slicing(rows);
    const [partials] = runWgsl({
      name: 'TkBatchNormStatsPartials', variant: moving === null ? 'plain' : 'moving', code: moving === null ? statsPartials.plain : statsPartials.moving,
      inputs: moving === null ? [x, gamma, beta] : [x, gamma, beta, moving.mm, moving.mv],
      outputs: [{ shape: [2 * slices + (moving === null ? 3 : 5), c], dtype: 'float32' }], uniforms: [u32(rows), u32(c), u32(rps)], workgroups: [Math.ceil(c / CH), slices, 1],
    });
    const out = runWgsl({
      name: act ? BatchNormActTrain : BatchNormTrain, variant: `${act ? 'act' : 'plain'}/${moving === null ? 'plain' : 'moving'}`, code: applyCode(act, moving !== null),
      inputs: [x, partials],
      outputs: [{ shape: x.shape.slice(), dtype: 'float32' as const }, ...Array.from({ length: moving === null ? 3 : 5 }, () => ({ shape: [c], dtype: 'float32' as const }))],
      uniforms: [u32(rows), u32(c), u32(rps), f32(epsilon), f32(1 - (moving?.momentum ?? 0)), u32(bound ? 1 : 0), f32(bound ? max : 0)], workgroups: [Math.ceil(c / CH), slices, 1],
    });
    tf.backend().disposeData(partials.dataId);
    return out;
  };
}

function backward(act: boolean): tf.KernelFunc {
  return ({ inputs, attrs }) => {
    const { dy, x, gamma, beta, mean, rstd } = inputs as unknown as Record<'dy' | 'x' | 'gamma' | 'mean' | 'rstd', tf.TensorInfo> & { beta?: tf.TensorInfo };
    const { max = Infinity } = attrs as unknown as { max?: number };
    const bound = Number.isFinite(max);
    const c = x.shape[x.shape.length - 1];
    const rows = tf.util.sizeFromShape(x.shape) / c;
    if (rows === 0 || !allFloat([dy, x, gamma, mean, rstd, ...(beta === undefined ? [] : [beta])])) {
      return tf.tidy(() =>
        act
          ? batchNormActTrainGradComposed(asTensor(dy), asTensor(x), asTensor(gamma), asTensor(beta as tf.TensorInfo), asTensor(mean), asTensor(rstd), max)
          : batchNormTrainGradComposed(asTensor(dy), asTensor(x), asTensor(gamma), asTensor(mean), asTensor(rstd)),
      ) as unknown as tf.TensorInfo[];
    }
    const { rps, slices } = slicing(rows);
    const [partials] = runWgsl({
      name: 'TkBatchNormGradPartials', variant: act ? 'act' : 'plain', code: act ? gradPartials.act : gradPartials.plain,
      inputs: act ? [dy, x, mean, rstd, gamma, beta as tf.TensorInfo] : [dy, x, mean, rstd], outputs: [{ shape: [2 * slices + 2, c], dtype: 'float32' }],
      uniforms: [u32(rows), u32(c), u32(rps), ...(act ? [u32(bound ? 1 : 0), f32(bound ? max : 0)] : [])], workgroups: [Math.ceil(c / CH), slices, 1],
    });
    const out = runWgsl({
      name: act ? BatchNormActTrainGrad : BatchNormTrainGrad, variant: act ? 'act' : 'plain', code: gradApplyCode(act),
      inputs: act ? [dy, x, gamma, partials, beta as tf.TensorInfo] : [dy, x, gamma, partials],
      outputs: [{ shape: x.shape.slice(), dtype: 'float32' }, { shape: [c], dtype: 'float32' }, { shape: [c], dtype: 'float32' }],
      uniforms: [u32(rows), u32(c), u32(rps), f32(rows), u32(bound ? 1 : 0), f32(bound ? max : 0)], workgroups: [Math.ceil(c / CH), slices, 1],
    });
    tf.backend().disposeData(partials.dataId);
    return out;
  };
}

export const batchNormTrainWebgpuConfig: tf.KernelConfig = { kernelName: BatchNormTrain, backendName: 'webgpu', kernelFunc: forward(false) };
export const batchNormTrainGradWebgpuConfig: tf.KernelConfig = { kernelName: BatchNormTrainGrad, backendName: 'webgpu', kernelFunc: backward(false) };
export const batchNormActTrainWebgpuConfig: tf.KernelConfig = { kernelName: BatchNormActTrain, backendName: 'webgpu', kernelFunc: forward(true) };
export const batchNormActTrainGradWebgpuConfig: tf.KernelConfig = { kernelName: BatchNormActTrainGrad, backendName: 'webgpu', kernelFunc: backward(true) };
