/**
 * Writes Hugging Face checkpoint tensors into a text model by name (portable: the tensors may come
 * from a file, a fetch or memory). The key rule lives in `models/text/hf_key_map.ts`.
 *
 * Name matching is strict, with HF's exceptions: a task head absent from the checkpoint is newly
 * initialised (HF's "Some weights ... were newly initialized" warning, here in the report), and
 * tensors another head would use (`cls.*`, `embeddings.position_ids`, an unused pooler) are
 * reported as unused. Anything else missing, unexpected or mis-shaped is an error naming tensors.
 */
import * as tf from '@tensorflow/tfjs-core';
import { TransferKitError } from '../../errors.js';
import { hfKeyMap } from './hf_key_map.js';
import type { SafeTensor } from '../../io/safetensors.js';
import type { TextModel } from './text_model.js';

/** Matching options of {@link loadHfWeights}. */
export interface HfWeightsOptions {
  /** Unexpected checkpoint tensors are errors (default true); false lists them in `unused`. */
  strict?: boolean;
  /** A head whose shape differs (another `numLabels`) is re-initialised instead of failing, as HF's `ignore_mismatched_sizes`. */
  ignoreMismatchedSizes?: boolean;
}

/** What loading matched (HF's `output_loading_info`). */
export interface TextLoadReport {
  /** Weights read from the checkpoint. */
  loaded: number;
  /** Model weights the checkpoint lacks, freshly initialised (a new head). */
  newlyInitialized: string[];
  /** Checkpoint tensors the model did not use. */
  unused: string[];
  /** Re-initialised because of `ignoreMismatchedSizes`: `key: checkpoint [..] vs model [..]`. */
  mismatched: string[];
}

/** Tensors that belong to heads other than the one built; never an error. */
const IGNORABLE = /(^|\.)position_ids$|^cls\.|^vocab_(transform|layer_norm|projector)\.|^(qa_outputs|lm_head)\./;

/**
 * Writes checkpoint `tensors` into `tm` by HF name (see module doc). Nothing is written when a
 * check fails.
 */
export function loadHfWeights(tm: TextModel, tensors: Map<string, SafeTensor>, options: HfWeightsOptions & { file?: string } = {}): TextLoadReport {
  const file = options.file ?? 'checkpoint';
  const entries = hfKeyMap(tm.model, tm.family, tm.task !== 'base');
  const used = new Set<string>();
  const report: TextLoadReport = { loaded: 0, newlyInitialized: [], unused: [], mismatched: [] };
  const missingBase: string[] = [];
  const wrong: string[] = [];
  const writes: Array<[typeof entries[number], SafeTensor]> = [];
  const headSet = new Set(tm.headLayers);
  for (const e of entries) {
    const key = e.candidates.find((k) => tensors.has(k));
    if (key === undefined) {
      // The pooler, like a head, is absent from *ForMaskedLM checkpoints; HF initialises it afresh.
      if (headSet.has(e.layer.name) || e.layer.name.startsWith('pooler.')) report.newlyInitialized.push(e.key);
      else missingBase.push(e.key);
      continue;
    }
    used.add(key);
    const t = tensors.get(key) as SafeTensor;
    const want = e.transpose ? [...e.variable.shape].reverse() : e.variable.shape;
    if (t.shape.length !== want.length || t.shape.some((d, i) => d !== want[i])) {
      const msg = `${key}: checkpoint [${t.shape.join(', ')}] vs model [${want.join(', ')}]`;
      if (options.ignoreMismatchedSizes === true && headSet.has(e.layer.name)) report.mismatched.push(msg);
      else wrong.push(msg);
      continue;
    }
    writes.push([e, t]);
  }
  const unexpected: string[] = [];
  for (const k of tensors.keys()) {
    if (used.has(k)) continue;
    if (IGNORABLE.test(k) || options.strict === false || /^pooler\.|\.pooler\./.test(k)) report.unused.push(k);
    else unexpected.push(k);
  }
  const list = (what: string, xs: string[]): string => (xs.length ? ` ${what} (${xs.length}): ${xs.slice(0, 8).join('; ')}${xs.length > 8 ? '; ...' : ''}.` : '');
  if (missingBase.length + wrong.length + unexpected.length > 0) {
    throw new TransferKitError(
      'E_MODEL_TOPOLOGY',
      `${file} does not fit the ${tm.family} ${tm.task} model built from its config.${list('Missing', missingBase)}${list('Wrong shape', wrong)}${list('Unexpected', unexpected)} Check that config.json belongs to these weights; for another numLabels pass ignoreMismatchedSizes: true; to skip unknown tensors pass strict: false.`,
    );
  }
  for (const [e, t] of writes) {
    const value = tf.tidy(() => {
      const raw = tf.tensor(t.data, t.shape, t.dtype);
      return e.transpose ? tf.transpose(raw) : raw;
    });
    e.variable.write(value);
    value.dispose();
    report.loaded++;
  }
  return report;
}
