/**
 * Flattening nested models, on the real Teachable Machine MobileNetV2 (nested as `model2`
 * inside a Sequential) and on a synthetic nested functional model with a shared layer.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadPretrained, useBackend } from '../../src/index.js';
import { fileSystem, flattenTopology } from '../../src/entries/io.js';
import { setInferenceFolding } from '../../src/layers/fold_batch_norm.js';
import { asset, MOBILENET } from '../helpers/assets.js';
import { isTransferKitError } from '../../src/errors.js';
import { setInputLimits } from '../../src/utils/limits.js';

beforeAll(async () => {
  await useBackend('wasm');
});

describe('flattenTopology', () => {
  it('the real Teachable Machine model: every backbone layer addressable, outputs unchanged', async (ctx) => {
    const dir = asset(MOBILENET);
    if (dir === null) return ctx.skip();
    const nested = await tfl.loadLayersModel(fileSystem(dir));
    expect(nested.layers.map((l) => l.name)).toEqual(['sequential_5', 'sequential_7']);
    const pm = await loadPretrained(dir);
    const names = pm.model.layers.map((l) => l.name);
    expect(names).toContain('block_13_expand');
    expect(names).toContain('Conv1');
    expect(pm.model.layers).toHaveLength(155 + 3); // 155 backbone layers, pooling, 2 Dense
    expect(pm.featureLayer).toBe('global_average_pooling2d_GlobalAveragePooling2D2');
    expect(pm.headLayers).toEqual(['dense_Dense3', 'dense_Dense4']);
    expect(pm.inputShape).toEqual([224, 224, 3]);
    expect(pm.classNames).toEqual(['Class 1', 'Class 2']);
    expect(pm.preprocessing.offset).toBe(-1);
    expect(pm.model.countParams()).toBe(nested.countParams());
    const x = tf.randomUniform([2, 224, 224, 3], -1, 1, 'float32', 3);
    const a = (nested.predict(x) as tf.Tensor).dataSync();
    // Bit-exact with inference folding off (it rounds differently; tested in fold_batch_norm.test.ts).
    setInferenceFolding(false);
    const b = (pm.model.predict(x) as tf.Tensor).dataSync();
    setInferenceFolding(true);
    expect(Array.from(b)).toEqual(Array.from(a));
  });

  it('inlines a functional model used as a layer twice (shared weights)', async () => {
    const innerIn = tfl.input({ shape: [4] });
    const inner = tfl.model({ inputs: innerIn, outputs: tfl.layers.dense({ units: 3, name: 'shared_dense' }).apply(innerIn) as tfl.SymbolicTensor, name: 'inner' });
    const a = tfl.input({ shape: [4], name: 'a' });
    const b = tfl.input({ shape: [4], name: 'b' });
    const sum = tfl.layers.add({ name: 'sum' }).apply([inner.apply(a) as tfl.SymbolicTensor, inner.apply(b) as tfl.SymbolicTensor]) as tfl.SymbolicTensor;
    const outer = tfl.model({ inputs: [a, b], outputs: sum });
    const topo = outer.toJSON(null, false) as Record<string, unknown>;
    const flat = flattenTopology(topo) as { config: { layers: { name: string; inbound_nodes: unknown[] }[] } };
    const shared = flat.config.layers.find((l) => l.name === 'shared_dense');
    expect(shared?.inbound_nodes).toHaveLength(2);
    const rebuilt = (await tfl.models.modelFromJSON({ modelTopology: flat } as never)) as tfl.LayersModel;
    rebuilt.setWeights(outer.getWeights());
    const xa = tf.randomNormal([2, 4], 0, 1, 'float32', 1);
    const xb = tf.randomNormal([2, 4], 0, 1, 'float32', 2);
    expect(Array.from((rebuilt.predict([xa, xb]) as tf.Tensor).dataSync())).toEqual(Array.from((outer.predict([xa, xb]) as tf.Tensor).dataSync()));
  });

  it('rejects duplicate layer names with the name', () => {
    const mk = (name: string) => ({ class_name: 'Sequential', config: { name, layers: [{ class_name: 'Dense', config: { name: 'd', units: 2, batch_input_shape: [null, 2] } }] } });
    const topo = { class_name: 'Sequential', config: { name: 'outer', layers: [mk('s1'), mk('s2')] } };
    expect(() => flattenTopology(topo)).toThrow(/Two layers are named 'd'/);
  });
});

describe('absurd topologies end in coded errors before anything is allocated', () => {
  const seq = (layers: unknown[]) => ({ class_name: 'Sequential', config: { name: 'seq', layers } });
  const dense = (name: string, units: unknown, extra: Record<string, unknown> = {}) => ({ class_name: 'Dense', config: { name, units, ...extra } });
  const code = (fn: () => unknown): string | undefined => {
    try {
      fn();
    } catch (err) {
      expect(isTransferKitError(err), (err as Error).message).toBe(true);
      return (err as { code: string }).code;
    }
    return undefined;
  };

  it('100,000 layers: E_LIMIT', () => {
    const layers = Array.from({ length: 100_000 }, (_, i) => dense(`d${i}`, 2, i === 0 ? { batch_input_shape: [null, 2] } : {}));
    expect(() => flattenTopology(seq(layers))).toThrow(/The model topology has more than 10000 layers/);
    expect(code(() => flattenTopology(seq(layers)))).toBe('E_LIMIT');
  });

  it('negative, zero or fractional sizes: E_MODEL_TOPOLOGY naming the layer and the value', () => {
    for (const units of [-1, 0, 1.5, '8', null] as unknown[]) {
      const topo = seq([dense('head', units, { batch_input_shape: [null, 4] })]);
      if (units === null) continue; // absent in effect: left to tfjs-layers' own check
      expect(() => flattenTopology(topo)).toThrow(`layer 'head' (Dense) has units=${JSON.stringify(units)}`);
      expect(code(() => flattenTopology(topo))).toBe('E_MODEL_TOPOLOGY');
    }
    const conv = seq([{ class_name: 'Conv2D', config: { name: 'c', filters: 8, kernel_size: [3, -3], batch_input_shape: [null, 8, 8, 3] } }]);
    expect(code(() => flattenTopology(conv))).toBe('E_MODEL_TOPOLOGY');
  });

  it('kernels over maxTensorElements, with input sizes followed through the graph (Dense after Dense, Dense after Flatten)', () => {
    expect(() => flattenTopology(seq([dense('big', 1e9, { batch_input_shape: [null, 4] })]))).toThrow(/layer 'big' \(Dense\) would create a weight of shape \[4, 1000000000\]/);
    const chain = seq([dense('a', 100_000, { batch_input_shape: [null, 8] }), dense('b', 100_000)]);
    expect(() => flattenTopology(chain)).toThrow(/layer 'b' \(Dense\) would create a weight of shape \[100000, 100000\]: 10000000000 is over the limit maxTensorElements/);
    const flat = seq([{ class_name: 'Flatten', config: { name: 'f', batch_input_shape: [null, 20_000, 20_000, 3] } }, dense('out', 10)]);
    expect(() => flattenTopology(flat)).toThrow(/layer 'out' \(Dense\) would create a weight of shape \[1200000000, 10\]/);
    const emb = seq([{ class_name: 'Embedding', config: { name: 'e', input_dim: 1e7, output_dim: 1e3, batch_input_shape: [null, 5] } }]);
    expect(code(() => flattenTopology(emb))).toBe('E_LIMIT');
  });

  it('a model.json whose topology is over the limits is refused by loadPretrained before the model is built', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-topo-'));
    const topo = { class_name: 'Sequential', config: { name: 'seq', layers: [dense('a', 2000, { batch_input_shape: [null, 2000] })] }, keras_version: 'tfjs-layers 4.22.0', backend: 'tensor_flow.js' };
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify({ format: 'layers-model', modelTopology: topo, weightsManifest: [] }));
    const before = setInputLimits({ maxTensorElements: 1_000_000 });
    try {
      await expect(loadPretrained(dir)).rejects.toMatchObject({ code: 'E_LIMIT', message: expect.stringContaining("layer 'a' (Dense) would create a weight of shape [2000, 2000]: 4000000 is over the limit maxTensorElements=1000000") });
    } finally {
      setInputLimits(before);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('nesting deeper than maxNestingDepth: E_LIMIT, not a stack overflow', () => {
    let topo: Record<string, unknown> = seq([dense('d', 2, { batch_input_shape: [null, 2] })]);
    for (let i = 0; i < 3000; i++) topo = { class_name: 'Sequential', config: { name: `s${i}`, layers: [topo] } };
    expect(() => flattenTopology(topo)).toThrow(/nests arrays and objects more than 1000 levels deep/);
    expect(code(() => flattenTopology(topo))).toBe('E_LIMIT');
  });

  it('nested models applied many times inside each other (exponential inlining): E_LIMIT', () => {
    // Model k applies model k-1 twice on its input and adds the results: 2^20 inlined applications.
    const inner = (k: number): Record<string, unknown> => {
      if (k === 0) return { class_name: 'Model', config: { name: 'm0', layers: [{ class_name: 'InputLayer', name: 'm0_in', config: { name: 'm0_in', batch_input_shape: [null, 2] }, inbound_nodes: [] }, { class_name: 'Dense', name: 'm0_d', config: { name: 'm0_d', units: 2 }, inbound_nodes: [[['m0_in', 0, 0, {}]]] }], input_layers: [['m0_in', 0, 0]], output_layers: [['m0_d', 0, 0]] } };
      const child = inner(k - 1);
      const cname = (child.config as { name: string }).name;
      return { class_name: 'Model', config: { name: `m${k}`, layers: [
        { class_name: 'InputLayer', name: `m${k}_in`, config: { name: `m${k}_in`, batch_input_shape: [null, 2] }, inbound_nodes: [] },
        { ...child, name: cname, inbound_nodes: [[[`m${k}_in`, 0, 0, {}]], [[`m${k}_in`, 0, 0, {}]]] },
        { class_name: 'Add', name: `m${k}_add`, config: { name: `m${k}_add` }, inbound_nodes: [[[cname, 1, 0, {}], [cname, 2, 0, {}]]] },
      ], input_layers: [[`m${k}_in`, 0, 0]], output_layers: [[`m${k}_add`, 0, 0]] } };
    };
    expect(code(() => flattenTopology(inner(20)))).toBe('E_LIMIT');
  });

  it('malformed structures (layers not a list, a layer that is null, refs that are not lists): E_MODEL_TOPOLOGY, never a TypeError', () => {
    const cases: unknown[] = [
      null,
      { class_name: 'Sequential', config: { name: 's', layers: null } },
      { class_name: 'Sequential', config: { name: 's', layers: [null] } },
      { class_name: 'Sequential', config: { name: 's', layers: [{ class_name: 'Dense', config: 7 }] } },
      { class_name: 'Model', config: { name: 'm', layers: 'x', input_layers: [], output_layers: [] } },
      { class_name: 'Model', config: { name: 'm', layers: [{ class_name: 'Dense', name: 'd', config: { name: 'd', units: 2 }, inbound_nodes: [[7]] }], input_layers: [], output_layers: [['d', 0, 0]] } },
      { class_name: 'Model', config: { name: 'm', layers: [], input_layers: 5, output_layers: [] } },
      { class_name: 'Model', config: { name: 'm', layers: [], input_layers: [], output_layers: [[null, 0, 0]] } },
    ];
    for (const topo of cases) expect(code(() => flattenTopology(topo as Record<string, unknown>)), JSON.stringify(topo)).toBe('E_MODEL_TOPOLOGY');
  });
});
