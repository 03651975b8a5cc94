/**
 * Inference-time folding of Conv2D / DepthwiseConv2D → BatchNormalization (→ ReLU / ReLU6) into
 * ONE fused convolution with the BN folded into its weights and bias, as PyTorch's
 * `torch.nn.utils.fusion.fuse_conv_bn_eval` and the TFLite converter do:
 *
 *   scale = gamma / sqrt(movingVariance + eps),  W' = W * scale (per output channel),
 *   b'    = (b - movingMean) * scale + beta,      y = act(conv(x, W') + b')
 *
 * Why: in inference mode BN and the activation are two more full passes over every activation
 * (tfjs-backend-wasm's BatchNorm is a scalar loop): MobileNetV2 at 96 px spent 205 of 428 ms per
 * batch in them; XNNPACK applies bias and clamp inside the convolution for free.
 *
 * Safety: a plan is built per model (pairs whose intermediate outputs have exactly one consumer,
 * inside that model, and are not model outputs), and it is active only while THAT model runs
 * (`call`, `predict`, `predictOnBatch`, `execute`, and transferkit's `runLayers`): a layer shared
 * with another model (e.g. a model cut right after a convolution) computes its stock output there.
 * A run that reads an intermediate output (`runLayers` up to a layer, `execute` of a named tensor)
 * is one more consumer the plan did not see: a chain that the read layer ends early (the read is
 * its convolution, or its BN with an activation after it) is not folded past that layer in that
 * run, so the caller gets the layer's own output (AdaBN reads each BN's *input* this way).
 * Training calls use the plan too, on backends with a fused BN + ReLU/ReLU6 training kernel
 * (webgpu, wasm): `fusedActivationAfter` names the activation that follows a BN, and `passThroughAt` makes
 * it pass the fused output through (`batch_norm.ts`).
 * Folding happens only for calls with `training` not true, BN in inference mode, float32 inputs and
 * no gradient tape recording (TF.js has no gradient for a fused ReLU6). The BN and activation layers
 * then pass the already-final tensor through (a shared-buffer clone). Outputs equal the unfolded
 * ones to float32 rounding (tested).
 */
import * as tf from '@tensorflow/tfjs-core';
import { FoldBatchNorm } from '../kernel_names.js';
import type * as tfl from '@tensorflow/tfjs-layers';
// Type-only: batch_norm.ts imports this module (training-time BN → activation fusion).
import type { BnInternals } from './batch_norm.js';

type Layer = tfl.layers.Layer;
type Kwargs = Record<string, unknown>;
type Callable = (inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs) => tf.Tensor | tf.Tensor[];
type FusedActivation = 'linear' | 'relu' | 'relu6';

interface Fusion {
  bn: Layer;
  act: Layer | null;
  activation: FusedActivation;
}

interface NodeLike {
  outboundLayer: Layer;
  inboundLayers: Layer[];
}

interface ConvInternals {
  kernel?: tfl.LayerVariable;
  depthwiseKernel?: tfl.LayerVariable;
  bias: tfl.LayerVariable | null;
  strides: number[];
  padding: 'same' | 'valid' | 'causal';
  dataFormat: string;
  dilationRate: number[];
}

const plans = new WeakMap<tfl.LayersModel, Map<Layer, Fusion>>();
const active: (Map<Layer, Fusion> | undefined)[] = [];
/** Tensor → the layer that must return it unchanged (it already holds that layer's result), then the next. */
const passThrough = new WeakMap<tf.Tensor, { layer: Layer; then: Layer | null }>();
const patchedLayers = new WeakSet<Layer>();
const patchedModels = new WeakSet<tfl.LayersModel>();
let enabled = true;
/** Per-model switches (set with a model); they win over the process-wide default. */
const perModel = new WeakMap<tfl.LayersModel, boolean>();

/**
 * Turns inference-time Conv→BatchNorm(→ReLU) folding on or off for `model`, or process-wide (the
 * default for models without their own setting; on unless turned off). Off, every layer computes
 * its stock output; for bit-exact comparisons with unpatched models and A/B timing. Folded outputs
 * equal the unfolded ones to float32 rounding. The same plan drives the training-time BN → ReLU
 * fusion on webgpu and wasm, which off is off too.
 */
export function setInferenceFolding(on: boolean, model?: tfl.LayersModel | { model: tfl.LayersModel }): void {
  if (model !== undefined) perModel.set('model' in model && !('layers' in model) ? model.model : (model as tfl.LayersModel), on);
  else enabled = on;
}

function outboundNodes(layer: Layer): NodeLike[] {
  return (layer as unknown as { outboundNodes: NodeLike[] }).outboundNodes;
}

function inboundCount(layer: Layer): number {
  return (layer as unknown as { inboundNodes: unknown[] }).inboundNodes.length;
}

/** The single consumer of `layer`'s output, if exactly one layer of `inModel` consumes it, once. */
function soleConsumer(layer: Layer, inModel: Set<Layer>, outputs: Set<Layer>): Layer | null {
  const out = outboundNodes(layer);
  if (out.length !== 1 || outputs.has(layer)) return null;
  const next = out[0].outboundLayer;
  if (!inModel.has(next) || inboundCount(next) !== 1 || out[0].inboundLayers.length !== 1) return null;
  return next;
}

