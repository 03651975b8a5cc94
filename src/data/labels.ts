/**
 * Labels checked at the door of training and evaluation. A class label of -1 or NaN does not fail
 * by itself downstream: `tf.oneHot(-1)` is a row of zeros (a silent zero loss), an `Int32Array`
 * turns NaN into class 0, and a stratified split drops the row. So every entry point checks the
 * labels once, up front, and refuses the first bad one with a coded `E_DATA` error naming the row
 * index, the value and the allowed range.
 *
 * The checks are one pass over the label array (no tensor is allocated); targets held in a tensor
 * are read once with `data()` (the read allocates no tensor, so nothing can leak).
 */
import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { TransferKitError } from '../errors.js';
import { shortJson } from '../utils/json.js';

/** A value as a message shows it (`NaN`, `-1`, `"cat"`, `undefined`). */
function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === undefined || v === null || typeof v === 'bigint') return String(v);
  return shortJson(v);
}

/** What the labels are checked as; see {@link checkClassLabels} and {@link checkTargetValues}. */
export interface ClassLabelOptions {
  /** How the rows are named in the message (default 'row'). */
  rowName?: string;
  /** The fix when a label is an integer >= numClasses (default: fix the labels or give more classes). */
  tooManyFix?: (numClasses: number) => string;
}

/**
 * Throws `E_DATA` at the first label that is not an integer in [0, numClasses) (`numClasses`
 * undefined: only >= 0 is required). One pass over `labels`.
 * @param what - who checks, e.g. `'fineTune: training data'`.
 */
export function checkClassLabels(what: string, labels: ArrayLike<unknown>, numClasses: number | undefined, options: ClassLabelOptions = {}): void {
  if (labels === null || typeof labels !== 'object' || typeof labels.length !== 'number') {
    throw new TransferKitError('E_DATA', `${what} has no labels. Classification data needs one class index per example (an Int32Array or number[]). Received: labels=${show(labels)}. Pass labels, or targets [N, K] for a multilabel or regression head.`);
  }
  const k = numClasses;
  const range = k === undefined ? '>= 0' : `in [0, ${k}) (${k} classes)`;
  const n = labels.length;
  for (let i = 0; i < n; i++) {
    const v = labels[i];
    if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && (k === undefined || v < k)) continue;
    const row = `${options.rowName ?? 'row'} ${i}`;
    if (typeof v === 'number' && Number.isInteger(v) && k !== undefined && v >= k) {
      // Too large: the fix is more classes, as many as the largest label needs (rest of the same pass).
      let max = v;
      for (let j = i + 1; j < n; j++) {
        const w = labels[j];
        if (typeof w === 'number' && w > max) max = w;
      }
      const fix = options.tooManyFix?.(max + 1) ?? `Give the model ${max + 1} classes (the largest label is ${max}), or fix the labels.`;
      throw new TransferKitError('E_DATA', `${what}: label ${show(v)} at ${row} is out of range. Class labels must be integers ${range}. Received: labels[${i}]=${show(v)}. ${fix}`);
    }
    const why = typeof v !== 'number' ? `is not a number (${v === null ? 'null' : typeof v})` : Number.isNaN(v) ? 'is NaN (a missing label?)' : !Number.isFinite(v) ? 'is not finite' : !Number.isInteger(v) ? 'is not an integer' : 'is negative';
    throw new TransferKitError(
      'E_DATA',
      `${what}: the label at ${row} ${why}. Class labels must be integers ${range}. Received: labels[${i}]=${show(v)}. Map each class to its index 0..${k === undefined ? 'K-1' : k - 1} (e.g. classNames.indexOf(name)) and drop or fix rows without a label.`,
    );
  }
}

/**
 * Throws `E_DATA` at the first value of `values` (row-major [N, K], `k` columns) that is not
 * finite, or (`unit`) not in [0, 1]. One pass.
 */
