/**
 * Label-shift adaptation: when the target domain has other class frequencies than the source
 * (reviews are half positive, tweets 72 % positive), re-estimate the target's class priors by EM
 * on the model's unlabelled target predictions and move the classifier's decision to them. No
 * weight is trained; the output layer is rewritten in place.
 *
 * Why it is needed beside DANN/CORAL/MMD: those align *feature* distributions and cannot see a
 * change of class priors (they even fight it: aligning the marginals of two domains whose class
 * mixes differ pushes target examples onto the wrong class). The EM procedure of Saerens et al.
 * models exactly that shift: `p_t(y|x) ∝ p_s(y|x) · π_t(y) / π_s(y)`.
 *
 * The procedure, as `abstention.label_shift.EMImbalanceAdapter` with its recommended BCTS
 * calibrator (Alexandari, Kundaje & Shrikumar, ICML 2020):
 * 1. Calibrate on labelled source validation data: BCTS `softmax(a · z + b)` (a = 1/T, one bias per
 *    class) minimising the negative log-likelihood, or temperature only, or none. `z` are the
 *    output layer's logits (log-probabilities, up to a per-row constant, for a softmax layer).
 * 2. Source priors `π_s` = the mean calibrated posterior on the validation data (so that fitting on
 *    the validation data itself estimates no shift).
 * 3. EM from `π_t = π_s`: `q(y|x) ∝ p(y|x) π_t(y)/π_s(y)` over the target examples, `π_t` = mean of `q`,
 *    until no class frequency moves more than `tolerance` (1e-6) or `maxIterations` (100).
 * 4. The output layer becomes `softmax(a · z + b + log(π_t/π_s))`: kernel × a, bias × a + b +
 *    log w. Its outputs are the calibrated target posteriors; its argmax is abstention's adapted
 *    prediction.
 *
 * References: Saerens, Latinne & Decaestecker, "Adjusting the Outputs of a Classifier to New a
 * Priori Probabilities: A Simple Procedure", Neural Computation 14(1), 2002; Alexandari et al.,
 * "Maximum Likelihood with Bias-Corrected Calibration is Hard-To-Beat at Label Shift Adaptation",
 * ICML 2020, https://arxiv.org/abs/1901.06852 (code: kundajelab/abstention).
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { TransferKitError } from '../errors.js';
import { inboundIndices, runLayers } from '../train/graph_executor.js';
import type { LabeledData } from '../data/dataset.js';

/** Calibration fitted before EM: bias-corrected temperature scaling, temperature only, or none. */
export type LabelShiftCalibration = 'bcts' | 'temperature' | 'none';

/** Options of {@link labelShift}. */
export interface LabelShiftOptions {
  /** Calibration on the labelled validation data (default `'bcts'` up to 64 classes, `'temperature'` beyond). */
  calibration?: LabelShiftCalibration;
  /** EM iterations at most (default 100, abstention's). */
  maxIterations?: number;
  /** EM stops when no class frequency moves more than this (default 1e-6, abstention's). */
  tolerance?: number;
  /** Examples per inference batch (default 256). */
  batchSize?: number;
}

/** Checks {@link LabelShiftOptions} (before any work, so a typo fails before training). */
export function checkLabelShiftOptions(o: LabelShiftOptions = {}, where = 'labelShift'): void {
  if (o.calibration !== undefined && o.calibration !== 'bcts' && o.calibration !== 'temperature' && o.calibration !== 'none') {
    throw new TransferKitError('E_BAD_OPTION', `${where}: calibration must be 'bcts', 'temperature' or 'none'. Received: calibration='${String(o.calibration)}'.`);
  }
  for (const [k, v] of Object.entries({ maxIterations: o.maxIterations, batchSize: o.batchSize })) {
    if (v !== undefined && !(Number.isInteger(v) && v > 0)) throw new TransferKitError('E_BAD_OPTION', `${where}: ${k} must be an integer > 0. Received: ${k}=${v}.`);
  }
  if (o.tolerance !== undefined && !(o.tolerance > 0)) throw new TransferKitError('E_BAD_OPTION', `${where}: tolerance must be > 0. Received: tolerance=${o.tolerance}.`);
}

