/**
 * Keras 2 .h5 weights through h5wasm: a zoo model saved and loaded back bit-exactly, files in the
 * full-model layout (`model_weights`) with `layer_names` split over attributes, and clear errors.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/index.js';
import { loadKerasH5, readKerasArchive, readKerasH5, saveKerasH5 } from '../../src/entries/io.js';
import { buildZooModel } from '../../src/entries/models.js';
import { halfToFloat } from '../../src/io/keras_h5.js';
import { PYTHON, runPythonScript } from '../helpers/torch.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'tk-h5-'));

beforeAll(async () => {
  await useBackend('wasm');
});

describe('Keras .h5 weights', () => {
  it('saveKerasH5 then loadKerasH5 restores every weight of a zoo model exactly (save_weights layout)', async () => {
    const file = path.join(tmp(), 'mnv2.h5');
    const { model: a } = buildZooModel('mobilenet_v2_0.35_224', { includeTop: true, classes: 5, seed: 3 });
    await saveKerasH5(a, file);
    expect(fs.readdirSync(path.dirname(file))).toEqual(['mnv2.h5']);
    const weights = await readKerasH5(file);
    expect(weights.get('Conv1/kernel')?.shape).toEqual([3, 3, 3, 16]);
    expect(weights.get('bn_Conv1/moving_variance')?.shape).toEqual([16]);
    const { model: b } = buildZooModel('mobilenet_v2_0.35_224', { includeTop: true, classes: 5, seed: 9 });
    const report = await loadKerasH5(b, file);
    expect(report.copied.length).toBe(b.weights.length);
    a.weights.forEach((w, i) => expect(Array.from(b.weights[i].read().dataSync())).toEqual(Array.from(w.read().dataSync())));
    a.dispose();
    b.dispose();
  }, 60_000);

  it('a full .h5 (with the predictions classifier) serves includeTop: false: the classifier is dropped (issue 28)', async () => {
    const file = path.join(tmp(), 'full_top.h5');
    const { model: full } = buildZooModel('mobilenet_v2_0.35_224', { includeTop: true, seed: 3 });
    await saveKerasH5(full, file);
    const { loadPretrained } = await import('../../src/index.js');
    // Before: "unexpected predictions/kernel, predictions/bias".
    const pm = await loadPretrained('mobilenet_v2_0.35_224', { weights: file, includeTop: false });
    expect(pm.model.layers.some((l) => l.name === 'predictions')).toBe(false);
    const byName = new Map(full.weights.map((w) => [w.originalName, w]));
    for (const w of pm.model.weights) expect(Array.from(w.read().dataSync())).toEqual(Array.from(byName.get(w.originalName)!.read().dataSync()));
    // Still strict about everything else: a wider model is refused.
    await expect(loadPretrained('mobilenet_v2_0.5_224', { weights: file, includeTop: false })).rejects.toThrow(/does not match/);
    full.dispose();
    pm.model.dispose();
  }, 60_000);

  it("reads the full-model layout ('model_weights') with layer_names split into layer_names0/1", async () => {
    const h5 = (await import('h5wasm/node')).default;
    await h5.ready;
    const file = path.join(tmp(), 'full.h5');
    const f = new h5.File(file, 'w');
    const mw = f.create_group('model_weights');
    mw.create_attribute('layer_names0', ['input_1', 'fc1']);
    mw.create_attribute('layer_names1', ['predictions']);
    mw.create_group('input_1');
    for (const [layer, shape] of [['fc1', [4, 3]], ['predictions', [3, 2]]] as const) {
      const g = mw.create_group(layer);
      g.create_attribute('weight_names', [`${layer}/kernel:0`, `${layer}/bias:0`]);
      const inner = g.create_group(layer);
      inner.create_dataset({ name: 'kernel:0', data: Float32Array.from({ length: shape[0] * shape[1] }, (_, i) => i / 10), shape: [...shape] });
      inner.create_dataset({ name: 'bias:0', data: new Float32Array(shape[1]).fill(0.5), shape: [shape[1]] });
    }
    f.close();
    const w = await readKerasH5(file);
    expect([...w.keys()]).toEqual(['fc1/kernel', 'fc1/bias', 'predictions/kernel', 'predictions/bias']);
    expect(Array.from(w.get('predictions/kernel')?.data ?? [])).toEqual([0, 0.1, 0.2, 0.3, 0.4, 0.5].map((v) => Math.fround(v)));
  });

  it('mismatches and foreign files get errors naming the weights or the file', async () => {
    const file = path.join(tmp(), 'a.h5');
    const { model: a } = buildZooModel('mobilenet_v2_0.35_224', { includeTop: false, seed: 1 });
    await saveKerasH5(a, file);
    const { model: wide } = buildZooModel('mobilenet_v2_0.5_224', { includeTop: false, seed: 1 });
    await expect(loadKerasH5(wide, file)).rejects.toThrow(/a\.h5 does not match the model 'mobilenetv2_0\.50_224'\. Wrong shape \(187\): block_1_project\/kernel: model \[1, 1, 48, 16\] vs file \[1, 1, 48, 8\]/);
    const loose = await loadKerasH5(wide, file, { strict: false });
    expect(loose.mismatched.length).toBeGreaterThan(0);
    const junk = path.join(path.dirname(file), 'junk.h5');
    fs.writeFileSync(junk, 'not hdf5 at all');
    await expect(readKerasH5(junk)).rejects.toThrow(/junk\.h5 is not an HDF5 file/);
    a.dispose();
    wide.dispose();
    tf.disposeVariables();
  });
});

describe('Keras 3 .keras archives', () => {
  it('reads an archive whose groups are named by layer (layers/<layer name>/vars/<i>) into a zoo model', async () => {
    const { zipSync } = await import('fflate');
    const h5 = (await import('h5wasm/node')).default;
    await h5.ready;
    const dir = tmp();
    const { model: ref } = buildZooModel('mobilenet_v2_0.35_224', { includeTop: false, seed: 4 });
    const weightsFile = path.join(dir, 'model.weights.h5');
    const f = new h5.File(weightsFile, 'w');
    const layers = f.create_group('layers');
    for (const layer of ref.layers) {
      const g = layers.create_group(layer.name);
      const vars = g.create_group('vars');
      for (const [i, w] of layer.weights.entries()) vars.create_dataset({ name: String(i), data: Float32Array.from(w.read().dataSync()), shape: w.shape as number[] });
    }
    f.close();
    const archive = path.join(dir, 'mnv2.keras');
    fs.writeFileSync(archive, zipSync({
      'config.json': new TextEncoder().encode(JSON.stringify({ class_name: 'Functional', config: { name: ref.name } })),
      'metadata.json': new TextEncoder().encode(JSON.stringify({ keras_version: '3.3.3' })),
      'model.weights.h5': new Uint8Array(fs.readFileSync(weightsFile)),
    }));
    const pm = await (await import('../../src/index.js')).loadPretrained('mobilenet_v2_0.35_224', { weights: archive });
    ref.weights.forEach((w, i) => expect(Array.from(pm.model.weights[i].read().dataSync())).toEqual(Array.from(w.read().dataSync())));
    const { model: wide } = buildZooModel('mobilenet_v2_1.0_224', { includeTop: false, seed: 1 });
    const { loadKerasArchive } = await import('../../src/entries/io.js');
    await expect(loadKerasArchive(wide, archive)).rejects.toThrow(/mnv2\.keras does not match .*Wrong shape \(\d+\): Conv1\/vars\/0: model \[3, 3, 3, 32\] vs file \[3, 3, 3, 16\]/);
    fs.writeFileSync(path.join(dir, 'plain.keras'), 'not a zip');
    await expect(loadKerasArchive(wide, path.join(dir, 'plain.keras'))).rejects.toThrow(/plain\.keras is not a zip archive/);
    ref.dispose();
    wide.dispose();
  }, 60_000);
});

describe('Keras 3 .keras archives as Keras 3 writes them', () => {
  it('finds each layer at layers/<class in snake case>[_k]/vars through config.json, nested models included', async () => {
    const tfl = await import('@tensorflow/tfjs-layers');
    const { zipSync } = await import('fflate');
    const h5 = (await import('h5wasm/node')).default;
    await h5.ready;
    const dir = tmp();
    // The model as TF.js holds it (flat): stem conv + BN, a block (a nested Functional in Keras), a head.
    const input = tfl.input({ shape: [8, 8, 3] });
    let x = tfl.layers.conv2d({ filters: 4, kernelSize: 3, name: 'stem', kernelInitializer: 'zeros' }).apply(input) as import('@tensorflow/tfjs-layers').SymbolicTensor;
    x = tfl.layers.batchNormalization({ name: 'stem_bn' }).apply(x) as import('@tensorflow/tfjs-layers').SymbolicTensor;
    x = tfl.layers.conv2d({ filters: 5, kernelSize: 1, name: 'block_conv', kernelInitializer: 'zeros' }).apply(x) as import('@tensorflow/tfjs-layers').SymbolicTensor;
    x = tfl.layers.conv2d({ filters: 6, kernelSize: 1, name: 'block_conv2', kernelInitializer: 'zeros' }).apply(x) as import('@tensorflow/tfjs-layers').SymbolicTensor;
    x = tfl.layers.globalAveragePooling2d({ name: 'pool' }).apply(x) as import('@tensorflow/tfjs-layers').SymbolicTensor;
    const out = tfl.layers.dense({ units: 2, name: 'head', kernelInitializer: 'zeros' }).apply(x) as import('@tensorflow/tfjs-layers').SymbolicTensor;
    const model = tfl.model({ inputs: input, outputs: out });
    // Keras 3's config.json and the groups saving_lib writes for it (hand-written from its rules:
    // class name in snake case, numbered per class within each container, never the layer name).
    const L = (cls: string, name: string, extra: Record<string, unknown> = {}) => ({ module: 'keras.layers', class_name: cls, config: { name, ...extra } });
    const config = {
      module: 'keras', class_name: 'Functional', config: { name: 'net', layers: [
        L('InputLayer', 'input'), L('Conv2D', 'stem'), L('BatchNormalization', 'stem_bn'),
        { module: 'keras', class_name: 'Functional', config: { name: 'block', layers: [L('InputLayer', 'block_in'), L('Conv2D', 'block_conv'), L('Conv2D', 'block_conv2')] } },
        L('GlobalAveragePooling2D', 'pool'), L('Dense', 'head'),
      ] },
    };
    const groups: Record<string, string> = {
      stem: 'layers/conv2d', stem_bn: 'layers/batch_normalization', block_conv: 'layers/functional/layers/conv2d',
      block_conv2: 'layers/functional/layers/conv2d_1', head: 'layers/dense',
    };
    const values = new Map<string, Float32Array[]>();
    const weightsFile = path.join(dir, 'model.weights.h5');
    const f = new h5.File(weightsFile, 'w');
    let k = 1;
    for (const [name, group] of Object.entries(groups)) {
      let g = f.get(group) as unknown as { create_group(n: string): unknown } | null;
      if (g === null) {
        let at: { get(n: string): unknown; create_group(n: string): unknown } = f as never;
        for (const part of group.split('/')) at = ((at.get(part) ?? at.create_group(part)) as typeof at);
        g = at as never;
      }
      const vars = (g as { create_group(n: string): { create_dataset(o: { name: string; data: Float32Array; shape: number[] }): void } }).create_group('vars');
      const layer = model.getLayer(name);
      values.set(name, layer.weights.map((w, i) => {
        const data = Float32Array.from({ length: w.shape.reduce((a, b) => (a as number) * (b as number), 1) as number }, (_, j) => k + j / 100 + i);
        vars.create_dataset({ name: String(i), data, shape: w.shape as number[] });
        return data;
      }));
      k++;
    }
    f.close();
    const archive = path.join(dir, 'net.keras');
    fs.writeFileSync(archive, zipSync({
      'config.json': new TextEncoder().encode(JSON.stringify(config)),
      'metadata.json': new TextEncoder().encode(JSON.stringify({ keras_version: '3.6.0' })),
      'model.weights.h5': new Uint8Array(fs.readFileSync(weightsFile)),
    }));
    const { loadKerasArchive } = await import('../../src/entries/io.js');
    const report = await loadKerasArchive(model, archive);
    expect(report.copied.length).toBe(model.weights.length);
    for (const [name, arrays] of values) {
      model.getLayer(name).weights.forEach((w, i) => expect(Array.from(w.read().dataSync())).toEqual(Array.from(arrays[i])));
    }
    model.dispose();
  });
});

describe('float16 weights', () => {
  it('halfToFloat decodes IEEE half bits (normal, subnormal, signed zero, max, infinities, NaN)', () => {
    expect(halfToFloat(0x3c00)).toBe(1);
    expect(halfToFloat(0xc000)).toBe(-2);
    expect(halfToFloat(0x7bff)).toBe(65504);
    expect(halfToFloat(0x0001)).toBe(2 ** -24);
    expect(halfToFloat(0x0400)).toBe(2 ** -14);
    expect(Object.is(halfToFloat(0x8000), -0)).toBe(true);
    expect(halfToFloat(0x7c00)).toBe(Infinity);
    expect(halfToFloat(0xfc00)).toBe(-Infinity);
    expect(halfToFloat(0x7e00)).toBeNaN();
    expect(halfToFloat(0x3555)).toBeCloseTo(1 / 3, 3);
  });

  it('reads float16 datasets of Keras 2 .h5 and Keras 3 .keras files written by h5py, exactly', async (ctx) => {
    const dir = tmp();
    // No Python at all (runAsync rejects) skips as a Python without h5py does.
    const r = await runPythonScript([path.resolve(__dirname, '../../scripts/keras_f16_fixtures.py'), dir]).catch((err: Error) => ({ status: null, stderr: err.message }));
    if (r.status !== 0) {
      console.warn(`[skip] ${PYTHON} cannot write the float16 fixtures (apt-get install python3-h5py): ${r.stderr.split('\n').filter(Boolean).at(-1)}`);
      return ctx.skip();
    }
    const expected = JSON.parse(fs.readFileSync(path.join(dir, 'expected.json'), 'utf8')) as Record<string, { shape: number[]; data: (number | null)[]; inf: number[]; negzero: boolean[] }>;
    const want = (k: string): number[] => expected[k].data.map((v, i) => (v === null ? expected[k].inf[i] * Infinity : expected[k].negzero[i] ? -0 : v));
    const h5 = await readKerasH5(path.join(dir, 'f16_weights.h5'));
    expect([...h5.keys()].sort()).toEqual(Object.keys(expected).sort());
    for (const k of Object.keys(expected)) {
      expect(h5.get(k)?.shape).toEqual(expected[k].shape);
      expect(Array.from(h5.get(k)?.data ?? [])).toEqual(want(k));
    }
    const { layers } = await readKerasArchive(path.join(dir, 'f16.keras'));
    expect(Array.from(layers.get('dense_a')?.[0].data ?? [])).toEqual(want('dense_a/kernel'));
    expect(Array.from(layers.get('dense_b')?.[1].data ?? [])).toEqual(want('dense_b/bias'));
  });
});
