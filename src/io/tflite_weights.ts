/**
 * TFLite weights onto a Keras-layout model (a zoo architecture): every weighted TFLite op
 * (CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED) is matched to the model layer its tensor names
 * carry — the TFLite converter keeps the Keras names, `mobilenetv2_1.00_224/block_1_expand/Conv2D`
 * — its weights dequantized (`tflite.ts`) and transposed to Keras' layout, then written by name
 * through the same strict copy as the .h5 and .pth readers.
 *
 * BatchNorm: the converter folds every BatchNorm into the convolution before it (the scale into
 * the kernel, the shift into the bias), so the file holds no BN parameters. A model layer followed
 * by a BatchNormalization gets the folded kernel and an identity BatchNorm carrying the folded
 * bias — gamma 1, beta = bias, moving mean 0, moving variance 1 − epsilon — which computes
 * exactly conv + bias in inference mode. Keep such a model's BatchNorm frozen when fine-tuning:
 * training-mode statistics would renormalise activations whose scale the folding already fixed.
 *
 * Strict as the other readers: an op the mapper does not know, a weight tensor that names no model
 * layer (or several), a float constant feeding an op other than a weighted one, or a model weight
 * the file does not fill is `E_MODEL_TOPOLOGY` / `E_IO_FORMAT` listing them.
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { TransferKitError } from '../errors.js';
import { dequantizeTensor, type TfliteGraph, type TfliteTensor } from './tflite.js';
import type { NamedArrays } from './weights_by_name.js';

/** Ops with weights, the Keras layer class each becomes, and how its kernel is laid out. */
const WEIGHTED: Readonly<Record<string, string>> = { CONV_2D: 'Conv2D', DEPTHWISE_CONV_2D: 'DepthwiseConv2D', FULLY_CONNECTED: 'Dense' };

/**
 * Ops without weights of their own that the zoo architectures compile to. Their constant inputs
 * are shapes, paddings and axes (integers) or quantization plumbing, never parameters.
 */
const PLUMBING = new Set([
  'QUANTIZE', 'DEQUANTIZE', 'PAD', 'PADV2', 'ADD', 'MUL', 'SUB', 'MEAN', 'SOFTMAX', 'RESHAPE', 'SQUEEZE', 'RELU', 'RELU6',
  'LOGISTIC', 'HARD_SWISH', 'TANH', 'AVERAGE_POOL_2D', 'MAX_POOL_2D', 'CONCATENATION', 'LEAKY_RELU',
]);

/** Options of {@link tfliteToKeras}. */
export interface TfliteMapOptions {
  /** Layers of the file the model was built without (a classifier, for `includeTop: false`). */
  dropLayers?: (layer: string) => boolean;
}

interface LayerInfo {
  cls: string;
  /** The BatchNormalization that alone consumes this layer's output, if any. */
  bnAfter: tfl.layers.Layer | null;
  layer: tfl.layers.Layer;
}

function describeLayers(model: tfl.LayersModel): Map<string, LayerInfo> {
  type NodeLike = { outboundLayer: tfl.layers.Layer; inboundLayers: tfl.layers.Layer[] };
  const out = new Map<string, LayerInfo>();
  for (const layer of model.layers) {
    const next = (layer as unknown as { outboundNodes: NodeLike[] }).outboundNodes;
    const bn = next.length === 1 && next[0].outboundLayer.getClassName() === 'BatchNormalization' && next[0].inboundLayers.length === 1 ? next[0].outboundLayer : null;
    out.set(layer.name, { cls: layer.getClassName(), bnAfter: bn, layer });
  }
  return out;
}

/** Layer names a tensor name mentions: `scope/<layer>/<op>` segments, `;`-joined by the converter. */
function mentionedLayers(name: string): string[] {
  const found: string[] = [];
  for (const part of name.split(';')) {
    const segs = part.split('/');
    // The Keras layer is the segment after the model's scope; keep every segment so that
    // nested scopes (`model/block/conv/Conv2D`) still match a layer name.
    for (const s of segs.slice(0, -1)) if (s !== '' && !found.includes(s)) found.push(s);
  }
  return found;
}