/** What {@link labelShift} estimated and changed. */
export interface LabelShiftReport {
  /** The output layer that was rewritten. */
  layer: string;
  /** Source class priors: the mean calibrated posterior on the validation data. */
  sourcePriors: number[];
  /** Estimated target class priors. */
  targetPriors: number[];
  /** EM iterations run. */
  iterations: number;
  /** False when EM stopped at `maxIterations` with a prior still moving by more than `tolerance`. */
  converged: boolean;
  /** The calibration applied and its parameters (`a` = 1/temperature, `b` per class). */
  calibration: { kind: LabelShiftCalibration; a: number; b: number[] };
}

/**
 * Target class priors by the EM of Saerens et al. (2002), from posteriors `probs` [n × k, row-major]
 * of a classifier whose training priors were `sourcePriors`. Returns the priors and the iterations.
 */
export function emTargetPriors(probs: ArrayLike<number>, k: number, sourcePriors: readonly number[], options: { maxIterations?: number; tolerance?: number } = {}): { priors: number[]; iterations: number; converged: boolean } {
  if (!(Number.isInteger(k) && k >= 2)) throw new TransferKitError('E_BAD_OPTION', `emTargetPriors: k must be an integer >= 2. Received: k=${k}.`);
  if (sourcePriors.length !== k) throw new TransferKitError('E_BAD_OPTION', `emTargetPriors: sourcePriors has ${sourcePriors.length} entries; k=${k}.`);
  if (sourcePriors.some((p) => !(p > 0))) throw new TransferKitError('E_DATA', `emTargetPriors: every source prior must be > 0 (a class the classifier never predicts cannot be re-weighted). Received: [${sourcePriors.join(', ')}].`);
  const n = probs.length / k;
  if (!Number.isInteger(n) || n < 1) throw new TransferKitError('E_DATA', `emTargetPriors: probs has ${probs.length} values, not a positive multiple of k=${k}.`);
  const maxIterations = options.maxIterations ?? 100;
  const tolerance = options.tolerance ?? 1e-6;
  for (let i = 0; i < probs.length; i++) {
    if (!(probs[i] >= 0)) throw new TransferKitError('E_DATA', `emTargetPriors: probability ${probs[i]} at row ${Math.floor(i / k)}, class ${i % k} (probabilities must be finite and >= 0).`);
  }
  let current = Array.from(sourcePriors);
  let iterations = 0;
  let converged = false;
  const q = new Float64Array(k);
  while (iterations < maxIterations) {
    const next = new Float64Array(k);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let c = 0; c < k; c++) s += (q[c] = probs[i * k + c] * (current[c] / sourcePriors[c]));
      // A row with zero mass under every re-weighted class carries no information about priors.
      if (s > 0) for (let c = 0; c < k; c++) next[c] += q[c] / s / n;
    }
    iterations++;
    const moved = next.some((v, c) => Math.abs(v - current[c]) > tolerance);
    current = Array.from(next);
    if (!moved) {
      converged = true;
      break;
    }
  }
  return { priors: current, iterations, converged };
}

/**
 * Fits `softmax(a · z + b)` to labels by minimising the mean negative log-likelihood over rows of
 * logits `z` [n × k]. The loss is convex in (a, b) (a multinomial logistic regression on fixed
 * inputs), so damped Newton steps with backtracking reach the optimum in a few iterations.
 * `temperature` only: b stays 0 (temperature scaling, Guo et al. 2017); `bcts`: both (Alexandari
 * et al. 2020), with b fixed to 0 for class 0 (softmax is unchanged by a common shift of b).
 */
