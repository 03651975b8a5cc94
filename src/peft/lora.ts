/**
 * LoRA (Hu et al. 2021, https://arxiv.org/abs/2106.09685) on the Dense layers of any model, as
 * PEFT's `LoraConfig` / keras_hub's `enable_lora`: for a targeted layer with frozen kernel W,
 *   y = act(x W + b + dropout(x) A B · alpha / r)
 * with A `[in, r]` initialised as PEFT (Kaiming-uniform, a = sqrt(5): U(-1/sqrt(in), 1/sqrt(in)))
 * and B `[r, out]` zeros, so the adapted model starts exactly equal to the base model.
 *
 * The adapters live on the Dense layers themselves (the instance's `call` is patched and two
 * weights `lora_A`, `lora_B` are added), so nothing in the graph moves: layer names, freezing and
 * weight loading keep working. Everything else is frozen except `trainable` layers (PEFT's
 * `modules_to_save`; by default a text model's new head). `mergeLoRA` folds `A B · alpha / r`
 * into W and removes the adapters, for export.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { TransferKitError } from '../errors.js';
import { nextDropoutSeed } from '../layers/seeded_dropout.js';

/** Options of {@link applyLoRA}. */
export interface LoRAOptions {
  /** Dense layers to adapt: a RegExp on layer names or a list of names (PEFT `target_modules`). Default `/query|value/` (PEFT's BERT default). */
  targets?: RegExp | string[];
  /** Rank r (default 8, PEFT's). */
  rank?: number;
  /** alpha; the update is scaled by alpha / r (default 8, PEFT's). */
  alpha?: number;
  /** Dropout on the adapter path's input while training (default 0). */
  dropout?: number;
  /** Layers kept fully trainable (PEFT `modules_to_save`): a RegExp or names; default: `headLayers` of a text/pretrained model, else none. */
  trainable?: RegExp | string[];
  /** Seed of A's initialisation (default 0). */
  seed?: number;
}

/** What {@link applyLoRA} did (PEFT's `print_trainable_parameters`). */
export interface LoRAReport {
  /** Adapted layer names. */
  adapted: string[];
  trainableParams: number;
  totalParams: number;
  /** `100 * trainable / total`. */
  trainablePercent: number;
}

interface LoRAState {
  a: tfl.LayerVariable;
  b: tfl.LayerVariable;
  scaling: number;
  call: (inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>) => tf.Tensor | tf.Tensor[];
  kernelTrainable: boolean;
  biasTrainable: boolean;
}

type DenseInternals = {
  kernel: tfl.LayerVariable;
  bias: tfl.LayerVariable | null;
  activation: { apply(x: tf.Tensor): tf.Tensor };
  call: LoRAState['call'];
  _trainableWeights: tfl.LayerVariable[];
};

const states = new WeakMap<tfl.layers.Layer, LoRAState>();

type Target = tfl.LayersModel | { model: tfl.LayersModel; headLayers?: string[] };

function modelOf(t: Target): tfl.LayersModel {
  return t instanceof tfl.LayersModel ? t : t.model;
}

function matcher(spec: RegExp | string[]): (name: string) => boolean {
  return spec instanceof RegExp ? (n) => spec.test(n) : (n) => spec.includes(n);
}

/** True when `layer` carries LoRA adapters. */
export function hasLoRA(layer: tfl.layers.Layer): boolean {
  return states.has(layer);
}

/** Counts of trainable and all parameters of `model`. */
function counts(model: tfl.LayersModel): { trainable: number; total: number } {
  const size = (ws: tfl.LayerVariable[]): number => ws.reduce((n, w) => n + (w.shape as number[]).reduce((a, b) => a * b, 1), 0);
  return { trainable: size(model.trainableWeights), total: size(model.weights) };
}

/**
 * Freezes `target` and adds trainable low-rank adapters to the matching Dense layers.
 * @example
 * ```ts
 * const r = applyLoRA(tm, { targets: /query|value/, rank: 8, alpha: 16 });
 * console.log(`${r.trainablePercent.toFixed(2)} % trainable`);
 * await fineTuneText(tm, train, { learningRate: 5e-4 });
 * mergeLoRA(tm);
 * ```
 */
