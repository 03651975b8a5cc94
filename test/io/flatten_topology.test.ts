/**
 * Flattening nested models, on the real Teachable Machine MobileNetV2 (nested as `model2`
 * inside a Sequential) and on a synthetic nested functional model with a shared layer.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadPretrained, useBackend } from '../../src/index.js';
import { fileSystem, flattenTopology } from '../../src/entries/io.js';
import { setInferenceFolding } from '../../src/layers/fold_batch_norm.js';
import { asset, MOBILENET } from '../helpers/assets.js';

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