export function fitCalibration(z: ArrayLike<number>, labels: ArrayLike<number>, k: number, kind: 'bcts' | 'temperature'): { a: number; b: number[] } {
  const n = labels.length;
  if (n < 1 || z.length !== n * k) throw new TransferKitError('E_DATA', `fitCalibration: ${z.length} logits for ${n} labels and ${k} classes (need labels × classes, at least one row).`);
  for (let i = 0; i < n; i++) {
    const y = labels[i];
    if (!(Number.isInteger(y) && y >= 0 && y < k)) throw new TransferKitError('E_DATA', `fitCalibration: label ${y} at row ${i} is not a class index in [0, ${k}).`);
  }
  for (let i = 0; i < z.length; i++) {
    if (!Number.isFinite(z[i])) throw new TransferKitError('E_DATA', `fitCalibration: logit ${z[i]} at row ${Math.floor(i / k)}, class ${i % k}; logits must be finite.`);
  }
  // Parameters: a, then b_1..b_{k-1} for BCTS.
  const m = kind === 'bcts' ? k : 1;
  const bOf = (t: Float64Array, c: number) => (kind === 'bcts' && c > 0 ? t[c] : 0);
  /** Loss; with `g`/`h`, also the gradient and Hessian (row-major m × m). */
  const evaluate = (t: Float64Array, g?: Float64Array, h?: Float64Array): number => {
    let total = 0;
    g?.fill(0);
    h?.fill(0);
    const p = new Float64Array(k);
    for (let i = 0; i < n; i++) {
      let mx = -Infinity;
      for (let c = 0; c < k; c++) mx = Math.max(mx, (p[c] = t[0] * z[i * k + c] + bOf(t, c)));
      let s = 0;
      for (let c = 0; c < k; c++) s += (p[c] = Math.exp(p[c] - mx));
      for (let c = 0; c < k; c++) p[c] /= s;
      const y = labels[i];
      total -= Math.log(Math.max(p[y], 1e-300));
      if (g === undefined || h === undefined) continue;
      // d loss / d logit_c = p_c - [c = y]; logit_c = a z_c + b_c.
      let pz = 0;
      for (let c = 0; c < k; c++) pz += p[c] * z[i * k + c];
      g[0] += (pz - z[i * k + y]) / n;
      let pzz = 0;
      for (let c = 0; c < k; c++) pzz += p[c] * z[i * k + c] * z[i * k + c];
      h[0] += (pzz - pz * pz) / n;
      for (let j = 1; j < m; j++) {
        g[j] += (p[j] - (j === y ? 1 : 0)) / n;
        const hab = (p[j] * z[i * k + j] - p[j] * pz) / n;
        h[j] += hab;
        h[j * m] += hab;
        for (let l = 1; l < m; l++) h[j * m + l] += ((j === l ? p[j] : 0) - p[j] * p[l]) / n;
      }
    }
    return total / n;
  };
  const theta = new Float64Array(m);
  theta[0] = 1;
  const g = new Float64Array(m);
  const h = new Float64Array(m * m);
  let f = evaluate(theta, g, h);
  for (let it = 0; it < 100; it++) {
    const gg = g.reduce((a, v) => a + v * v, 0);
    if (gg < 1e-18) break;
    // Newton direction (H + eps I) d = g; a tiny ridge keeps a separable class solvable.
    const d = solve(h.map((v, j) => (j % (m + 1) === 0 ? v + 1e-9 : v)), g, m);
    let step = 1;
    let trial = theta.map((v, j) => v - step * d[j]);
    let ft = evaluate(trial);
    const slope = d.reduce((a, v, j) => a + v * g[j], 0);
    while (!(ft <= f - 1e-4 * step * slope) && step > 1e-12) {
      step /= 2;
      trial = theta.map((v, j) => v - step * d[j]);
      ft = evaluate(trial);
    }
    if (step <= 1e-12) break;
    theta.set(trial);
    f = evaluate(theta, g, h);
  }
  return { a: theta[0], b: Array.from({ length: k }, (_, c) => bOf(theta, c)) };
}

