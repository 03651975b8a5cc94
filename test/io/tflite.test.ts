/**
 * TFLite as a weight source (issue 28): the real int8 MobileNetV2 1.0 export in ../shared against
 * the TF.js folder made from it, and fixtures written by test/fixtures/tflite_writer.ts in every
 * encoding the reader claims (float32, float16, uint8 per-tensor, int8 per-channel).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPretrained, useBackend } from '../../src/index.js';
import { loadTfliteWeights, parseTflite } from '../../src/entries/io.js';
import { asset } from '../helpers/assets.js';
import { caught, codedError, limitsPerTest } from '../helpers/errors.js';
import { tinyConvNet } from '../helpers/tiny_model.js';
import { aliasedTensorsFile, bytesOf, exportModel, foldModel, OP, toHalf, type FixtureMode } from '../fixtures/tflite_writer.js';
import { loadImageFiles } from '../../src/index.js';

let work: string;
beforeAll(async () => {
  await useBackend('cpu');
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-tflite-'));
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

/** Gives every BatchNorm non-trivial statistics, so that folding them into the kernels shows. */
function randomiseBatchNorm(model: tfl.LayersModel, seed: number): void {
  let s = seed;
  const rand = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    const n = layer.getWeights()[0].shape[0];
    const vec = (lo: number, hi: number) => tf.tensor1d(Array.from({ length: n }, () => lo + (hi - lo) * rand()));
    const w = [vec(0.5, 1.5), vec(-0.2, 0.2), vec(-0.2, 0.2), vec(0.5, 1.5)];
    layer.setWeights(w);
    tf.dispose(w);
  }
}

function writeFixture(name: string, bytes: Uint8Array): string {
  const file = path.join(work, name);
  fs.writeFileSync(file, bytes);
  return file;
}

function weightsOf(model: tfl.LayersModel): Map<string, Float32Array> {
  return new Map(model.layers.flatMap((l) => l.weights.map((w) => [`${l.name}/${w.originalName.split('/').pop()}`, w.read().dataSync() as Float32Array] as const)));
}

