/**
 * Rewrites a Keras/TF.js model topology so that nested models (a Sequential inside a
 * Sequential, a functional `Model` used as a layer) are inlined into ONE functional graph.
 *
 * Why: Teachable Machine, and many Keras exports, nest the whole backbone as a single layer
 * (`model2`), which hides `block_13_expand` and friends from `getLayer`, freezing by name and
 * head surgery. Flattening the *configuration* (rather than re-applying live layers) keeps every
 * layer with one inbound node and its checkpoint name, so weights load by name unchanged.
 *
 * A topology comes from a downloaded file, so it is checked before anything is built
 * ({@link checkModelConfig}, also used for the `config.json` of `.keras` archives): nesting depth
 * (`maxNestingDepth`), the number of layers (at most {@link MAX_LAYERS}), layer sizes (`units`,
 * `filters`, `kernel_size`, ... positive integers) and the elements of every kernel a layer would
 * create (`maxTensorElements`), so that 100,000 layers or `units: 1e9` end in a coded error
 * instead of allocating until the process dies.
 */
import { TransferKitError } from '../errors.js';
import { jsonDepth } from '../utils/json.js';
import { checkLimit, inputLimits } from '../utils/limits.js';

type Json = Record<string, unknown>;
type Ref = [string, number, number];
type InboundRef = [string, number, number, Json?];

interface LayerEntry {
  class_name: string;
  config: Json;
  name: string;
  inbound_nodes: InboundRef[][];
}

const CONTAINERS = new Set(['Sequential', 'Model', 'Functional']);

function layerName(l: { config: Json; name?: string }): string {
  return (l.name ?? (l.config.name as string)) as string;
}

/**
 * Most layers in one model, nested models included. The largest Keras Applications model
 * (EfficientNetV2-L) has ~1,000 layers; a config with more than this is corrupt or hostile.
 */
export const MAX_LAYERS = 10_000;

/** Most layer applications while inlining nested models (a model nested in a model, each applied many times, multiplies). */
const MAX_INLINED = 10 * MAX_LAYERS;

class Flattener {
  readonly layers: LayerEntry[] = [];
  private inlined = 0;
  /** Entry per layer name, with the source config object it came from. */
  private readonly byName = new Map<string, { entry: LayerEntry; source: Json }>();

  add(entry: LayerEntry, source: Json = entry.config): void {
    if (this.byName.has(entry.name)) {
      throw new TransferKitError('E_MODEL_TOPOLOGY', `Two layers are named '${entry.name}' once nested models are inlined. Layer names must be unique to be addressable; rename one in the source model.`);
    }
    this.byName.set(entry.name, { entry, source });
    this.layers.push(entry);
  }

  inputLayer(name: string, batchInputShape: unknown, dtype: unknown): Ref {
    this.add({
      class_name: 'InputLayer',
      name,
      config: { name, batch_input_shape: batchInputShape, dtype: dtype ?? 'float32', sparse: false },
      inbound_nodes: [],
    });
    return [name, 0, 0];
  }

  /** Adds a plain layer applied to `inputs`; returns its output ref. */
  plain(l: { class_name: string; config: Json }, inputs: Ref[], kwargs: Json[] = []): Ref {
    if (++this.inlined > MAX_INLINED) {
      throw new TransferKitError('E_LIMIT', `Inlining the nested models of this topology applies layers more than ${MAX_INLINED} times (nested models called many times inside each other multiply). transferkit flattens models of at most ${MAX_LAYERS} layers. The topology is corrupt or hostile; re-export the model without the nesting.`);
    }
    const name = layerName(l);
    const node: InboundRef[] = inputs.map((r, i) => [r[0], r[1], r[2], kwargs[i] ?? {}]);
    const seen = this.byName.get(name);
    if (seen !== undefined && seen.source === l.config) {
      // The same layer object applied again (its nested model is called twice): shared weights,
      // one more inbound node.
      seen.entry.inbound_nodes.push(node);
      return [name, seen.entry.inbound_nodes.length - 1, 0];
    }
    const config = { ...l.config };
    // Only InputLayers declare shapes in a functional graph; a stray batch_input_shape on an
    // inner layer (Sequential exports carry one on their first layer) is dropped.
    delete config.batch_input_shape;
    delete config.input_shape;
    this.add({ class_name: l.class_name, name, config, inbound_nodes: [node] }, l.config);
    return [name, 0, 0];
  }

