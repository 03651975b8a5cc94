/**
 * Copies weights between models by layer and weight name, as PyTorch's
 * `load_state_dict(strict=True)`: every target weight must be found with the same shape, and
 * extra source weights are errors too; `strict: false` copies what matches and reports the rest.
 * Names are `<layer>/<weight>` with the weight's own suffix (`kernel`, `bias`, `gamma`,
 * `moving_mean`, ...), so a zoo architecture takes weights from any model with Keras layer names.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { TransferKitError } from '../errors.js';

/** What a by-name copy matched and did not. */
export interface WeightCopyReport {
  copied: string[];
  /** Target weights with no source weight of that name. */
  missing: string[];
  /** Source weights the target has no place for. */
  unexpected: string[];
  /** Same name, different shapes: `name: target [..] vs source [..]`. */
  mismatched: string[];
}

/** The weight's own name (`kernel`, `gamma`, ...), whatever unique suffix TF.js gave the variable. */
export function weightSuffix(w: tfl.LayerVariable): string {
  return (w.originalName.split('/').pop() ?? w.originalName).replace(/_\d+$/, '');
}

/** `conv1_conv/kernel` for a layer's weight. */
export function weightKey(layer: tfl.layers.Layer, w: tfl.LayerVariable): string {
  return `${layer.name}/${weightSuffix(w)}`;
}

/**
 * Throws E_MODEL_TOPOLOGY listing the missing, unexpected and wrongly shaped weights of `report`
 * (at most 8 of each), as `load_state_dict(strict=True)` does: "`subject`. lists. `fix`".
 */
export function throwIfMismatched(report: WeightCopyReport, subject: string, fix: string): void {
  if (report.missing.length + report.unexpected.length + report.mismatched.length === 0) return;
  const list = (what: string, xs: string[]) => (xs.length ? ` ${what} (${xs.length}): ${xs.slice(0, 8).join(', ')}${xs.length > 8 ? ', ...' : ''}.` : '');
  throw new TransferKitError('E_MODEL_TOPOLOGY', `${subject}${list('Missing', report.missing)}${list('Unexpected', report.unexpected)}${list('Wrong shape', report.mismatched)} ${fix}`);
}

/** Plain arrays keyed by name, as weight files hold them. */
export type NamedArrays = Map<string, { shape: number[]; data: Float32Array }>;

/**
 * Writes `arrays` into `model`'s weights matched by `keyOf` (default `<layer>/<weight>`), strictly
 * unless `strict: false`; nothing is written when a strict check fails.
 */
export function loadNamedArrays(
  model: tfl.LayersModel,
  arrays: NamedArrays,
  options: { strict?: boolean; subject: string; keyOf?: (layer: tfl.layers.Layer, w: tfl.LayerVariable, index: number) => string },
): WeightCopyReport {
  const keyOf = options.keyOf ?? ((layer, w) => weightKey(layer, w));
  const report: WeightCopyReport = { copied: [], missing: [], unexpected: [], mismatched: [] };
  const used = new Set<string>();
  const writes: Array<[tfl.LayerVariable, { shape: number[]; data: Float32Array }]> = [];
  for (const layer of model.layers) {
    layer.weights.forEach((w, i) => {
      const k = keyOf(layer, w, i);
      const src = arrays.get(k);
      if (src === undefined) return void report.missing.push(k);
      used.add(k);
      if (src.shape.join(',') !== (w.shape as number[]).join(',')) report.mismatched.push(`${k}: model [${w.shape.join(', ')}] vs file [${src.shape.join(', ')}]`);
      else {
        writes.push([w, src]);
        report.copied.push(k);
      }
    });
  }
  report.unexpected = [...arrays.keys()].filter((k) => !used.has(k));
  if (options.strict ?? true) throwIfMismatched(report, options.subject, 'Pass { strict: false } to load what matches.');
  for (const [w, src] of writes) {
    const t = tf.tensor(src.data, src.shape);
    w.write(t);
    t.dispose();
  }
  return report;
}

function weightsByKey(model: tfl.LayersModel): Map<string, tfl.LayerVariable> {
  const out = new Map<string, tfl.LayerVariable>();
  for (const layer of model.layers) for (const w of layer.weights) out.set(weightKey(layer, w), w);
  return out;
}

/**
 * Copies `source`'s weights into `target` by name.
 * @throws E_MODEL_TOPOLOGY (strict) listing missing, unexpected and wrongly shaped weights.
 */
export function copyWeightsByName(target: tfl.LayersModel, source: tfl.LayersModel, options: { strict?: boolean } = {}): WeightCopyReport {
  const strict = options.strict ?? true;
  const to = weightsByKey(target);
  const from = weightsByKey(source);
  const report: WeightCopyReport = { copied: [], missing: [], unexpected: [...from.keys()].filter((k) => !to.has(k)), mismatched: [] };
  const pairs: Array<[string, tfl.LayerVariable, tfl.LayerVariable]> = [];
  for (const [k, t] of to) {
    const s = from.get(k);
    if (s === undefined) report.missing.push(k);
    else if (s.shape.join(',') !== t.shape.join(',')) report.mismatched.push(`${k}: target [${t.shape.join(', ')}] vs source [${s.shape.join(', ')}]`);
    else pairs.push([k, t, s]);
  }
  if (strict) throwIfMismatched(report, `The weights do not match the model '${target.name}'.`, 'Check that both models are the same architecture and width, or pass { strict: false } to copy what matches.');
  for (const [k, t, s] of pairs) {
    t.write(s.read());
    report.copied.push(k);
  }
  return report;
}