describe('the real int8 MobileNetV2 1.0 export', () => {
  const dir = asset('models/mobilenet_v2_1.0_224_keras_from_tflite');
  it.skipIf(dir === null)('loads onto the zoo architecture equal to the TF.js folder made from it (within 1e-6)', async () => {
    const d = dir as string;
    const before = tf.memory().numTensors;
    const fromTflite = await loadPretrained('mobilenet_v2_1.0_224', { includeTop: true, weights: path.join(d, 'source/mobilenet_v2_1.0_224_quant.tflite') });
    const fromFolder = await loadPretrained(d);
    const a = weightsOf(fromTflite.model);
    const b = weightsOf(fromFolder.model);
    expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
    expect(a.size).toBe(262);
    let worst = 0;
    for (const [k, v] of a) {
      const o = b.get(k) as Float32Array;
      expect(v.length, k).toBe(o.length);
      for (let i = 0; i < v.length; i++) worst = Math.max(worst, Math.abs(v[i] - o[i]));
    }
    console.log(`[tflite] ${a.size} weights compared with the shared TF.js folder: max |difference| ${worst}`);
    expect(worst).toBeLessThanOrEqual(1e-6);
    // Folded BatchNorm: identity statistics carrying the folded shift.
    expect(Array.from(a.get('bn_Conv1/gamma') as Float32Array).every((v) => v === 1)).toBe(true);
    expect(Array.from(a.get('bn_Conv1/moving_mean') as Float32Array).every((v) => v === 0)).toBe(true);
    expect((a.get('bn_Conv1/moving_variance') as Float32Array)[0]).toBeCloseTo(1 - 1e-3, 7);
    const x = tf.randomUniform([1, 224, 224, 3], -1, 1, 'float32', 3);
    const [ya, yb] = [fromTflite.model.predict(x) as tf.Tensor, fromFolder.model.predict(x) as tf.Tensor];
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(ya, yb))).dataSync()[0])).toBeLessThanOrEqual(1e-6);
    tf.dispose([x, ya, yb]);
    fromTflite.model.dispose();
    fromFolder.model.dispose();
    // The folder holding the file serves too, and a model without its top skips the classifier.
    const noTop = await loadPretrained('mobilenet_v2_1.0_224', { weights: path.join(d, 'source') });
    expect(noTop.model.layers.some((l) => l.name === 'predictions')).toBe(false);
    expect(noTop.featureLayer).toBe('out_relu');
    noTop.model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  }, 120_000);

  it.skipIf(dir === null)('graph: 71 ops, per-channel int8 kernels along the right axis, int32 biases', () => {
    const file = path.join(dir as string, 'source/mobilenet_v2_1.0_224_quant.tflite');
    const g = parseTflite(new Uint8Array(fs.readFileSync(file)), file);
    expect(g.operators.length).toBe(71);
    const conv = g.operators.find((o) => o.op === 'CONV_2D') as { inputs: number[] };
    const dw = g.operators.find((o) => o.op === 'DEPTHWISE_CONV_2D') as { inputs: number[] };
    expect(g.tensors[conv.inputs[1]]).toMatchObject({ dtype: 'int8', shape: [32, 3, 3, 3], quantization: { axis: 0 } });
    expect(g.tensors[conv.inputs[1]].quantization?.scale.length).toBe(32);
    expect(g.tensors[dw.inputs[1]]).toMatchObject({ dtype: 'int8', shape: [1, 3, 3, 32], quantization: { axis: 3 } });
    expect(g.tensors[conv.inputs[2]].dtype).toBe('int32');
  });

  it.skipIf(dir === null || asset('data/hymenoptera/train') === null)('classifies real photos: ants as ImageNet 310 "ant", bees as 309 "bee"', async () => {
    // Independent of the TF.js folder: the file's own ImageNet classifier on photos it never saw.
    const d = dir as string;
    const photos = asset('data/hymenoptera/train') as string;
    const pick = (cls: string) => fs.readdirSync(path.join(photos, cls)).filter((f) => f.endsWith('.jpg')).sort().slice(0, 6).map((f) => path.join(photos, cls, f));
    const pm = await loadPretrained('mobilenet_v2_1.0_224', { includeTop: true, weights: path.join(d, 'source/mobilenet_v2_1.0_224_quant.tflite') });
    const data = await loadImageFiles([...pick('ants'), ...pick('bees')], { size: [224, 224], preprocessing: pm.preprocessing });
    // One photo per call with a macrotask turn between (cpu's data() resolves as a microtask): the
    // 12-photo batch blocked the worker ~10 s at once.
    const top: number[] = [];
    for (let i = 0; i < data.xs.shape[0]; i++) {
      const best = tf.tidy(() => (pm.model.predict(tf.slice(data.xs, i, 1)) as tf.Tensor).argMax(-1));
      top.push((await best.data())[0]);
      best.dispose();
      await new Promise((resolve) => setImmediate(resolve));
    }
    const right = top.filter((c, i) => c === (i < 6 ? 310 : 309)).length;
    console.log(`[tflite] ImageNet top-1 on 6 ant + 6 bee photos: ${right}/12 (${top.join(', ')})`);
    expect(right).toBeGreaterThanOrEqual(9);
    data.xs.dispose();
    pm.model.dispose();
  }, 120_000);
});