  container(l: { class_name: string; config: unknown }, inputs: Ref[] | null): Ref[] {
    if (l.class_name === 'Sequential') return this.sequential(l.config, inputs);
    return this.functional(l.config as Json, inputs);
  }

  sequential(config: unknown, inputs: Ref[] | null): Ref[] {
    const cfg = config as Json | unknown[];
    const list = (Array.isArray(cfg) ? cfg : (cfg?.layers as unknown[])) as { class_name: string; config: Json }[];
    if (!Array.isArray(list)) throw new TransferKitError('E_MODEL_TOPOLOGY', `A Sequential model in the topology has no list of layers (config.layers). The topology is corrupt; re-export the model.`);
    const seqName = Array.isArray(cfg) ? 'sequential' : String(cfg.name ?? 'sequential');
    let cur = inputs;
    for (const l of list) {
      if (l.class_name === 'InputLayer') {
        if (cur === null) cur = [this.inputLayer(layerName(l), l.config.batch_input_shape, l.config.dtype)];
        continue;
      }
      if (CONTAINERS.has(l.class_name)) {
        cur = this.container(l, cur);
        continue;
      }
      if (cur === null) {
        const shape = l.config.batch_input_shape;
        if (shape === undefined) {
          throw new TransferKitError('E_MODEL_TOPOLOGY', `Sequential '${seqName}' starts with layer '${layerName(l)}' which declares no batch_input_shape, so its input size is unknown. Re-export the model with an input shape.`);
        }
        cur = [this.inputLayer(`${seqName}_input`, shape, l.config.dtype)];
      }
      cur = [this.plain(l, cur)];
    }
    if (cur === null) throw new TransferKitError('E_MODEL_TOPOLOGY', `Sequential '${seqName}' has no layers.`);
    return cur;
  }

  functional(cfg: Json, inputs: Ref[] | null): Ref[] {
    const nodeMap = new Map<string, (t: number) => Ref>();
    const inputLayers = (cfg.input_layers as Ref[]) ?? [];
    const list = cfg.layers as LayerEntry[];
    if (!Array.isArray(list) || !Array.isArray(inputLayers)) {
      throw new TransferKitError('E_MODEL_TOPOLOGY', `Model '${String(cfg.name)}' has no list of ${Array.isArray(list) ? 'input_layers' : 'layers'}. The topology is corrupt; re-export the model.`);
    }
    const byName = new Map(list.map((l) => [layerName(l), l]));
    inputLayers.forEach(([name], i) => {
      const l = byName.get(name);
      let ref: Ref;
      if (inputs === null) ref = this.inputLayer(name, l?.config.batch_input_shape, l?.config.dtype);
      else ref = inputs[i];
      nodeMap.set(`${name}:0`, () => ref);
    });
    const resolve = (r: InboundRef): Ref => {
      const f = nodeMap.get(`${r[0]}:${r[1]}`);
      if (f === undefined) {
        throw new TransferKitError('E_MODEL_TOPOLOGY', `Model '${String(cfg.name)}' refers to node ${r[1]} of layer '${r[0]}' before it is defined. The topology is not in topological order or is corrupt.`);
      }
      return f(r[2]);
    };
    // Largest node index referenced per layer. TF.js (unlike Keras) does not renumber a nested
    // model's nodes: its own internal node 0 still counts, so refs to its first listed node say 1.
    const maxRef = new Map<string, number>();
    const refs = [...list.flatMap((l) => (l.inbound_nodes ?? []).flat()), ...((cfg.output_layers as InboundRef[]) ?? [])];
    for (const r of refs) maxRef.set(r[0], Math.max(maxRef.get(r[0]) ?? 0, r[1]));
    for (const l of list) {
      const name = layerName(l);
      if (l.class_name === 'InputLayer') continue;
      const nodes = l.inbound_nodes ?? [];
      const offset = CONTAINERS.has(l.class_name) && (maxRef.get(name) ?? 0) >= nodes.length ? 1 : 0;
      nodes.forEach((node, k) => {
        const ins = node.map(resolve);
        const kwargs = node.map((r) => r[3] ?? {});
        if (CONTAINERS.has(l.class_name)) {
          const outs = this.container(l, ins);
          nodeMap.set(`${name}:${k + offset}`, (t) => outs[t]);
        } else {
          // k > 0 is a shared layer applied again: plain() appends a node to the same entry.
          const [n, idx] = this.plain(l, ins, kwargs);
          nodeMap.set(`${name}:${k}`, (t) => [n, idx, t]);
        }
      });
    }
    return ((cfg.output_layers as InboundRef[]) ?? []).map(resolve);
  }
}