/** Solves A x = y for a small dense symmetric positive-definite A (Gaussian elimination, partial pivoting). */
function solve(a: Float64Array, y: Float64Array, m: number): Float64Array {
  const A = Float64Array.from(a);
  const x = Float64Array.from(y);
  for (let c = 0; c < m; c++) {
    let piv = c;
    for (let r = c + 1; r < m; r++) if (Math.abs(A[r * m + c]) > Math.abs(A[piv * m + c])) piv = r;
    if (piv !== c) {
      for (let j = 0; j < m; j++) [A[c * m + j], A[piv * m + j]] = [A[piv * m + j], A[c * m + j]];
      [x[c], x[piv]] = [x[piv], x[c]];
    }
    const d = A[c * m + c] || 1e-300;
    for (let r = c + 1; r < m; r++) {
      const f = A[r * m + c] / d;
      if (f === 0) continue;
      for (let j = c; j < m; j++) A[r * m + j] -= f * A[c * m + j];
      x[r] -= f * x[c];
    }
  }
  for (let c = m - 1; c >= 0; c--) {
    let s = x[c];
    for (let j = c + 1; j < m; j++) s -= A[c * m + j] * x[j];
    x[c] = s / (A[c * m + c] || 1e-300);
  }
  return x;
}

/** The model's output layer, checked to be a Dense layer with a softmax or linear activation (label shift can rewrite it). */
export function outputDense(lm: tfl.LayersModel): { layer: tfl.layers.Layer; index: number; input: number; softmax: boolean } {
  const index = lm.layers.length - 1;
  const layer = lm.layers[index];
  const config = layer.getConfig() as { activation?: string; useBias?: boolean; units?: number };
  const activation = config.activation ?? '';
  const uses = (layer as unknown as { inboundNodes: unknown[] }).inboundNodes.length;
  if (uses !== 1) {
    throw new TransferKitError('E_MODEL_TOPOLOGY', `labelShift: the output layer '${layer.name}' of model '${lm.name}' is applied ${uses} times (a shared layer); rewriting it would change every use. Give the model its own output layer.`);
  }
  const feeds = inboundIndices(lm)[index];
  if (layer.getClassName() !== 'Dense' || (activation !== 'softmax' && activation !== 'linear') || config.useBias !== true || feeds.length !== 1 || !((config.units ?? 0) >= 2)) {
    throw new TransferKitError(
      'E_MODEL_TOPOLOGY',
      `labelShift: the output layer '${layer.name}' of model '${lm.name}' is a ${layer.getClassName()} (activation '${activation}', units ${String(config.units)}, bias ${String(config.useBias)}); label-shift adaptation rewrites a Dense output layer with a bias, 2 or more units and a softmax or linear activation (replaceHead builds one).`,
    );
  }
  return { layer, index, input: feeds[0], softmax: activation === 'softmax' };
}

/** Logits [n × k] of `xs`: the output layer's pre-activation. */
async function logitsOf(lm: tfl.LayersModel, out: ReturnType<typeof outputDense>, xs: tf.Tensor, batchSize: number, what: string): Promise<Float32Array> {
  const [kernel, bias] = out.layer.getWeights();
  const parts: Float32Array[] = [];
  for (let i = 0; i < xs.shape[0]; i += batchSize) {
    const z = tf.tidy(() => {
      const h = runLayers(lm, 0, tf.slice(xs, i, Math.min(batchSize, xs.shape[0] - i)), out.input, false);
      return tf.add(tf.matMul(tf.reshape(h, [h.shape[0], -1]) as tf.Tensor2D, kernel as tf.Tensor2D), bias);
    });
    parts.push((await z.data()) as Float32Array);
    z.dispose();
  }
  const all = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    all.set(p, o);
    o += p.length;
  }
  const bad = all.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) {
    const k = all.length / xs.shape[0];
    throw new TransferKitError('E_DATA', `labelShift: the model's output for ${what} example ${Math.floor(bad / k)} is not finite (${all[bad]}); check that input for NaN/Inf values.`);
  }
  return all;
}