describe('fixtures in every encoding', () => {
  const modes: Array<[FixtureMode, number]> = [['float32', 1e-5], ['float16', 2e-3], ['uint8', 0], ['int8', 0]];
  it.each(modes)('%s: kernels transposed to Keras layout, BatchNorm folded, values as quantized', async (mode, outputTol) => {
    const source = tinyConvNet({ seed: 3 });
    randomiseBatchNorm(source, 11);
    const folded = foldModel(source);
    const file = writeFixture(`tiny-${mode}.tflite`, exportModel(source, mode));
    const target = tinyConvNet({ seed: 9 });
    const before = tf.memory().numTensors;
    loadTfliteWeights(target, file);
    expect(tf.memory().numTensors).toBe(before);
    const got = weightsOf(target);
    for (const f of folded) {
      const key = `${f.layer}/${f.op === 'DEPTHWISE_CONV_2D' ? 'depthwise_kernel' : 'kernel'}`;
      const k = got.get(key) as Float32Array;
      // Back to TFLite layout to compare element by element with what was written.
      const [o] = f.kernelShape;
      const inner = f.kernel.length / o;
      const back = f.op === 'DEPTHWISE_CONV_2D' ? k : Float32Array.from(f.kernel, (_, idx) => k[(idx % inner) * o + Math.floor(idx / inner)]);
      // Quantization error bound per output channel: half a step of that channel's scale (int8
      // per-channel) or of the tensor's (uint8 per-tensor); float16: 2^-11 relative.
      const channels = f.op === 'DEPTHWISE_CONV_2D' ? f.kernelShape[3] : o;
      const chanOf = (idx: number) => (f.op === 'DEPTHWISE_CONV_2D' ? idx % channels : Math.floor(idx / inner));
      const maxAbs = new Float64Array(channels);
      let lo = 0;
      let hi = 0;
      f.kernel.forEach((v, idx) => {
        maxAbs[chanOf(idx)] = Math.max(maxAbs[chanOf(idx)], Math.abs(v));
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      });
      f.kernel.forEach((v, idx) => {
        const bound = mode === 'float32' ? 0 : mode === 'float16' ? Math.abs(v) * 2 ** -11 + 6e-8 : mode === 'int8' ? maxAbs[chanOf(idx)] / 127 / 2 : (hi - lo) / 255 / 2;
        expect(Math.abs(back[idx] - v), `${key}[${idx}]`).toBeLessThanOrEqual(bound * 1.0001 + 1e-9);
      });
      if (f.bn !== null) {
        expect(Array.from(got.get(`${f.bn}/gamma`) as Float32Array).every((v) => v === 1)).toBe(true);
        const beta = got.get(`${f.bn}/beta`) as Float32Array;
        f.bias.forEach((v, c) => expect(Math.abs(beta[c] - v)).toBeLessThanOrEqual(mode === 'float32' ? 0 : 0.02 * (mode === 'int8' ? maxAbs[c] : hi - lo) + Math.abs(v) * 1e-3 + 1e-6));
      }
    }
    // The network computes what the original computes (BatchNorm in inference mode).
    if (outputTol > 0) {
      const x = tf.randomUniform([2, 16, 16, 3], -1, 1, 'float32', 5);
      const feat = (m: tfl.LayersModel) => tfl.model({ inputs: m.inputs, outputs: m.getLayer('out_relu').output as tfl.SymbolicTensor }).predict(x) as tf.Tensor;
      const [ya, yb] = [feat(source), feat(target)];
      const scale = tf.max(tf.abs(ya)).dataSync()[0];
      expect(tf.max(tf.abs(tf.sub(ya, yb))).dataSync()[0]).toBeLessThanOrEqual(outputTol * Math.max(scale, 1) * 10);
      tf.dispose([x, ya, yb]);
    }
    source.dispose();
    target.dispose();
  });

  it('onto a zoo architecture by id: mobilenet_v2_0.35_96 round-trips a float32 export', async () => {
    const src = await loadPretrained('mobilenet_v2_0.35_96', { weights: null, includeTop: true, seed: 4 });
    randomiseBatchNorm(src.model, 5);
    const file = writeFixture('mnv2-035-96.tflite', exportModel(src.model, 'float32'));
    const got = await loadPretrained('mobilenet_v2_0.35_96', { weights: file, includeTop: true });
    const x = tf.randomUniform([1, 96, 96, 3], -1, 1, 'float32', 8);
    const feat = (m: tfl.LayersModel) => tfl.model({ inputs: m.inputs, outputs: m.getLayer('out_relu').output as tfl.SymbolicTensor }).predict(x) as tf.Tensor;
    const [ya, yb] = [feat(src.model), feat(got.model)];
    const rel = tf.max(tf.abs(tf.sub(ya, yb))).dataSync()[0] / tf.max(tf.abs(ya)).dataSync()[0];
    expect(rel).toBeLessThan(1e-4);
    tf.dispose([x, ya, yb]);
    src.model.dispose();
    got.model.dispose();
  }, 60_000);
});