/** Model topology JSON (the `modelTopology` of model.json). */
export type ModelTopology = Json;

/**
 * Returns a functional-model topology equivalent to `topology` with every nested model inlined,
 * or the input unchanged when nothing is nested. The topology is checked first
 * ({@link checkModelConfig}); `source` (the model.json path or URL) is named in errors.
 * @throws E_LIMIT a topology over the nesting, layer or tensor-size limits; E_MODEL_TOPOLOGY a
 *   malformed one.
 */
export function flattenTopology(topology: ModelTopology, source?: string): ModelTopology {
  const what = source !== undefined ? `${source}: the model topology` : 'The model topology';
  if (topology === null || typeof topology !== 'object' || Array.isArray(topology)) {
    throw new TransferKitError('E_MODEL_TOPOLOGY', `${what} is ${topology === null ? 'null' : Array.isArray(topology) ? 'an array' : typeof topology}, not an object. model.json's modelTopology holds the Keras model config; re-export the model.`);
  }
  const root = ((topology.model_config as Json | undefined) ?? topology) as { class_name: string; config: Json };
  if (!CONTAINERS.has(root?.class_name)) {
    throw new TransferKitError('E_MODEL_TOPOLOGY', `${what}'s root is a '${String(root?.class_name)}', not a Sequential or functional Model.`);
  }
  checkModelConfig(root, what);
  try {
    const f = new Flattener();
    const outs = f.container(root, null);
    const inputs = f.layers.filter((l) => l.class_name === 'InputLayer').map((l) => [l.name, 0, 0]);
    const name = layerName(root.config?.name !== undefined ? { config: root.config } : { config: { name: 'model' } });
    checkGraph(f.layers as unknown as Json[], inputs, outs as unknown[], what);
    return {
      class_name: 'Model',
      config: { name, layers: f.layers, input_layers: inputs, output_layers: outs },
      keras_version: (topology.keras_version as string | undefined) ?? 'tfjs-layers',
      backend: (topology.backend as string | undefined) ?? 'tensor_flow.js',
    };
  } catch (err) {
    if (err instanceof TransferKitError) throw err;
    // Refs that are not [name, node, tensor] lists, layers that are not objects, ...
    throw new TransferKitError('E_MODEL_TOPOLOGY', `${what} is malformed: ${(err as Error).message}. The file is corrupt; re-export the model.`, { cause: err });
  }
}

/** TF.js's rule for weight names (`<layer>/kernel`): a layer name outside it fails mid-build. */
const VALID_NAME = /^[A-Za-z0-9][-A-Za-z0-9._/]*$/;

/**
 * Checks the flattened graph the way TF.js will walk it, before TF.js does: unique valid layer
 * names, inbound references `[layer, node, tensor]` to layers that exist, and every node
 * reachable. TF.js's functional deserialiser loops until every node is processed, so a reference
 * that can never be satisfied (an empty inbound node, a node index that no layer produces) hangs
 * the process forever instead of failing; a bad name fails half-way, after variables exist.
 */
