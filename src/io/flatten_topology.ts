/**
 * Rewrites a Keras/TF.js model topology so that nested models (a Sequential inside a
 * Sequential, a functional `Model` used as a layer) are inlined into ONE functional graph.
 *
 * Why: Teachable Machine, and many Keras exports, nest the whole backbone as a single layer
 * (`model2`), which hides `block_13_expand` and friends from `getLayer`, freezing by name and
 * head surgery. Flattening the *configuration* (rather than re-applying live layers) keeps every
 * layer with one inbound node and its checkpoint name, so weights load by name unchanged.
 */
import { TransferKitError } from '../errors.js';

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

class Flattener {
  readonly layers: LayerEntry[] = [];
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
    const list = (Array.isArray(cfg) ? cfg : (cfg.layers as unknown[])) as { class_name: string; config: Json }[];
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
 * or the input unchanged when nothing is nested.
 */
export function flattenTopology(topology: ModelTopology): ModelTopology {
  const root = ((topology.model_config as Json | undefined) ?? topology) as { class_name: string; config: Json };
  if (!CONTAINERS.has(root.class_name)) {
    throw new TransferKitError('E_MODEL_TOPOLOGY', `The model topology's root is a '${root.class_name}', not a Sequential or functional Model.`);
  }
  const f = new Flattener();
  const outs = f.container(root, null);
  const inputs = f.layers.filter((l) => l.class_name === 'InputLayer').map((l) => [l.name, 0, 0]);
  const name = layerName(root.config.name !== undefined ? { config: root.config } : { config: { name: 'model' } });
  return {
    class_name: 'Model',
    config: { name, layers: f.layers, input_layers: inputs, output_layers: outs },
    keras_version: (topology.keras_version as string | undefined) ?? 'tfjs-layers',
    backend: (topology.backend as string | undefined) ?? 'tensor_flow.js',
  };
}