function activationOf(layer: Layer): FusedActivation | null {
  const cls = layer.getClassName();
  const config = layer.getConfig() as { maxValue?: number | null; activation?: string };
  if (cls === 'ReLU') {
    if (config.maxValue === null || config.maxValue === undefined) return 'relu';
    return config.maxValue === 6 ? 'relu6' : null;
  }
  if (cls === 'Activation' && (config.activation === 'relu' || config.activation === 'relu6')) return config.activation;
  return null;
}

/** The conv → BN (→ activation) chains of `model` that can be folded. */
function buildPlan(model: tfl.LayersModel): Map<Layer, Fusion> {
  const inModel = new Set(model.layers);
  const outputs = new Set(model.outputs.map((o) => o.sourceLayer as Layer));
  const plan = new Map<Layer, Fusion>();
  for (const layer of model.layers) {
    const cls = layer.getClassName();
    if (cls !== 'Conv2D' && cls !== 'DepthwiseConv2D') continue;
    const conv = layer as unknown as ConvInternals;
    const config = layer.getConfig() as { activation?: string };
    if (inboundCount(layer) !== 1 || config.activation !== 'linear' || conv.dataFormat !== 'channelsLast') continue;
    // tfjs-layers' DepthwiseConv2D ignores its dilation rate: leave such layers to their stock call.
    if (conv.padding === 'causal' || (cls === 'DepthwiseConv2D' && conv.dilationRate.some((d) => d !== 1))) continue;
    const bn = soleConsumer(layer, inModel, outputs);
    if (bn === null || bn.getClassName() !== 'BatchNormalization') continue;
    const bnInt = bn as unknown as BnInternals;
    if (bnInt.axis !== -1 && bnInt.axis !== 3) continue;
    const next = soleConsumer(bn, inModel, outputs);
    const activation = next === null ? null : activationOf(next);
    plan.set(layer, { bn, act: activation === null ? null : next, activation: activation ?? 'linear' });
  }
  return plan;
}

/** The folded convolution of `layer` on `x`, or null when this call must run unfolded. */
function foldedCall(layer: Layer, fusion: Fusion, x: tf.Tensor, kwargs: Kwargs): tf.Tensor | null {
  // With `training` not true the BN layer runs in inference mode whatever its policy.
  if (kwargs.training === true) return null;
  if (x.dtype !== 'float32' || x.rank !== 4 || tf.engine().isTapeOn()) return null;
  const conv = layer as unknown as ConvInternals;
  const bn = fusion.bn as unknown as BnInternals;
  return tf.tidy(() => {
    const strides = conv.strides as [number, number];
    const kernel = (conv.depthwiseKernel ?? (conv.kernel as tfl.LayerVariable)).read() as tf.Tensor4D;
    const [filter, bias] = foldedWeights(kernel, conv, bn);
    if (conv.depthwiseKernel !== undefined) {
      return tf.fused.depthwiseConv2d({ x: x as tf.Tensor4D, filter, strides, pad: conv.padding as 'same' | 'valid', bias, activation: fusion.activation });
    }
    return tf.fused.conv2d({ x: x as tf.Tensor4D, filter, strides, pad: conv.padding as 'same' | 'valid', dilations: conv.dilationRate as [number, number], bias, activation: fusion.activation });
  });
}

/**
 * W · scale and (b − mean) · scale + beta, scale = gamma / sqrt(var + eps), per output channel
 * (a depthwise filter's [C, M] output channels flattened): one kernel where the backend has it
 * (webgpu: one dispatch instead of ~8 per layer and call), else these ops.
 */
function foldedWeights(kernel: tf.Tensor4D, conv: ConvInternals, bn: BnInternals): [tf.Tensor4D, tf.Tensor1D] {
  const mean = bn.movingMean.read();
  const variance = bn.movingVariance.read();
  const gamma = bn.scale ? bn.gamma.read() : undefined;
  const beta = bn.center ? bn.beta.read() : undefined;
  const bias0 = conv.bias !== null ? conv.bias.read() : undefined;
  if (kernel.dtype === 'float32' && tf.getKernel(FoldBatchNorm, tf.getBackend()) !== undefined) {
    const inputs = { filter: kernel, mean, variance, ...(gamma ? { gamma } : {}), ...(beta ? { beta } : {}), ...(bias0 ? { bias: bias0 } : {}) };
    const out = tf.engine().runKernel(FoldBatchNorm, inputs, { epsilon: bn.epsilon }) as tf.Tensor[];
    return [out[0] as tf.Tensor4D, out[1] as tf.Tensor1D];
  }
  const scale = tf.div(gamma ?? tf.onesLike(variance), tf.sqrt(tf.add(variance, bn.epsilon)));
  const bias = tf.add(tf.mul(tf.sub(bias0 ?? tf.zerosLike(variance), mean), scale), beta ?? tf.zerosLike(variance)) as tf.Tensor1D;
  const k = kernel.shape;
  const filter = conv.depthwiseKernel !== undefined ? tf.mul(kernel, tf.reshape(scale, [k[2], k[3]])) : tf.mul(kernel, scale);
  return [filter as tf.Tensor4D, bias];
}