/** The tensor holding the constant behind `index`: itself, or the input of the DEQUANTIZE that produced it. */
function constantBehind(graph: TfliteGraph, index: number, producers: Map<number, { op: string; inputs: number[] }>): TfliteTensor | null {
  if (index < 0) return null;
  const t = graph.tensors[index];
  if (t.bytes !== null) return t;
  const p = producers.get(index);
  if (p !== undefined && p.op === 'DEQUANTIZE' && p.inputs.length > 0) {
    const src = graph.tensors[p.inputs[0]];
    return src.bytes !== null ? src : null;
  }
  return null;
}

/** A TFLite kernel as the Keras layer's kernel: [O,H,W,I] → [H,W,I,O]; depthwise [1,H,W,C·M] → [H,W,C,M]; dense [O,I] → [I,O]. */
function kerasKernel(op: string, t: TfliteTensor, values: Float32Array, inChannels: number): { shape: number[]; data: Float32Array } {
  const s = t.shape;
  if (op === 'DEPTHWISE_CONV_2D') {
    // TFLite's depthwise layout [1, H, W, C*M] is already Keras' [H, W, C, M] in memory.
    const mult = s[3] / inChannels;
    return { shape: [s[1], s[2], inChannels, mult], data: values };
  }
  if (op === 'FULLY_CONNECTED') {
    const [o, i] = s;
    const data = new Float32Array(values.length);
    for (let r = 0; r < o; r++) for (let c = 0; c < i; c++) data[c * o + r] = values[r * i + c];
    return { shape: [i, o], data };
  }
  const [o, h, w, i] = s;
  const data = new Float32Array(values.length);
  const inner = h * w * i;
  for (let a = 0; a < o; a++) for (let b = 0; b < inner; b++) data[b * o + a] = values[a * inner + b];
  return { shape: [h, w, i, o], data };
}

/**
 * The weights of `graph` as Keras-named arrays for `model` (`<layer>/<weight>` keys, Keras
 * layouts), BatchNorm folded into identity-plus-bias as described above.
 */
