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
 * Strict as the other readers: an op the mapper does not know is `E_NOT_IMPLEMENTED`; a weight
 * tensor that names no model layer (or several), one whose shape does not fit its layer, a float
 * or quantized constant feeding an op other than a weighted one (parameters the model has no place
 * for), or a model weight the file does not fill is `E_MODEL_TOPOLOGY` listing them; integer
 * weights without quantization parameters are `E_IO_FORMAT`. A BatchNorm counts as folded only
 * after a layer without an activation of its own.
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { TransferKitError } from '../errors.js';
import { dequantizeTensor, type TfliteGraph, type TfliteTensor } from './tflite.js';
import { weightSuffix, type NamedArrays } from './weights_by_name.js';

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
  /**
   * Layers of the file the model was built without (a classifier, for `includeTop: false`): a
   * test of the layer an op is about and the op (`FULLY_CONNECTED`, ...). Ops it accepts are
   * skipped; every other op must find its layer.
   */
  dropLayers?: (layer: string, op: string) => boolean;
}

interface LayerInfo {
  cls: string;
  /**
   * The BatchNormalization that alone consumes this layer's output, if the layer has no
   * activation of its own (only then can the converter have folded the BatchNorm into it).
   */
  bnAfter: tfl.layers.Layer | null;
  layer: tfl.layers.Layer;
}

function describeLayers(model: tfl.LayersModel): Map<string, LayerInfo> {
  type NodeLike = { outboundLayer: tfl.layers.Layer; inboundLayers: tfl.layers.Layer[] };
  const out = new Map<string, LayerInfo>();
  for (const layer of model.layers) {
    const next = (layer as unknown as { outboundNodes: NodeLike[] }).outboundNodes;
    const activation = (layer.getConfig() as { activation?: string }).activation ?? 'linear';
    const bn = activation === 'linear' && next.length === 1 && next[0].outboundLayer.getClassName() === 'BatchNormalization' && next[0].inboundLayers.length === 1 ? next[0].outboundLayer : null;
    out.set(layer.name, { cls: layer.getClassName(), bnAfter: bn, layer });
  }
  return out;
}

/** At most this many scope segments of one tensor name are looked at (hostile names can hold millions). */
const MAX_SEGMENTS = 256;

/**
 * Layer names a tensor name mentions (`scope/<layer>/<op>` parts, `;`-joined by the converter):
 * `all` every scope segment (nested scopes such as `model/block/conv/Conv2D` still match), `direct`
 * the segment right before each op name — the layer the part is about, never the model's scope.
 */
function mentions(name: string): { all: Set<string>; direct: Set<string> } {
  const all = new Set<string>();
  const direct = new Set<string>();
  let seen = 0;
  for (const part of name.split(';', MAX_SEGMENTS)) {
    const segs = part.split('/', MAX_SEGMENTS);
    if (segs.length >= 2 && segs[segs.length - 2] !== '') direct.add(segs[segs.length - 2]);
    for (const seg of segs.slice(0, -1)) {
      if (seg !== '') all.add(seg);
      if (++seen > MAX_SEGMENTS) return { all, direct };
    }
  }
  return { all, direct };
}

/** The tensor holding the constant behind `index`: itself, or the input of the DEQUANTIZE that produced it. */
function constantBehind(graph: TfliteGraph, index: number, producers: Map<number, { op: string; inputs: number[] }>): TfliteTensor | null {
  if (index < 0) return null;
  const t = graph.tensors[index];
  if (t.bytes !== null) return t;
  const p = producers.get(index);
  const from = p !== undefined && p.op === 'DEQUANTIZE' ? (p.inputs[0] ?? -1) : -1;
  return from >= 0 && graph.tensors[from].bytes !== null ? graph.tensors[from] : null;
}

/** The TFLite layout of a Keras kernel shape: conv [H,W,I,O] → [O,H,W,I]; depthwise [H,W,C,M] → [1,H,W,C·M]; dense [I,O] → [O,I]. */
function tfliteShape(op: string, keras: number[]): number[] {
  if (op === 'DEPTHWISE_CONV_2D') return [1, keras[0], keras[1], keras[2] * keras[3]];
  if (op === 'FULLY_CONNECTED') return [keras[1], keras[0]];
  return [keras[3], keras[0], keras[1], keras[2]];
}