export function checkTargetValues(what: string, values: ArrayLike<number>, k: number, unit: boolean, name = 'targets'): void {
  const cols = Math.max(1, k);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isFinite(v) && (!unit || (v >= 0 && v <= 1))) continue;
    const r = Math.floor(i / cols);
    const c = i % cols;
    const at = cols > 1 ? `${name}[${r}][${c}]` : `${name}[${r}]`;
    if (!Number.isFinite(v)) {
      throw new TransferKitError('E_DATA', `${what}: the target at row ${r}${cols > 1 ? ` (output ${c})` : ''} is ${Number.isNaN(v) ? 'NaN (a missing value?)' : 'infinite'}. ${unit ? 'Targets of a classification head must be finite values in [0, 1]' : 'Regression targets must be finite numbers'}. Received: ${at}=${show(v)}. Drop the rows with missing values or fill them.`);
    }
    throw new TransferKitError('E_DATA', `${what}: the target at row ${r}${cols > 1 ? ` (output ${c})` : ''} is outside [0, 1]. Targets of a classification head (one-hot or multi-hot rows) must be in [0, 1]. Received: ${at}=${show(v)}. Use 0/1 per class, or a regression head for real values.`);
  }
}

/** The shape of a model {@link checkLabels} needs: a PretrainedModel (`task`) or a TextModel (`problemType`). */
interface ModelLike {
  model: tfl.LayersModel;
  task?: string;
  problemType?: string;
}

function isTensorLike(t: unknown): t is tf.Tensor {
  return typeof t === 'object' && t !== null && typeof (t as tf.Tensor).data === 'function' && Array.isArray((t as tf.Tensor).shape);
}

async function checkOne(what: string, m: ModelLike, data: unknown): Promise<void> {
  if (typeof data !== 'object' || data === null) return;
  const d = data as { labels?: unknown; targets?: unknown; batches?: unknown };
  // A stream's labels arrive batch by batch, after this door: not checked here.
  if (typeof d.batches === 'function') return;
  const outUnits = m.model.outputs[0]?.shape[1];
  const k = typeof outUnits === 'number' ? outUnits : undefined;
  const text = typeof m.problemType === 'string';
  const task = (text ? m.problemType : m.task) ?? 'multiclass';
  if (isTensorLike(d.targets)) {
    // Targets [N, K] replace the labels (which may then be anything used for splitting).
    if (task === 'regression' || task === 'multilabel' || task === 'multiclass') {
      const values = (await d.targets.data()) as ArrayLike<number>;
      checkTargetValues(what, values, d.targets.shape[1] ?? 1, task !== 'regression');
    }
    return;
  }
  if (task === 'multiclass') {
    const fix = text ? undefined : (n: number) => `Call replaceHead(base, { numClasses: ${n} }) first, or fix the labels.`;
    checkClassLabels(what, d.labels as ArrayLike<unknown>, k, fix !== undefined ? { tooManyFix: fix } : {});
  } else if (task === 'regression' && text && Array.isArray(d.labels)) {
    // Text regression heads train on `labels` as values.
    const labels = d.labels as unknown[];
    const bad = labels.findIndex((v) => typeof v !== 'number' || !Number.isFinite(v));
    if (bad >= 0) {
      throw new TransferKitError('E_DATA', `${what}: the regression label at row ${bad} is not a finite number. Regression targets must be finite numbers. Received: labels[${bad}]=${show(labels[bad])}. Drop the rows with missing values or fill them.`);
    }
  }
  // Multilabel and regression heads without targets: the feeder names the missing field.
}

/**
 * Checks the labels (or targets) of training and validation data against `model` before any
 * work starts: class labels integers in [0, outputs) for classification heads, targets finite
 * (and in [0, 1] for classification heads), regression labels finite. Streamed data
 * ({ batches }) is not checked here: its labels arrive batch by batch. Throws `E_DATA` naming the data set, the first bad row, the value and
 * the allowed range.
 * @param what - the entry point, e.g. `'fineTune'`.
 */
export async function checkLabels(what: string, model: ModelLike, train: unknown, validation?: unknown): Promise<void> {
  await checkOne(`${what}: training data`, model, train);
  if (validation !== undefined) await checkOne(`${what}: validation data`, model, validation);
}