describe('what the converter can write, and what it cannot have meant', () => {
  it('files with only the deprecated int8 opcode (schema before v3a) load', () => {
    const file = writeFixture('old-opcodes.tflite', exportModel(tinyConvNet({ seed: 2 }), 'float32', { opcodeOnlyDeprecated: true }));
    const m = tinyConvNet({ seed: 7 });
    expect(loadTfliteWeights(m, file).missing).toEqual([]);
    m.dispose();
  });

  it('a model without its top takes a full export when told to drop the classifier; a renamed layer is still an error', () => {
    const net = tinyConvNet({ seed: 2 });
    const noTop = tfl.model({ inputs: net.inputs, outputs: net.getLayer('global_average_pooling2d').output as tfl.SymbolicTensor });
    const full = writeFixture('full.tflite', exportModel(net, 'float32'));
    loadTfliteWeights(noTop, full, { dropLayers: (l) => l === 'predictions' });
    const renamed = writeFixture('full-renamed.tflite', exportModel(net, 'float32', { renameLayer: { block_1_project: 'block_1_projekt' } }));
    // Dropping the dense layers the model lacks (what loadPretrained does for includeTop: false)
    // must not swallow a convolution that is simply misnamed.
    const err = codedError(() => loadTfliteWeights(noTop, renamed, { dropLayers: (l, op) => op === 'FULLY_CONNECTED' && !noTop.layers.some((x) => x.name === l) }));
    expect(err.code).toBe('E_MODEL_TOPOLOGY');
    expect(err.message).toContain('block_1_projekt');
    net.dispose();
  });

  it('a float16 constant behind DEQUANTIZE feeding MUL is a parameter with nowhere to go: E_MODEL_TOPOLOGY', () => {
    const file = writeFixture('mul16.tflite', exportModel(tinyConvNet({ seed: 2 }), 'float16', {
      extra: (add) => {
        const c16 = add({ name: 'tiny/layer_scale/mul/y', shape: [16], type: 'float16', data: bytesOf(Uint16Array.from({ length: 16 }, () => toHalf(2))) });
        const c = add({ name: 'tiny/layer_scale/mul/y_dequantize', shape: [16], type: 'float32' });
        const y = add({ name: 'tiny/layer_scale/mul', shape: [1], type: 'float32' });
        return [{ op: OP.DEQUANTIZE, inputs: [c16], outputs: [c] }, { op: OP.MUL, inputs: [0, c], outputs: [y] }];
      },
    }));
    const err = codedError(() => loadTfliteWeights(tinyConvNet(), file));
    expect(err.code).toBe('E_MODEL_TOPOLOGY');
    expect(err.message).toContain('tiny/layer_scale/mul/y');
  });

  it('so is a quantized int8 constant of an ADD', () => {
    const file = writeFixture('add8.tflite', exportModel(tinyConvNet({ seed: 2 }), 'int8', {
      extra: (add) => {
        const c = add({ name: 'tiny/shift/add/y', shape: [16], type: 'int8', data: new Uint8Array(16).fill(3), quant: { scale: [0.1], zeroPoint: [0], axis: 0 } });
        const y = add({ name: 'tiny/shift/add', shape: [1], type: 'int8' });
        return [{ op: OP.ADD, inputs: [0, c], outputs: [y] }];
      },
    }));
    expect(codedError(() => loadTfliteWeights(tinyConvNet(), file)).message).toContain('tiny/shift/add/y');
  });

  it('a BatchNorm after a layer with its own activation is not taken as folded', () => {
    // Dense(relu) → BatchNorm: the converter cannot fold this BatchNorm; a file that only has the
    // dense layer's weights leaves the BatchNorm unfilled, which must be an error, not identity.
    const inp = tfl.input({ shape: [4], name: 'x' });
    const h = tfl.layers.dense({ units: 3, activation: 'relu', name: 'fc' }).apply(inp) as tfl.SymbolicTensor;
    const y = tfl.layers.batchNormalization({ name: 'fc_bn' }).apply(h) as tfl.SymbolicTensor;
    const m = tfl.model({ inputs: inp, outputs: tfl.layers.dense({ units: 2, name: 'out' }).apply(y) as tfl.SymbolicTensor, name: 'mlp' });
    const file = writeFixture('mlp.tflite', exportModel(m, 'float32'));
    const err = codedError(() => loadTfliteWeights(m, file));
    expect(err.code).toBe('E_MODEL_TOPOLOGY');
    expect(err.message).toContain('fc_bn');
    m.dispose();
  });
});

