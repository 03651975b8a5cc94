/**
 * Copies weights between models by layer and weight name, as PyTorch's
 * `load_state_dict(strict=True)`: every target weight must be found with the same shape, and
 * extra source weights are errors too; `strict: false` copies what matches and reports the rest.
 * Names are `<layer>/<weight>` with the weight's own suffix (`kernel`, `bias`, `gamma`,
 * `moving_mean`, ...), so a zoo architecture takes weights from any model with Keras layer names.
 */
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

/** `conv1_conv/kernel` for a layer's weight, whatever unique suffix TF.js gave the variable. */
function key(layer: tfl.layers.Layer, w: tfl.LayerVariable): string {
  const base = w.originalName.split('/').pop() ?? w.originalName;
  return `${layer.name}/${base.replace(/_\d+$/, '')}`;
}

function weightsByKey(model: tfl.LayersModel): Map<string, tfl.LayerVariable> {
  const out = new Map<string, tfl.LayerVariable>();
  for (const layer of model.layers) for (const w of layer.weights) out.set(key(layer, w), w);
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
  if (strict && (report.missing.length + report.unexpected.length + report.mismatched.length) > 0) {
    const list = (what: string, xs: string[]) => (xs.length ? ` ${what} (${xs.length}): ${xs.slice(0, 8).join(', ')}${xs.length > 8 ? ', ...' : ''}.` : '');
    throw new TransferKitError(
      'E_MODEL_TOPOLOGY',
      `The weights do not match the model '${target.name}'.${list('Missing', report.missing)}${list('Unexpected', report.unexpected)}${list('Wrong shape', report.mismatched)} ` +
        'Check that both models are the same architecture and width, or pass { strict: false } to copy what matches.',
    );
  }
  for (const [k, t, s] of pairs) {
    t.write(s.read());
    report.copied.push(k);
  }
  return report;
}
