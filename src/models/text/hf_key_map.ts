/**
 * Hugging Face tensor names of a text model's weights, both ways (load and export).
 *
 * Layer names already are HF module paths (`encoder.layer.0.attention.self.query`), so the map
 * is a rule, not a table: a Dense `kernel` is `<module>.weight` transposed (PyTorch `nn.Linear`
 * stores `[out, in]`), `bias` is `<module>.bias`, an embedding table is
 * `embeddings.<table>.weight`, a LayerNorm keeps `weight`/`bias` (old TF-converted checkpoints say
 * `gamma`/`beta`). Modules of the bare encoder get the family prefix (`bert.`, `distilbert.`)
 * inside task models, as HF's `base_model_prefix`.
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { weightSuffix } from '../../io/weights_by_name.js';
import { TEXT_FAMILIES } from './registry.js';
import type { TextFamily } from './text_model.js';

/** One weight of the model and the checkpoint keys that may hold it. */
export interface HfKeyEntry {
  layer: tfl.layers.Layer;
  variable: tfl.LayerVariable;
  /** The key export writes (prefixed when the model has a task head). */
  key: string;
  /** Every key accepted on load, preferred first. */
  candidates: string[];
  /** True for Dense kernels: stored `[out, in]` in the checkpoint. */
  transpose: boolean;
}

/** The family's `base_model_prefix`. */
export function basePrefix(family: TextFamily): string {
  return TEXT_FAMILIES[family].basePrefix;
}

function isBase(family: TextFamily, module: string): boolean {
  return TEXT_FAMILIES[family].baseModules.test(`${module}.`);
}

/** Names of `w` (a weight of `layer`) without prefix: `[preferred, ...legacy]`, and whether to transpose. */
function localKeys(layer: tfl.layers.Layer, w: tfl.LayerVariable): { keys: string[]; transpose: boolean } | null {
  const s = weightSuffix(w);
  const cls = layer.getClassName();
  if (cls === 'Dense') {
    if (s === 'kernel') return { keys: [`${layer.name}.weight`], transpose: true };
    if (s === 'bias') return { keys: [`${layer.name}.bias`], transpose: false };
    return null; // LoRA adapters: merged into the kernel before export
  }
  if (cls === 'TransferKitTextEmbeddings') return { keys: [`${layer.name}.${s}.weight`], transpose: false };
  if (cls === 'TransferKitLayerNorm') return { keys: [`${layer.name}.${s}`, `${layer.name}.${s === 'weight' ? 'gamma' : 'beta'}`], transpose: false };
  return null;
}

/**
 * The HF keys of every weight of `model` (`prefixed`: the model carries a task head, so encoder
 * modules are written `bert.…`). Weights with no HF counterpart (LoRA adapters) are skipped.
 */
export function hfKeyMap(model: tfl.LayersModel, family: TextFamily, prefixed: boolean): HfKeyEntry[] {
  const out: HfKeyEntry[] = [];
  const prefix = basePrefix(family);
  for (const layer of model.layers) {
    for (const w of layer.weights) {
      const local = localKeys(layer, w);
      if (local === null) continue;
      const base = isBase(family, layer.name);
      const withPrefix = local.keys.map((k) => `${prefix}${k}`);
      const candidates = !base ? local.keys : prefixed ? [...withPrefix, ...local.keys] : [...local.keys, ...withPrefix];
      out.push({ layer, variable: w, key: candidates[0], candidates, transpose: local.transpose });
    }
  }
  return out;
}