describe('bad TFLite input', () => {
  const lower = limitsPerTest();
  const fixture = () => exportModel(tinyConvNet({ seed: 2 }), 'int8');

  it('an op transferkit cannot map is E_NOT_IMPLEMENTED listing it', () => {
    const file = writeFixture('lstm.tflite', exportModel(tinyConvNet({ seed: 2 }), 'float32', { extraOps: [{ op: OP.LSTM, inputs: [0], outputs: [0] }] }));
    const err = codedError(() => loadTfliteWeights(tinyConvNet(), file));
    expect(err.code).toBe('E_NOT_IMPLEMENTED');
    expect(err.message).toContain('LSTM');
    expect(err.message).toContain(file);
  });

  it('a weight tensor naming no layer of the model is E_MODEL_TOPOLOGY listing the tensor', () => {
    const file = writeFixture('renamed.tflite', exportModel(tinyConvNet({ seed: 2 }), 'float32', { renameLayer: { block_1_project: 'block_1_projekt' } }));
    const err = codedError(() => loadTfliteWeights(tinyConvNet(), file));
    expect(err.code).toBe('E_MODEL_TOPOLOGY');
    expect(err.message).toContain('tiny/block_1_projekt/Conv2D');
  });

  it('a kernel of the wrong shape is E_MODEL_TOPOLOGY naming both shapes, and the model keeps its weights', () => {
    const file = writeFixture('three-classes.tflite', fixture());
    const m = tinyConvNet({ seed: 5, classes: 5 });
    const before = m.getWeights().map((w) => Array.from(w.dataSync()));
    const err = codedError(() => loadTfliteWeights(m, file));
    expect(err.code).toBe('E_MODEL_TOPOLOGY');
    expect(err.message).toContain('[3, 16]');
    expect(err.message).toContain('[5, 16]');
    expect(m.getWeights().map((w) => Array.from(w.dataSync()))).toEqual(before);
    m.dispose();
  });

  it('integer kernels without quantization parameters are E_IO_FORMAT, not raw integers', () => {
    const file = writeFixture('noscale.tflite', exportModel(tinyConvNet({ seed: 2 }), 'int8', { unquantizedKernels: true }));
    const err = codedError(() => loadTfliteWeights(tinyConvNet(), file));
    expect(err.code).toBe('E_IO_FORMAT');
    expect(err.message).toContain('without quantization');
  });

  it('tables shared between thousands of entries are refused before they decode to gigabytes', () => {
    const bytes = aliasedTensorsFile(8000, 100_000);
    expect(bytes.length).toBeLessThan(200_000);
    const err = codedError(() => parseTflite(bytes, 'aliased.tflite'));
    expect(err.code).toBe('E_IO_FORMAT');
    expect(err.message).toContain('more data than the file holds');
  });

  it('the wrong architecture is E_MODEL_TOPOLOGY naming the weights that do not fit', async () => {
    const file = writeFixture('tiny.tflite', fixture());
    const err = await caught(() => loadPretrained('mobilenet_v2_0.35_96', { weights: file, includeTop: true }));
    expect(err.code).toBe('E_MODEL_TOPOLOGY');
  });

  it('truncations, a wrong identifier and a damaged offset are E_IO_FORMAT naming the file', () => {
    const bytes = fixture();
    for (const cut of [0, 7, 16, 100, Math.floor(bytes.length / 2), bytes.length - 1]) {
      const file = writeFixture(`cut-${cut}.tflite`, bytes.slice(0, cut));
      const err = codedError(() => loadTfliteWeights(tinyConvNet(), file));
      expect(err.code, `cut at ${cut}`).toBe('E_IO_FORMAT');
      expect(err.message).toContain(file);
    }
    const wrongId = bytes.slice();
    wrongId[4] = 0x58;
    expect(codedError(() => parseTflite(wrongId, 'x.tflite')).message).toContain("'TFL3'");
    const badRoot = bytes.slice();
    new DataView(badRoot.buffer).setUint32(0, 0x7fffffff, true);
    expect(codedError(() => parseTflite(badRoot, 'x.tflite')).code).toBe('E_IO_FORMAT');
  });

  it('a tensor over maxTensorElements is E_LIMIT before it is decoded', () => {
    lower({ maxTensorElements: 100 });
    const err = codedError(() => parseTflite(fixture(), 'tiny.tflite'));
    expect(err.code).toBe('E_LIMIT');
    expect(err.message).toContain('maxTensorElements');
  });

  it('a folder must hold exactly one .tflite', async () => {
    const two = path.join(work, 'two');
    fs.mkdirSync(two);
    fs.writeFileSync(path.join(two, 'a.tflite'), fixture());
    fs.writeFileSync(path.join(two, 'b.tflite'), fixture());
    const err = codedError(() => loadTfliteWeights(tinyConvNet(), two));
    expect(err.code).toBe('E_IO_NOT_FOUND');
    expect(err.message).toContain('a.tflite, b.tflite');
  });
});