export function tfliteToKeras(graph: TfliteGraph, model: tfl.LayersModel, options: TfliteMapOptions = {}): NamedArrays {
  const src = graph.source;
  const unknown = [...new Set(graph.operators.map((o) => o.op).filter((op) => WEIGHTED[op] === undefined && !PLUMBING.has(op)))];
  if (unknown.length > 0) {
    throw new TransferKitError('E_NOT_IMPLEMENTED', `${src}: TFLite ops transferkit does not map onto a model: ${unknown.join(', ')}. Supported: ${[...Object.keys(WEIGHTED), ...PLUMBING].join(', ')}. Load the weights from the Keras (.h5/.keras) or PyTorch export of the model instead.`);
  }
  const layers = describeLayers(model);
  const producers = new Map<number, { op: string; inputs: number[] }>();
  for (const o of graph.operators) for (const out of o.outputs) producers.set(out, o);
  const out: NamedArrays = new Map();
  const assigned = new Map<string, string>();
  const unmapped: string[] = [];
  const claimed = new Set<number>();
  const drop = options.dropLayers ?? (() => false);

  for (const o of graph.operators) {
    const cls = WEIGHTED[o.op];
    if (cls === undefined) continue;
    const kernel = constantBehind(graph, o.inputs[1] ?? -1, producers);
    const bias = constantBehind(graph, o.inputs[2] ?? -1, producers);
    if (kernel === null) {
      unmapped.push(`${o.op} with a non-constant weight input '${graph.tensors[o.inputs[1]]?.name ?? '?'}'`);
      continue;
    }
    claimed.add(kernel.index);
    if (bias !== null) claimed.add(bias.index);
    // The layer: one the kernel's name mentions with the op's Keras class, not yet filled.
    const candidates = mentionedLayers(kernel.name).filter((n) => layers.get(n)?.cls === cls && !assigned.has(n));
    let layerName = candidates.length === 1 ? candidates[0] : null;
    if (candidates.length > 1) {
      // The converter names a constant after every op that shared it while folding, so a kernel's
      // name can mention a second layer. The layer's own BatchNorm, its bias and its output name
      // the right one: score each candidate by those and keep a unique best.
      const kernelNames = new Set(mentionedLayers(kernel.name));
      const biasNames = new Set(mentionedLayers(bias?.name ?? ''));
      const outNames = new Set(o.outputs.flatMap((i) => mentionedLayers(graph.tensors[i].name)));
      const score = (n: string) => {
        const bn = layers.get(n)?.bnAfter?.name ?? '';
        return Number(kernelNames.has(bn)) + Number(biasNames.has(n) || biasNames.has(bn)) + Number(outNames.has(n) || outNames.has(bn));
      };
      const best = Math.max(...candidates.map(score));
      const top = candidates.filter((n) => score(n) === best);
      layerName = best > 0 && top.length === 1 ? top[0] : null;
    }
    if (layerName === null) {
      // Not in the model: the classifier of a model built without its top, or a real mismatch.
      const named = mentionedLayers(kernel.name).filter((n) => !layers.has(n) && drop(n));
      if (candidates.length === 0 && named.length > 0) continue;
      unmapped.push(candidates.length > 1 ? `'${kernel.name}' (${o.op}: could be ${candidates.join(' or ')})` : `'${kernel.name}' (${o.op})`);
      continue;
    }
    assigned.set(layerName, kernel.name);
    const info = layers.get(layerName) as LayerInfo;
    const mult = (info.layer.getConfig() as { depthMultiplier?: number }).depthMultiplier ?? 1;
    const inChannels = o.op === 'DEPTHWISE_CONV_2D' ? kernel.shape[3] / mult : 0;
    const k = kerasKernel(o.op, kernel, dequantizeTensor(kernel, src), inChannels);
    out.set(`${layerName}/${o.op === 'DEPTHWISE_CONV_2D' ? 'depthwise_kernel' : 'kernel'}`, k);
    const b = bias === null ? null : dequantizeTensor(bias, src);
    const channels = k.shape[k.shape.length - 1] * (o.op === 'DEPTHWISE_CONV_2D' ? k.shape[2] : 1);
    if (b !== null && b.length !== channels) unmapped.push(`'${bias?.name}' (bias of ${layerName}: ${b.length} values for ${channels} channels)`);
    const hasBias = info.layer.weights.some((w) => /bias(_\d+)?$/.test(w.originalName));
    if (info.bnAfter !== null) {
      // Folded BatchNorm: identity statistics, the folded shift as beta (see the module comment).
      const bn = info.bnAfter;
      const eps = (bn.getConfig() as { epsilon: number }).epsilon;
      const shift = b ?? new Float32Array(channels);
      const set = (w: string, v: Float32Array) => out.set(`${bn.name}/${w}`, { shape: [channels], data: v });
      set('gamma', new Float32Array(channels).fill(1));
      set('beta', shift);
      set('moving_mean', new Float32Array(channels));
      set('moving_variance', new Float32Array(channels).fill(1 - eps));
      if (hasBias) out.set(`${layerName}/bias`, { shape: [channels], data: new Float32Array(channels) });
    } else if (hasBias) out.set(`${layerName}/bias`, { shape: [channels], data: b ?? new Float32Array(channels) });
    else if (b !== null && b.some((v) => v !== 0)) unmapped.push(`'${bias?.name}' (bias of ${layerName}, which has none and no BatchNorm after it)`);
  }
  // Float constants the weighted ops did not take are parameters with nowhere to go (an unfolded
  // BatchNorm as MUL/ADD, a layer-scale, ...): loading without them would change the network.
  for (const o of graph.operators) {
    if (WEIGHTED[o.op] !== undefined) continue;
    for (const i of o.inputs) {
      const t = i >= 0 ? graph.tensors[i] : null;
      if (t === null || t.bytes === null || claimed.has(t.index) || o.op === 'DEQUANTIZE') continue;
      if ((t.dtype === 'float32' || t.dtype === 'float16') && t.shape.reduce((a, d) => a * d, 1) > 1) unmapped.push(`'${t.name}' (float constant [${t.shape.join(', ')}] of ${o.op})`);
    }
  }
  if (unmapped.length > 0) {
    throw new TransferKitError('E_MODEL_TOPOLOGY', `${src} does not map onto the model '${model.name}': ${unmapped.length} tensor(s) unmapped: ${unmapped.slice(0, 8).join('; ')}${unmapped.length > 8 ? '; ...' : ''}. transferkit matches TFLite ops to layers by the Keras layer names the converter keeps; load the weights into the architecture they were exported from.`);
  }
  return out;
}