/** A TFLite kernel (shape already checked against `keras`) in the Keras layer's layout. */
function kerasKernel(op: string, values: Float32Array, keras: number[]): { shape: number[]; data: Float32Array } {
  // TFLite's depthwise layout [1, H, W, C*M] (channel c*M + m) is Keras' [H, W, C, M] in memory.
  if (op === 'DEPTHWISE_CONV_2D') return { shape: keras, data: values };
  // Both other layouts put the output channel first: move it last.
  const o = op === 'FULLY_CONNECTED' ? keras[1] : keras[3];
  const inner = values.length / o;
  const data = new Float32Array(values.length);
  for (let a = 0; a < o; a++) for (let b = 0; b < inner; b++) data[b * o + a] = values[a * inner + b];
  return { shape: keras, data };
}

const isFloat = (t: TfliteTensor) => t.dtype === 'float32' || t.dtype === 'float16' || t.dtype === 'float64';
const elements = (t: TfliteTensor) => t.shape.reduce((a, d) => a * d, 1);

/** The weight suffixes (`gamma`, `beta`, ...) a layer has. */
function suffixes(layer: tfl.layers.Layer): Set<string> {
  return new Set(layer.weights.map(weightSuffix));
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
  const cache = new Map<number, { all: Set<string>; direct: Set<string> }>();
  const mentioned = (i: number) => {
    let m = cache.get(i);
    if (m === undefined) cache.set(i, (m = i >= 0 ? mentions(graph.tensors[i].name) : { all: new Set(), direct: new Set() }));
    return m;
  };
  const out: NamedArrays = new Map();
  const assigned = new Set<string>();
  const unmapped: string[] = [];
  const claimed = new Set<number>();
  const drop = options.dropLayers ?? (() => false);
  // Integer weights without a scale would load as raw integers: the file is not a usable export.
  const needScale = (t: TfliteTensor, role: string) => {
    if (!isFloat(t) && t.quantization === null) {
      throw new TransferKitError('E_IO_FORMAT', `${src}: ${role} tensor ${t.index} '${t.name}' is ${t.dtype} without quantization parameters, so its real values are unknown. The file is damaged or not a quantized TFLite export.`);
    }
  };

  for (const o of graph.operators) {
    const cls = WEIGHTED[o.op];
    if (cls === undefined) continue;
    const kernel = constantBehind(graph, o.inputs[1] ?? -1, producers);
    const bias = constantBehind(graph, o.inputs[2] ?? -1, producers);
    if (kernel === null) {
      unmapped.push(`${o.op} with a non-constant weight input '${graph.tensors[o.inputs[1] ?? -1]?.name ?? '?'}'`);
      continue;
    }
    claimed.add(kernel.index);
    if (bias !== null) claimed.add(bias.index);
    // The layer: one the kernel's name mentions with the op's Keras class, not yet filled.
    const k = mentioned(kernel.index);
    const candidates = [...k.all].filter((n) => layers.get(n)?.cls === cls && !assigned.has(n));
    let layerName = candidates.length === 1 ? candidates[0] : null;
    if (candidates.length > 1) {
      // The converter names a constant after every op that shared it while folding, so a kernel's
      // name can mention a second layer. The layer's own BatchNorm, its bias and its output name
      // the right one: score each candidate by those and keep a unique best.
      const biasNames = mentioned(bias?.index ?? -1).all;
      const outNames = new Set(o.outputs.flatMap((i) => [...mentioned(i).all]));
      const score = (n: string) => {
        const bn = layers.get(n)?.bnAfter?.name ?? '';
        return Number(k.all.has(bn)) + Number(biasNames.has(n) || biasNames.has(bn)) + Number(outNames.has(n) || outNames.has(bn));
      };
      const best = Math.max(...candidates.map(score));
      const top = candidates.filter((n) => score(n) === best);
      layerName = best > 0 && top.length === 1 ? top[0] : null;
    }
    if (layerName === null) {
      // A layer the model was built without (the classifier, for includeTop: false) is skipped;
      // anything else is a mismatch.
      const dropped = [...k.direct].some((n) => !layers.has(n) && drop(n, o.op));
      if (candidates.length === 0 && dropped) continue;
      unmapped.push(candidates.length > 1 ? `'${kernel.name}' (${o.op}: could be ${candidates.join(' or ')})` : `'${kernel.name}' (${o.op})`);
      continue;
    }
    assigned.add(layerName);
    const info = layers.get(layerName) as LayerInfo;
    const own = info.layer.weights.find((w) => /(depthwise_)?kernel(_\d+)?$/.test(w.originalName));
    if (own === undefined) {
      unmapped.push(`'${kernel.name}' (${layerName} has no kernel)`);
      continue;
    }
    // Shapes first, so that nothing is decoded for a kernel that cannot fit.
    const want = tfliteShape(o.op, own.shape as number[]);
    if (kernel.shape.join(',') !== want.join(',')) {
      unmapped.push(`'${kernel.name}' (${o.op} [${kernel.shape.join(', ')}] for ${layerName}, which needs [${want.join(', ')}])`);
      continue;
    }
    needScale(kernel, 'weight');
    out.set(`${layerName}/${o.op === 'DEPTHWISE_CONV_2D' ? 'depthwise_kernel' : 'kernel'}`, kerasKernel(o.op, dequantizeTensor(kernel, src), own.shape as number[]));
    const channels = o.op === 'DEPTHWISE_CONV_2D' ? want[3] : want[0];
    if (bias !== null && elements(bias) !== channels) {
      unmapped.push(`'${bias.name}' (bias of ${layerName}: ${elements(bias)} values for ${channels} channels)`);
      continue;
    }
    if (bias !== null) needScale(bias, 'bias');
    const b = bias === null ? null : dequantizeTensor(bias, src);
    const hasBias = suffixes(info.layer).has('bias');
    if (info.bnAfter !== null) {
      // Folded BatchNorm: identity statistics, the folded shift as beta (see the module comment).
      const bn = info.bnAfter;
      const has = suffixes(bn);
      const eps = (bn.getConfig() as { epsilon: number }).epsilon;
      const set = (w: string, v: Float32Array) => out.set(`${bn.name}/${w}`, { shape: [channels], data: v });
      if (has.has('gamma')) set('gamma', new Float32Array(channels).fill(1));
      if (has.has('beta')) set('beta', b ?? new Float32Array(channels));
      else if (b !== null && b.some((v) => v !== 0)) unmapped.push(`'${bias?.name}' (shift of ${layerName}, whose BatchNorm ${bn.name} has no beta)`);
      set('moving_mean', new Float32Array(channels));
      set('moving_variance', new Float32Array(channels).fill(1 - eps));
      if (hasBias) out.set(`${layerName}/bias`, { shape: [channels], data: new Float32Array(channels) });
    } else if (hasBias) out.set(`${layerName}/bias`, { shape: [channels], data: b ?? new Float32Array(channels) });
    else if (b !== null && b.some((v) => v !== 0)) unmapped.push(`'${bias?.name}' (bias of ${layerName}, which has none and no BatchNorm after it)`);
  }
  // Constants the weighted ops did not take are parameters with nowhere to go (an unfolded
  // BatchNorm as MUL/ADD, a layer scale, ...): loading without them would change the network.
  // Float or quantized, seen through DEQUANTIZE; unquantized integers are shapes, paddings and axes.
  for (const o of graph.operators) {
    if (WEIGHTED[o.op] !== undefined || o.op === 'DEQUANTIZE') continue;
    for (const i of o.inputs) {
      const t = constantBehind(graph, i, producers);
      if (t === null || claimed.has(t.index) || elements(t) <= 1) continue;
      if (isFloat(t) || t.quantization !== null) unmapped.push(`'${t.name}' (${t.dtype} constant [${t.shape.join(', ')}] of ${o.op})`);
    }
  }
  if (unmapped.length > 0) {
    throw new TransferKitError('E_MODEL_TOPOLOGY', `${src} does not map onto the model '${model.name}': ${unmapped.length} tensor(s) unmapped: ${unmapped.slice(0, 8).join('; ')}${unmapped.length > 8 ? '; ...' : ''}. transferkit matches TFLite ops to layers by the Keras layer names the converter keeps; load the weights into the architecture they were exported from.`);
  }
  return out;
}