function checkGraph(layers: Json[], inputs: unknown[], outputs: unknown[], what: string): void {
  const bad = (msg: string): never => {
    throw new TransferKitError('E_MODEL_TOPOLOGY', `${what}: ${msg} The file is corrupt or hostile; re-export the model.`);
  };
  const byName = new Map<string, Json>();
  for (const l of layers) {
    const n = l.name;
    if (typeof n !== 'string' || !VALID_NAME.test(n)) bad(`the layer name ${JSON.stringify(String(n)).slice(0, 80)} is not a valid TF.js name (letters, digits, and - . _ / after the first).`);
    const cn = isObj(l.config) ? l.config.name : undefined;
    if (cn !== undefined && (typeof cn !== 'string' || !VALID_NAME.test(cn))) bad(`layer '${String(n)}' has the config name ${JSON.stringify(String(cn)).slice(0, 80)}, not a valid TF.js name (letters, digits, and - . _ / after the first).`);
    if (byName.has(n as string)) bad(`two layers are named '${String(n)}'.`);
    byName.set(n as string, l);
  }
  type Ref = [string, number];
  const refOf = (r: unknown, at: string): Ref => {
    if (!Array.isArray(r) || typeof r[0] !== 'string' || !Number.isSafeInteger(r[1]) || (r[1] as number) < 0 || (r.length > 2 && !(Number.isSafeInteger(r[2]) && (r[2] as number) >= 0))) {
      return bad(`${at} has the reference ${JSON.stringify(r)?.slice(0, 80)}, not [layer name, node index, tensor index].`);
    }
    if (!byName.has(r[0])) bad(`${at} refers to the layer '${r[0]}', which the model does not have.`);
    return [r[0], r[1] as number];
  };
  // Nodes still to build: per layer, its inbound nodes (lists of refs); input layers have one node of their own.
  const pending = new Map<string, Ref[][]>();
  const built = new Map<string, number>();
  for (const l of layers) {
    const n = l.name as string;
    const nodes = l.inbound_nodes;
    if (l.class_name === 'InputLayer' || nodes === undefined || (Array.isArray(nodes) && nodes.length === 0)) {
      built.set(n, l.class_name === 'InputLayer' ? 1 : 0);
      pending.set(n, []);
      continue;
    }
    if (!Array.isArray(nodes) || !nodes.every((node) => Array.isArray(node))) return; // not TF.js's list form: left to TF.js
    pending.set(n, (nodes as unknown[][]).map((node, k) => {
      if (node.length === 0) bad(`layer '${n}' has an inbound node (#${k}) with no inputs.`);
      return node.map((r) => refOf(r, `layer '${n}' inbound node #${k}`));
    }));
    built.set(n, 0);
  }
  for (let progress = true; progress; ) {
    progress = false;
    for (const [n, nodes] of pending) {
      while (nodes.length > 0 && nodes[0].every(([src, k]) => (built.get(src) ?? 0) > k)) {
        nodes.shift();
        built.set(n, (built.get(n) ?? 0) + 1);
        progress = true;
      }
    }
  }
  for (const [n, nodes] of pending) {
    if (nodes.length > 0) {
      const [src, k] = nodes[0].find(([s2, k2]) => (built.get(s2) ?? 0) <= k2) as Ref;
      bad(`layer '${n}' needs node #${k} of layer '${src}', which the graph never produces (a cycle, or a node index out of range).`);
    }
  }
  for (const [label, refs] of [['input_layers', inputs], ['output_layers', outputs]] as const) {
    if (!Array.isArray(refs) || refs.length === 0) bad(`${label} is empty.`);
    for (const r of refs) {
      const [src, k] = refOf(r, label);
      if ((built.get(src) ?? 0) <= k) bad(`${label} names node #${k} of layer '${src}', which the graph never produces.`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Checks of a model config before anything is built.

type Shape = (number | null)[] | null;

/** Integer size fields of layer configs: positive integers, one per field. */
const POSITIVE_INTS = ['units', 'filters', 'input_dim', 'output_dim', 'depth_multiplier', 'num_heads', 'key_dim'];
/** Window fields: a positive integer or a list of them. */
const POSITIVE_INT_LISTS = ['kernel_size', 'strides', 'dilation_rate', 'pool_size'];
/** Layers whose output has their input's shape. */
const SAME_SHAPE = new Set([
  'Activation', 'ReLU', 'LeakyReLU', 'PReLU', 'ELU', 'Softmax', 'ThresholdedReLU', 'BatchNormalization', 'LayerNormalization',
  'Dropout', 'SpatialDropout1D', 'SpatialDropout2D', 'SpatialDropout3D', 'GaussianNoise', 'GaussianDropout', 'AlphaDropout',
  'Add', 'Subtract', 'Multiply', 'Average', 'Maximum', 'Minimum', 'Rescaling', 'Normalization', 'Masking', 'Identity',
  'ZeroPadding1D', 'ZeroPadding2D', 'ZeroPadding3D',
]);

const isObj = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);
const dims = (v: unknown): Shape => (Array.isArray(v) ? v.map((d) => (Number.isSafeInteger(d) && (d as number) >= 0 ? (d as number) : null)) : null);
const known = (d: number | null | undefined): number => (typeof d === 'number' && d > 0 ? d : 1);
const window = (v: unknown, rank: number): number[] => (Array.isArray(v) ? v.map(Number) : Array.from({ length: rank }, () => Number(v)));

/** Names of the layers a layer is applied to, in Keras 2 / TF.js (`[[name, node, tensor, kwargs], ...]`) and Keras 3 (`keras_history`) form. */
function inboundNames(l: Json): string[] {
  const nodes = l.inbound_nodes;
  if (!Array.isArray(nodes) || nodes.length === 0) return [];
  const first: unknown = nodes[0];
  if (Array.isArray(first)) return first.filter((r): r is unknown[] => Array.isArray(r) && typeof r[0] === 'string').map((r) => r[0] as string);
  const out: string[] = [];
  const stack: unknown[] = [first];
  while (stack.length > 0 && out.length < 1000) {
    const v = stack.pop();
    if (Array.isArray(v)) stack.push(...[...v].reverse());
    else if (isObj(v)) {
      const history = isObj(v.config) ? v.config.keras_history : undefined;
      if (Array.isArray(history) && typeof history[0] === 'string') out.push(history[0]);
      else if (isObj(v) && 'args' in v) stack.push(v.args);
    }
  }
  return out;
}

/** Spatial output size of a window op along one axis (channels_last), or null when unknown. */
function spatial(d: number | null, k: number, s: number, dil: number, padding: unknown, transpose: boolean): number | null {
  if (d === null) return null;
  if (transpose) return d * s;
  if (padding === 'valid') return Math.max(0, Math.ceil((d - (k - 1) * dil) / s));
  return Math.ceil(d / s);
}

/**
 * Checks a Keras model config (model.json's `modelTopology`, a `.keras` archive's config.json)
 * before anything is built from it: nesting depth, layer count, layer sizes and the elements of
 * the kernels the layers would create (input sizes followed through the graph where known).
 * `what` names the file in messages.
 * @throws E_LIMIT over `maxNestingDepth`, {@link MAX_LAYERS} or `maxTensorElements`;
 *   E_MODEL_TOPOLOGY for a layer that is not a `{class_name, config}` object or a size that is not
 *   a positive integer.
 */
export function checkModelConfig(config: unknown, what: string): void {
  const depthLimit = inputLimits().maxNestingDepth;
  const depth = jsonDepth(config, depthLimit);
  // checkLimit throws only past the limit, where the walk stopped counting.
  checkLimit('maxNestingDepth', depth, `${what} nests arrays and objects more than ${depthLimit} levels deep`);
  let count = 0;
  const bad = (msg: string): never => {
    throw new TransferKitError('E_MODEL_TOPOLOGY', `${what}: ${msg} The file is corrupt or hostile; re-export the model.`);
  };
  const elements = (l: string, cls: string, shape: number[]): void => {
    checkLimit('maxTensorElements', shape.reduce((a, b) => a * b, 1), `${what}: layer '${l}' (${cls}) would create a weight of shape [${shape.join(', ')}]`);
  };

  /** Checks one layer and returns its output shape (without the batch axis) where known. */
  const layer = (l: Json, inputs: Shape[], where: string): Shape => {
    const cls = l.class_name as string;
    const cfg = (isObj(l.config) ? l.config : {}) as Json;
    const name = String(cfg.name ?? l.name ?? where);
    for (const key of POSITIVE_INTS) {
      const v = cfg[key];
      if (v !== undefined && v !== null && !(Number.isSafeInteger(v) && (v as number) > 0)) bad(`layer '${name}' (${cls}) has ${key}=${JSON.stringify(v)}. ${key} must be a positive integer. Received: ${key}=${JSON.stringify(v)}.`);
    }
    for (const key of POSITIVE_INT_LISTS) {
      const v = cfg[key];
      if (v === undefined || v === null) continue;
      const list = Array.isArray(v) ? v : [v];
      if (list.length === 0 || list.length > 3 || !list.every((x) => Number.isSafeInteger(x) && (x as number) > 0)) bad(`layer '${name}' (${cls}) has ${key}=${JSON.stringify(v)}. ${key} must be a positive integer or a list of 1 to 3 of them. Received: ${key}=${JSON.stringify(v)}.`);
    }
    // Keras 3 records each layer's input shape; Keras 2 / TF.js graphs are followed.
    const declared = isObj(l.build_config) ? l.build_config.input_shape : undefined;
    const built = Array.isArray(declared) && !declared.some(Array.isArray) ? dims(declared) : null;
    const input: Shape = built !== null && built.length > 0 ? built.slice(1) : (inputs[0] ?? null);
    const inC = known(input?.[input.length - 1]);
    // Sizes are validated above: a number here is a positive integer.
    const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);
    const units = num(cfg.units);
    const filters = num(cfg.filters);
    const convRank = /([123])D/.exec(cls)?.[1];
    const rank = convRank !== undefined ? Number(convRank) : 2;
    const k = window(cfg.kernel_size ?? cfg.pool_size ?? 1, rank);
    switch (cls) {
      case 'InputLayer': {
        const s = dims(cfg.batch_input_shape ?? cfg.batch_shape);
        return s !== null ? s.slice(1) : dims(cfg.input_shape);
      }
      case 'Dense':
        if (units !== undefined) {
          elements(name, cls, [inC, units]);
          return input !== null ? [...input.slice(0, -1), units] : [units];
        }
        return null;
      case 'Embedding':
        if (num(cfg.input_dim) !== undefined && num(cfg.output_dim) !== undefined) elements(name, cls, [cfg.input_dim as number, cfg.output_dim as number]);
        return input !== null && num(cfg.output_dim) !== undefined ? [...input, cfg.output_dim as number] : null;
      case 'LSTM': case 'GRU': case 'SimpleRNN': case 'CuDNNLSTM': case 'CuDNNGRU': {
        if (units === undefined) return null;
        const gates = cls.includes('LSTM') ? 4 : cls.includes('GRU') ? 3 : 1;
        elements(name, cls, [inC, gates * units]);
        elements(name, cls, [units, gates * units]);
        return cfg.return_sequences === true && input !== null ? [...input.slice(0, -1), units] : [units];
      }
      case 'MultiHeadAttention':
        if (num(cfg.num_heads) !== undefined && num(cfg.key_dim) !== undefined) elements(name, cls, [inC, cfg.num_heads as number, cfg.key_dim as number]);
        return input;
      case 'Flatten':
        return input !== null && input.every((d) => d !== null) ? [(input as number[]).reduce((a, b) => a * b, 1)] : [null];
      case 'Reshape':
        return dims(cfg.target_shape);
      case 'Concatenate': {
        const axis = typeof cfg.axis === 'number' ? cfg.axis : -1;
        if (axis !== -1 || inputs.length === 0 || inputs.some((s) => s === null || s.length === 0 || s[s.length - 1] === null)) return null;
        const first = inputs[0] as (number | null)[];
        return [...first.slice(0, -1), inputs.reduce((a, s) => a + ((s as number[])[(s as number[]).length - 1]), 0)];
      }
      case 'GlobalAveragePooling1D': case 'GlobalAveragePooling2D': case 'GlobalAveragePooling3D':
      case 'GlobalMaxPooling1D': case 'GlobalMaxPooling2D': case 'GlobalMaxPooling3D':
        return input !== null ? [input[input.length - 1]] : null;
      default:
        break;
    }
    const isConv = /^(Conv|SeparableConv|DepthwiseConv)[123]D(Transpose)?$/.test(cls) || cls === 'Convolution2D';
    const isPool = /^(Max|Average)Pooling[123]D$/.test(cls);
    if (isConv || isPool) {
      const mult = num(cfg.depth_multiplier) ?? 1;
      let outC: number | null = input?.[input.length - 1] ?? null;
      if (cls.startsWith('Depthwise')) {
        elements(name, cls, [...k, inC, mult]);
        outC = inC * mult;
      } else if (cls.startsWith('Separable')) {
        elements(name, cls, [...k, inC, mult]);
        if (filters !== undefined) elements(name, cls, [1, 1, inC * mult, filters]);
        outC = filters ?? null;
      } else if (isConv && filters !== undefined) {
        elements(name, cls, [...k, inC, filters]);
        outC = filters;
      }
      if (cfg.data_format === 'channels_first' || input === null || input.length !== rank + 1) return outC !== null ? [outC] : null;
      const s = window(cfg.strides ?? (isPool ? k : 1), rank);
      const dil = window(cfg.dilation_rate ?? 1, rank);
      const transpose = cls.endsWith('Transpose');
      return [...input.slice(0, rank).map((d, i) => spatial(d, k[i] ?? 1, s[i] ?? 1, dil[i] ?? 1, cfg.padding, transpose)), outC];
    }
    if (cls === 'UpSampling2D' && input !== null && input.length === 3) {
      const size = window(cfg.size ?? 2, 2);
      return [input[0] === null ? null : input[0] * (size[0] || 1), input[1] === null ? null : input[1] * (size[1] || 1), input[2]];
    }
    if (SAME_SHAPE.has(cls)) {
      if (cls === 'BatchNormalization' || cls === 'LayerNormalization' || cls === 'PReLU') elements(name, cls, [inC]);
      return input;
    }
    return null;
  };

  /** Walks a container's layers (recursing into nested models); returns nothing, checks everything. */
  const container = (node: Json, where: string): void => {
    const cfg = node.config;
    const list: unknown = Array.isArray(cfg) ? cfg : isObj(cfg) ? cfg.layers : undefined;
    if (list === undefined) return;
    if (!Array.isArray(list)) bad(`'${where}' has config.layers=${typeof list}. A model's layers are a list.`);
    const shapes = new Map<string, Shape>();
    let previous: Shape = null;
    const sequential = node.class_name === 'Sequential';
    (list as unknown[]).forEach((l, i) => {
      if (!isObj(l) || typeof l.class_name !== 'string') bad(`layer ${i} of '${where}' is ${l === null ? 'null' : Array.isArray(l) ? 'a list' : typeof l === 'object' ? 'an object without a class_name' : typeof l}. Each layer is a {class_name, config} object.`);
      const entry = l as Json;
      // Keras <= 2.2 wrote a nested Sequential's config as the list of its layers.
      const legacySequential = entry.class_name === 'Sequential' && Array.isArray(entry.config);
      if (entry.config !== undefined && !isObj(entry.config) && !legacySequential) bad(`layer ${i} of '${where}' has config=${JSON.stringify(entry.config)?.slice(0, 40)}. A layer's config is an object.`);
      if (++count > MAX_LAYERS) {
        throw new TransferKitError('E_LIMIT', `${what} has more than ${MAX_LAYERS} layers. transferkit builds models of at most ${MAX_LAYERS} layers (the largest Keras Applications model has about 1,000). Received: layers>${MAX_LAYERS}. The file is corrupt or hostile; re-export the model.`);
      }
      const name = String((entry.config as Json | undefined)?.name ?? entry.name ?? `${where}/${i}`);
      const isContainer = CONTAINERS.has(entry.class_name as string) || (isObj(entry.config) && Array.isArray(entry.config.layers));
      let out: Shape;
      if (isContainer) {
        container(entry, name);
        out = null;
      } else {
        // Sequential: the previous layer's output (or the first layer's declared input); graphs: the inbound layers'.
        const declared = dims((entry.config as Json | undefined)?.batch_input_shape);
        const ins: Shape[] = sequential ? [i === 0 || previous === null ? (declared?.slice(1) ?? previous) : previous] : inboundNames(entry).map((n) => shapes.get(n) ?? null);
        out = layer(entry, ins, name);
      }
      shapes.set(name, out);
      previous = out;
    });
  };

  const root = isObj(config) && isObj(config.model_config) ? config.model_config : config;
  if (isObj(root)) container(root, String((isObj(root.config) ? root.config.name : undefined) ?? 'model'));
}