/** Calibrated posteriors softmax(a z + b) of logits z [n × k]. */
function calibrated(z: Float32Array, k: number, a: number, b: readonly number[]): Float64Array {
  const p = new Float64Array(z.length);
  for (let i = 0; i < z.length / k; i++) {
    let m = -Infinity;
    for (let c = 0; c < k; c++) m = Math.max(m, (p[i * k + c] = a * z[i * k + c] + b[c]));
    let s = 0;
    for (let c = 0; c < k; c++) s += (p[i * k + c] = Math.exp(p[i * k + c] - m));
    for (let c = 0; c < k; c++) p[i * k + c] /= s;
  }
  return p;
}

/**
 * Adapts `lm` to the class priors of the unlabelled `targetXs` (see module doc). `validation` are
 * labelled source examples the model did not train on (for calibration and the source priors);
 * without them, pass the source training data and `calibration: 'none'`. The output layer is
 * rewritten in place: every model sharing that layer object changes with it.
 */
export async function labelShift(lm: tfl.LayersModel, targetXs: tf.Tensor, validation: LabeledData, options: LabelShiftOptions = {}): Promise<LabelShiftReport> {
  checkLabelShiftOptions(options);
  const out = outputDense(lm);
  const k = (out.layer.getConfig() as { units: number }).units;
  // BCTS's Newton steps cost n·k² per iteration: beyond 64 classes the default is temperature only.
  const kind = options.calibration ?? (k <= 64 ? 'bcts' : 'temperature');
  if (validation.labels.length !== validation.xs.shape[0]) throw new TransferKitError('E_DATA', `labelShift: the validation data has ${validation.xs.shape[0]} inputs but ${validation.labels.length} labels.`);
  const badLabel = Array.from(validation.labels).findIndex((y) => !(Number.isInteger(y) && y >= 0 && y < k));
  if (badLabel >= 0) throw new TransferKitError('E_DATA', `labelShift: validation label ${validation.labels[badLabel]} at index ${badLabel} is not a class of output layer '${out.layer.name}' (${k} units).`);
  // The EM estimate of k priors from a handful of examples lands on the simplex's edge and would
  // turn the model into a constant classifier: ask for at least 10 examples per class.
  if (targetXs.shape[0] < 10 * k) throw new TransferKitError('E_DATA', `labelShift: ${targetXs.shape[0]} target examples are too few to estimate ${k} class priors; pass at least ${10 * k} (10 per class).`);
  const batchSize = options.batchSize ?? 256;
  const zVal = await logitsOf(lm, out, validation.xs, batchSize, 'validation');
  const { a, b } = kind === 'none' ? { a: 1, b: new Array<number>(k).fill(0) } : fitCalibration(zVal, validation.labels, k, kind);
  if (!(a > 0)) {
    throw new TransferKitError('E_DATA', `labelShift: calibration on the validation data gave a non-positive inverse temperature (${a}): the model's predictions there are no better than their reverse. Train the classifier first, or pass calibration: 'none'.`);
  }
  const pVal = calibrated(zVal, k, a, b);
  const sourcePriors = new Array<number>(k).fill(0);
  for (let i = 0; i < pVal.length; i++) sourcePriors[i % k] += pVal[i] / (pVal.length / k);
  const pTarget = calibrated(await logitsOf(lm, out, targetXs, batchSize, 'target'), k, a, b);
  const { priors, iterations, converged } = emTargetPriors(pTarget, k, sourcePriors, options);
  // softmax(a z + b + log w) with z = h W + c: kernel a W, bias a c + b + log w.
  const [kernel, bias] = out.layer.getWeights();
  const shift = tf.tensor1d(priors.map((p, c) => b[c] + Math.log(Math.max(p, 1e-12) / sourcePriors[c])));
  const next = tf.tidy(() => [tf.mul(kernel, a), tf.add(tf.mul(bias, a), shift)]);
  out.layer.setWeights(next);
  tf.dispose([shift, ...next]);
  return { layer: out.layer.name, sourcePriors, targetPriors: priors, iterations, converged, calibration: { kind, a, b } };
}