function patchLayer(layer: Layer, wrap: (original: Callable) => Callable): void {
  if (patchedLayers.has(layer)) return;
  const self = layer as unknown as { call: Callable };
  self.call = wrap(self.call.bind(layer) as Callable);
  patchedLayers.add(layer);
}

/** BN and activation layers: return a tensor that already holds their result (shared-buffer clone). */
function passThroughWrap(layer: Layer): (original: Callable) => Callable {
  return (original) => (inputs, kwargs) => {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    const mark = passThrough.get(x);
    if (mark?.layer !== layer) return original(inputs, kwargs);
    // A clone, not x itself: the layers executor disposes each intermediate after its last use.
    const y = tf.clone(x);
    if (mark.then !== null) passThrough.set(y, { layer: mark.then, then: null });
    return y;
  };
}

/**
 * `plan` for a run whose caller reads `layer`'s output: a chain that `layer` ends early would hand
 * the caller the folded chain's final tensor (conv → BN → activation) as `layer`'s output. A chain
 * read at its convolution is left unfolded; one read at its BN folds the BN only (no activation).
 */
function planReading(plan: Map<Layer, Fusion>, layer: Layer): Map<Layer, Fusion> {
  for (const [conv, f] of plan) {
    if (conv !== layer && (f.bn !== layer || f.act === null)) continue;
    const cut = new Map(plan);
    if (conv === layer) cut.delete(conv);
    else cut.set(conv, { bn: f.bn, act: null, activation: 'linear' });
    return cut;
  }
  return plan;
}

/**
 * Training calls: the ReLU / ReLU6 layer that the running model's plan puts right after the BN
 * layer `bn` (its sole consumer), so BN + activation can run as one kernel where the backend has
 * it (webgpu, wasm). Null outside a model's run, with folding off, or when the plan has none.
 */
export function fusedActivationAfter(bn: Layer): { layer: Layer; max: number } | null {
  const plan = active[active.length - 1];
  if (plan === undefined) return null;
  for (const f of plan.values()) if (f.bn === bn && f.act !== null) return { layer: f.act, max: f.activation === 'relu6' ? 6 : Infinity };
  return null;
}

/** Marks `y` as already holding `layer`'s output: that (plan-patched) layer passes it through. */
export function passThroughAt(y: tf.Tensor, layer: Layer): void {
  passThrough.set(y, { layer, then: null });
}

/**
 * Runs `fn` with `model`'s folding plan active. `reads`: intermediate layers whose own outputs the
 * caller takes (a run that stops there); chains they end early are not folded past them.
 */
export function withFoldPlan<T>(model: tfl.LayersModel, fn: () => T, reads: readonly Layer[] = []): T {
  let plan = (perModel.get(model) ?? enabled) ? plans.get(model) : undefined;
  if (plan !== undefined) for (const layer of reads) plan = planReading(plan, layer);
  active.push(plan);
  try {
    return fn();
  } finally {
    active.pop();
  }
}

/**
 * Enables inference-time Conv→BN(→ReLU) folding for `model` (idempotent; a no-op for models
 * without such chains). Layers keep their classes, weights and serialised configs.
 */
export function foldBatchNormForInference(model: tfl.LayersModel): void {
  const plan = buildPlan(model);
  plans.set(model, plan);
  for (const [conv, fusion] of plan) {
    patchLayer(conv, (original) => (inputs, kwargs) => {
      const f = active[active.length - 1]?.get(conv);
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      const y = f === undefined ? null : foldedCall(conv, f, x, kwargs);
      if (y === null) return original(inputs, kwargs);
      passThrough.set(y, { layer: (f as Fusion).bn, then: (f as Fusion).act });
      return y;
    });
    patchLayer(fusion.bn, passThroughWrap(fusion.bn));
    if (fusion.act !== null) patchLayer(fusion.act, passThroughWrap(fusion.act));
  }
  if (plan.size === 0 || patchedModels.has(model)) return;
  patchedModels.add(model);
  const m = model as unknown as Record<'call' | 'predict' | 'predictOnBatch' | 'execute', (...args: unknown[]) => unknown>;
  for (const name of ['call', 'predict', 'predictOnBatch'] as const) {
    const original = m[name].bind(model);
    m[name] = (...args: unknown[]) => withFoldPlan(model, () => original(...args));
  }
  // execute(inputs, names) may ask for intermediate tensors: their layers are read.
  const execute = m.execute.bind(model);
  const symbolic = model as unknown as { retrieveSymbolicTensors(names: string[]): tfl.SymbolicTensor[] };
  m.execute = (inputs: unknown, outputs: unknown) => {
    const names = (Array.isArray(outputs) ? outputs : [outputs]) as string[];
    const reads = symbolic.retrieveSymbolicTensors(names).map((t) => t.sourceLayer as Layer);
    return withFoldPlan(model, () => execute(inputs, outputs), reads);
  };
}
