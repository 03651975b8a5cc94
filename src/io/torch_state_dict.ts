/**
 * PyTorch state dicts (from safetensors) into the zoo's tfjs-layers models, layer by layer:
 * convolution kernels OIHW → HWIO, depthwise [C·M, 1, kh, kw] → [kh, kw, C, M], linear weights
 * [out, in] → [in, out], BatchNorm `weight`/`bias`/`running_mean`/`running_var` → `gamma`/`beta`/
 * `moving_mean`/`moving_variance` (`num_batches_tracked` is bookkeeping and ignored). The zoo's
 * torchvision-layout models name their layers after the state-dict prefixes (`layer1.0.conv1`), so
 * the mapping needs no table. Mismatches are reported as `load_state_dict(strict=True)` does.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { SafeTensor } from './safetensors.js';
import { throwIfMismatched, weightSuffix, type WeightCopyReport } from './weights_by_name.js';

function toTf(kind: string, t: SafeTensor): tf.Tensor {
  const x = tf.tensor(t.data, t.shape, 'float32');
  if (kind === 'conv') return tf.tidy(() => tf.transpose(x, [2, 3, 1, 0]));
  if (kind === 'depthwise') {
    // The caller reshapes to [C, M, kh, kw] (it knows C); transpose to [kh, kw, C, M].
    return x;
  }
  if (kind === 'dense') return tf.tidy(() => tf.transpose(x, [1, 0]));
  return x;
}

/** How a state dict's names and layouts differ from the model's layers. */
export interface StateDictMapping {
  /** Layer name → state-dict prefix (default: the layer name itself, as in the torchvision-layout zoo models). */
  names?: Record<string, string>;
  /**
   * Dense layers fed by a Flatten of a feature map: their PyTorch weight indexes the input as
   * (c, h, w) (NCHW flatten) while TF's Flatten gives (h, w, c); give [C, H, W] to permute.
   */
  flattenChw?: Record<string, [number, number, number]>;
}

/**
 * torchvision's VGG16 (`features.N`, `classifier.N`) onto the zoo's Keras-layout VGG16
 * (`block{b}_conv{i}`, `fc1`, `fc2`, `predictions`), for a 224 px input (7×7 before the classifier,
 * where torchvision's adaptive average pooling is the identity).
 */
export function torchvisionVgg16Mapping(): StateDictMapping {
  const convs = [[1, 2], [2, 2], [3, 3], [4, 3], [5, 3]] as const;
  const names: Record<string, string> = {};
  let idx = 0;
  for (const [block, n] of convs) {
    for (let i = 1; i <= n; i++) {
      names[`block${block}_conv${i}`] = `features.${idx}`;
      idx += 2; // conv, relu
    }
    idx += 1; // max-pool
  }
  Object.assign(names, { fc1: 'classifier.0', fc2: 'classifier.3', predictions: 'classifier.6' });
  return { names, flattenChw: { fc1: [512, 7, 7] } };
}

/** The state-dict entries each layer class reads, keyed by the layer's own weight suffix. */
function plan(layer: tfl.layers.Layer, mapping: StateDictMapping): Array<{ suffix: string; key: string; kind: string }> {
  const cls = layer.getClassName();
  const n = mapping.names?.[layer.name] ?? layer.name;
  if (cls === 'Conv2D') return [{ suffix: 'kernel', key: `${n}.weight`, kind: 'conv' }, { suffix: 'bias', key: `${n}.bias`, kind: 'vector' }];
  if (cls === 'DepthwiseConv2D') return [{ suffix: 'depthwise_kernel', key: `${n}.weight`, kind: 'depthwise' }, { suffix: 'bias', key: `${n}.bias`, kind: 'vector' }];
  if (cls === 'Dense') return [{ suffix: 'kernel', key: `${n}.weight`, kind: 'dense' }, { suffix: 'bias', key: `${n}.bias`, kind: 'vector' }];
  if (cls === 'BatchNormalization') {
    return [
      { suffix: 'gamma', key: `${n}.weight`, kind: 'vector' }, { suffix: 'beta', key: `${n}.bias`, kind: 'vector' },
      { suffix: 'moving_mean', key: `${n}.running_mean`, kind: 'vector' }, { suffix: 'moving_variance', key: `${n}.running_var`, kind: 'vector' },
    ];
  }
  return [];
}

/**
 * Loads a PyTorch state dict into `model` (a zoo model in torchvision layout).
 * @throws E_MODEL_TOPOLOGY (strict) listing missing, unexpected and wrongly shaped entries by name.
 */
export function loadTorchStateDict(model: tfl.LayersModel, stateDict: Map<string, SafeTensor>, options: { strict?: boolean; mapping?: StateDictMapping } = {}): WeightCopyReport {
  const mapping = options.mapping ?? {};
  const strict = options.strict ?? true;
  const report: WeightCopyReport = { copied: [], missing: [], unexpected: [], mismatched: [] };
  const used = new Set<string>();
  const writes: Array<[tfl.LayerVariable, tf.Tensor]> = [];
  for (const layer of model.layers) {
    for (const w of layer.weights) {
      const suffix = weightSuffix(w);
      const entry = plan(layer, mapping).find((p) => p.suffix === suffix);
      if (entry === undefined) {
        report.missing.push(`${layer.name}/${suffix} (no PyTorch counterpart for ${layer.getClassName()})`);
        continue;
      }
      const t = stateDict.get(entry.key);
      if (t === undefined) {
        report.missing.push(entry.key);
        continue;
      }
      used.add(entry.key);
      const chw = entry.kind === 'dense' ? mapping.flattenChw?.[layer.name] : undefined;
      let value = chw !== undefined && t.shape.length === 2 && t.shape[1] === chw[0] * chw[1] * chw[2]
        ? tf.tidy(() => tf.reshape(tf.transpose(tf.reshape(tf.tensor(t.data, t.shape, 'float32'), [t.shape[0], ...chw]), [2, 3, 1, 0]), [chw[0] * chw[1] * chw[2], t.shape[0]]))
        : toTf(entry.kind, t);
      if (entry.kind === 'depthwise') {
        const [kh, kw, c, m] = w.shape as number[];
        const v = value;
        value = tf.tidy(() => tf.transpose(tf.reshape(v, [c, m, kh, kw]), [2, 3, 0, 1]));
        v.dispose();
      }
      if (value.shape.join(',') !== (w.shape as number[]).join(',')) {
        report.mismatched.push(`${entry.key}: model ${layer.name}/${suffix} [${w.shape.join(', ')}] vs checkpoint [${t.shape.join(', ')}]`);
        value.dispose();
        continue;
      }
      writes.push([w, value]);
      report.copied.push(entry.key);
    }
  }
  report.unexpected = [...stateDict.keys()].filter((k) => !used.has(k) && !k.endsWith('num_batches_tracked'));
  if (strict) {
    try {
      throwIfMismatched(report, `The state dict does not match the model '${model.name}'.`, 'Use the zoo model of the same architecture and number of classes, or pass { strict: false }.');
    } catch (err) {
      tf.dispose(writes.map(([, v]) => v));
      throw err;
    }
  }
  for (const [w, v] of writes) {
    w.write(v);
    v.dispose();
  }
  return report;
}