export function applyLoRA(target: Target, options: LoRAOptions = {}): LoRAReport {
  const model = modelOf(target);
  const rank = options.rank ?? 8;
  const alpha = options.alpha ?? 8;
  const dropout = options.dropout ?? 0;
  if (!Number.isInteger(rank) || rank < 1) throw new TransferKitError('E_BAD_OPTION', `applyLoRA: rank must be a positive integer. Received: rank=${rank}.`);
  if (!(alpha > 0)) throw new TransferKitError('E_BAD_OPTION', `applyLoRA: alpha must be > 0. Received: alpha=${alpha}.`);
  if (!(dropout >= 0 && dropout < 1)) throw new TransferKitError('E_BAD_OPTION', `applyLoRA: dropout must be in [0, 1). Received: dropout=${dropout}.`);
  const isTarget = matcher(options.targets ?? /query|value/);
  const keep = options.trainable !== undefined ? matcher(options.trainable) : (n: string) => !(target instanceof tfl.LayersModel) && (target.headLayers ?? []).includes(n);
  const chosen = model.layers.filter((l) => l.getClassName() === 'Dense' && isTarget(l.name));
  if (chosen.length === 0) {
    const dense = model.layers.filter((l) => l.getClassName() === 'Dense').map((l) => l.name);
    throw new TransferKitError('E_LAYER_NOT_FOUND', `applyLoRA: no Dense layer matches targets ${String(options.targets ?? /query|value/)}. Dense layers: ${dense.slice(0, 10).join(', ')}${dense.length > 10 ? ', ...' : ''}.`);
  }
  const already = chosen.find((l) => states.has(l));
  if (already !== undefined) throw new TransferKitError('E_BAD_OPTION', `applyLoRA: layer '${already.name}' already has LoRA adapters. Call mergeLoRA first.`);
  for (const layer of model.layers) layer.trainable = keep(layer.name);
  chosen.forEach((layer, i) => {
    const d = layer as unknown as DenseInternals;
    const [fanIn, units] = d.kernel.shape as number[];
    const bound = 1 / Math.sqrt(fanIn);
    const seed = (options.seed ?? 0) * 1000 + i + 1; // never 0: TF.js treats a 0 seed as none
    const add = (layer as unknown as { addWeight(name: string, shape: number[], dtype: 'float32', init: unknown): tfl.LayerVariable }).addWeight.bind(layer);
    const a = add(`${layer.name}/lora_A`, [fanIn, rank], 'float32', tfl.initializers.zeros());
    const init = tf.randomUniform([fanIn, rank], -bound, bound, 'float32', seed);
    a.write(init);
    init.dispose();
    const state: LoRAState = {
      a,
      b: add(`${layer.name}/lora_B`, [rank, units], 'float32', tfl.initializers.zeros()),
      scaling: alpha / rank,
      call: d.call.bind(layer) as LoRAState['call'],
      kernelTrainable: d.kernel.trainable,
      biasTrainable: d.bias?.trainable ?? false,
    };
    layer.trainable = true;
    d.kernel.trainable = false;
    if (d.bias !== null) d.bias.trainable = false;
    d.call = (inputs, kwargs) =>
      tf.tidy(() => {
        const x = Array.isArray(inputs) ? inputs[0] : inputs;
        const shape = x.shape;
        const x2 = tf.reshape(x, [-1, fanIn]) as tf.Tensor2D;
        let y: tf.Tensor = tf.matMul(x2, d.kernel.read() as tf.Tensor2D);
        if (d.bias !== null) y = tf.add(y, d.bias.read());
        const xa = kwargs.training === true && dropout > 0 ? tf.dropout(x2, dropout, undefined, nextDropoutSeed(layer)) : x2;
        y = tf.add(y, tf.mul(tf.matMul(tf.matMul(xa, state.a.read() as tf.Tensor2D), state.b.read() as tf.Tensor2D), state.scaling));
        return d.activation.apply(tf.reshape(y, [...shape.slice(0, -1), units]));
      });
    states.set(layer, state);
  });
  const c = counts(model);
  return { adapted: chosen.map((l) => l.name), trainableParams: c.trainable, totalParams: c.total, trainablePercent: (100 * c.trainable) / c.total };
}

/**
 * Folds every adapter of `target` into its kernel (`W += A B · alpha / r`), removes the adapters
 * and restores the layers' stock `call`. The merged model computes what the adapted one did.
 * @returns the merged layer names.
 */
export function mergeLoRA(target: Target): string[] {
  const model = modelOf(target);
  const merged: string[] = [];
  for (const layer of model.layers) {
    const s = states.get(layer);
    if (s === undefined) continue;
    const d = layer as unknown as DenseInternals;
    const w = tf.tidy(() => tf.add(d.kernel.read(), tf.mul(tf.matMul(s.a.read() as tf.Tensor2D, s.b.read() as tf.Tensor2D), s.scaling)));
    d.kernel.write(w);
    w.dispose();
    d._trainableWeights = d._trainableWeights.filter((v) => v !== s.a && v !== s.b);
    s.a.dispose();
    s.b.dispose();
    d.call = s.call;
    d.kernel.trainable = s.kernelTrainable;
    if (d.bias !== null) d.bias.trainable = s.biasTrainable;
    states.delete(layer);
    merged.push(layer.name);
  }
  return merged;
}

/**
 * `A B · alpha / r` of an adapted layer (the kernel's pending update), or null. Export uses it to
 * write merged kernels without touching the model.
 */
export function loraDelta(layer: tfl.layers.Layer): tf.Tensor2D | null {
  const s = states.get(layer);
  if (s === undefined) return null;
  return tf.tidy(() => tf.mul(tf.matMul(s.a.read() as tf.Tensor2D, s.b.read() as tf.Tensor2D), s.scaling) as tf.Tensor2D);
}
