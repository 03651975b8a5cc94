/**
 * safetensors reader/writer (round trip, F16/BF16/I64 decoding, sharded index, truncation and
 * header errors) and torchvision parity: a random-initialised torchvision ResNet18 (BatchNorm
 * statistics randomised) loaded into the zoo's ResNet18 gives PyTorch's probabilities within 1e-4.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/index.js';
import { loadTorchStateDict, readSafetensors, SafetensorsFile, torchvisionVgg16Mapping, writeSafetensors } from '../../src/entries/io.js';
import { buildZooModel } from '../../src/entries/models.js';
import { PYTHON, pythonImports, runPythonScript, torchAvailable } from '../helpers/torch.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'tk-st-'));

/** A safetensors file from a hand-written header and byte payload. */
function handMade(file: string, header: object, payload: Uint8Array, headerLen?: number): void {
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(headerLen ?? json.length));
  fs.writeFileSync(file, Buffer.concat([len, json, Buffer.from(payload)]));
}

beforeAll(async () => {
  await useBackend('wasm');
});

describe('safetensors', () => {
  it('round-trips F32 and I32 tensors with metadata, 8-byte aligned, atomically', () => {
    const file = path.join(tmp(), 'a.safetensors');
    writeSafetensors(file, { w: { dtype: 'float32', shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6.5]) }, n: { dtype: 'int32', shape: [1], data: Int32Array.from([7]) } }, { format: 'pt' });
    const f = SafetensorsFile.open(file);
    expect(f.names).toEqual(['w', 'n']);
    expect(f.metadata).toEqual({ format: 'pt' });
    expect(Array.from(f.get('w').data)).toEqual([1, 2, 3, 4, 5, 6.5]);
    expect(f.get('n')).toEqual({ dtype: 'int32', shape: [1], data: Int32Array.from([7]) });
    f.close();
    const headerLen = Number(fs.readFileSync(file).readBigUInt64LE(0));
    expect((8 + headerLen) % 8).toBe(0);
    expect(fs.readdirSync(path.dirname(file))).toEqual(['a.safetensors']);
  });

  it('decodes F16, BF16 and I64 (values written from their bit patterns), at an odd data offset', () => {
    const file = path.join(tmp(), 'b.safetensors');
    // F16: 1.0 = 0x3C00, -2.0 = 0xC000, 0.5 = 0x3800; BF16: 1.0 = 0x3F80, 3.0 = 0x4040; I64: 5, -3.
    const f16 = [0x3c00, 0xc000, 0x3800];
    const bf16 = [0x3f80, 0x4040];
    const bytes = new Uint8Array(1 + 6 + 4 + 16);
    const dv = new DataView(bytes.buffer);
    f16.forEach((h, i) => dv.setUint16(1 + 2 * i, h, true));
    bf16.forEach((h, i) => dv.setUint16(7 + 2 * i, h, true));
    dv.setBigInt64(11, 5n, true);
    dv.setBigInt64(19, -3n, true);
    handMade(file, { pad: { dtype: 'U8', shape: [1], data_offsets: [0, 1] }, h: { dtype: 'F16', shape: [3], data_offsets: [1, 7] }, b: { dtype: 'BF16', shape: [2], data_offsets: [7, 11] }, i: { dtype: 'I64', shape: [2], data_offsets: [11, 27] } }, bytes);
    const f = SafetensorsFile.open(file);
    expect(Array.from(f.get('h').data)).toEqual([1, -2, 0.5]);
    expect(Array.from(f.get('b').data)).toEqual([1, 3]);
    expect(f.get('i')).toEqual({ dtype: 'int32', shape: [2], data: Int32Array.from([5, -3]) });
    expect(() => f.get('pad')).toThrow(/dtype U8/);
    f.close();
  });

  it('reads a sharded checkpoint through its index, and names truncated or foreign files', () => {
    const dir = tmp();
    writeSafetensors(path.join(dir, 'model-00001-of-00002.safetensors'), { a: { dtype: 'float32', shape: [2], data: Float32Array.from([1, 2]) } });
    writeSafetensors(path.join(dir, 'model-00002-of-00002.safetensors'), { b: { dtype: 'float32', shape: [1], data: Float32Array.from([3]) } });
    fs.writeFileSync(path.join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { a: 'model-00001-of-00002.safetensors', b: 'model-00002-of-00002.safetensors' } }));
    const all = readSafetensors(path.join(dir, 'model.safetensors.index.json'));
    expect([...all.keys()].sort()).toEqual(['a', 'b']);
    const full = fs.readFileSync(path.join(dir, 'model-00001-of-00002.safetensors'));
    fs.writeFileSync(path.join(dir, 'cut.safetensors'), full.subarray(0, full.length - 3));
    expect(() => SafetensorsFile.open(path.join(dir, 'cut.safetensors'))).toThrow(/cut\.safetensors: tensor 'a' ends at byte \d+, past the end of the file .*truncated/);
    fs.writeFileSync(path.join(dir, 'not.safetensors'), 'PK\u0003\u0004 this is a zip');
    expect(() => SafetensorsFile.open(path.join(dir, 'not.safetensors'))).toThrow(/header length .* does not fit the file/);
  });
});

describe('torchvision parity', () => {
  it('torchvision ResNet18 and MobileNetV2 (probabilities) and the VGG16 conv base (feature maps) in the zoo equal PyTorch (1e-4)', async (ctx) => {
    if (!(await torchAvailable())) return ctx.skip();
    if (!(await pythonImports('torchvision'))) {
      console.warn(`[skip] ${PYTHON} cannot import torchvision (apt-get install python3-torchvision)`);
      return ctx.skip();
    }
    const dir = tmp();
    const r = await runPythonScript([path.resolve(__dirname, '../../scripts/torchvision_fixtures.py'), dir, '--size', '64']);
    expect(r.status, r.stderr).toBe(0);
    const { model } = buildZooModel('resnet18.tv_in1k', { includeTop: true, classes: 10, inputShape: [64, 64, 3] });
    const report = loadTorchStateDict(model, readSafetensors(path.join(dir, 'resnet18.safetensors')));
    expect(report.copied.length).toBe(model.weights.length);
    const io = readSafetensors(path.join(dir, 'resnet18_io.safetensors'));
    const x = io.get('x');
    const probs = io.get('probs');
    const input = tf.transpose(tf.tensor(x?.data as Float32Array, x?.shape), [0, 2, 3, 1]);
    const out = model.predict(input) as tf.Tensor;
    const got = out.dataSync();
    let worst = 0;
    (probs?.data as Float32Array).forEach((p, i) => (worst = Math.max(worst, Math.abs(p - got[i]))));
    expect(worst).toBeLessThan(1e-4);
    // The test would notice a wrong mapping: the probabilities are far from uniform.
    expect(Math.max(...Array.from(probs?.data as Float32Array))).toBeGreaterThan(0.2);
    // A state dict for another class count is refused by name.
    const { model: other } = buildZooModel('resnet18.tv_in1k', { includeTop: true, classes: 5, inputShape: [64, 64, 3] });
    expect(() => loadTorchStateDict(other, readSafetensors(path.join(dir, 'resnet18.safetensors')))).toThrow(/Wrong shape \(2\): fc\.weight: model fc\/kernel \[512, 5\] vs checkpoint \[10, 512\]/);
    tf.dispose([input, out]);
    model.dispose();
    other.dispose();

    // VGG16's convolutional base: torchvision's features.N mapped onto the Keras-layout zoo model.
    const { model: vgg } = buildZooModel('vgg16', { includeTop: false, inputShape: [64, 64, 3] });
    const vm = torchvisionVgg16Mapping();
    const vreport = loadTorchStateDict(vgg, readSafetensors(path.join(dir, 'vgg16_features.safetensors')), { mapping: vm });
    expect(vreport.copied).toContain('features.28.weight');
    const vio = readSafetensors(path.join(dir, 'vgg16_features_io.safetensors'));
    const vx = vio.get('x') as { data: Float32Array; shape: number[] };
    const vy = vio.get('probs') as { data: Float32Array; shape: number[] };
    const got2 = tf.tidy(() => tf.transpose(vgg.predict(tf.transpose(tf.tensor(vx.data, vx.shape), [0, 2, 3, 1])) as tf.Tensor, [0, 3, 1, 2]).dataSync());
    const scale = Math.max(...Array.from(vy.data).map(Math.abs));
    let worstV = 0;
    vy.data.forEach((v, i) => (worstV = Math.max(worstV, Math.abs(v - got2[i]))));
    expect(worstV / scale).toBeLessThan(1e-4);
    vgg.dispose();

    // MobileNetV2 in torchvision's layout: depthwise [C, 1, 3, 3] kernels, symmetric padding, ReLU6.
    const { model: mnv2 } = buildZooModel('mobilenet_v2.tv_in1k', { includeTop: true, classes: 10, inputShape: [64, 64, 3] });
    expect(loadTorchStateDict(mnv2, readSafetensors(path.join(dir, 'mobilenet_v2.safetensors'))).copied.length).toBe(mnv2.weights.length);
    const mio = readSafetensors(path.join(dir, 'mobilenet_v2_io.safetensors'));
    const mx = mio.get('x') as { data: Float32Array; shape: number[] };
    const mp = (mio.get('probs') as { data: Float32Array }).data;
    const got3 = tf.tidy(() => (mnv2.predict(tf.transpose(tf.tensor(mx.data, mx.shape), [0, 2, 3, 1])) as tf.Tensor).dataSync());
    expect(Math.max(...Array.from(mp, (p, i) => Math.abs(p - got3[i])))).toBeLessThan(1e-4);
    // Far from uniform relative to the 1e-4 tolerance, so a wrong mapping could not pass.
    expect(Math.max(...Array.from(mp)) - Math.min(...Array.from(mp))).toBeGreaterThan(0.02);
    mnv2.dispose();
  }, 180_000);

  it("a Linear after an NCHW flatten is permuted to TF's HWC flatten (flattenChw)", async (ctx) => {
    if (!(await torchAvailable())) return ctx.skip();
    const script = `
import json, sys, torch
torch.manual_seed(1)
m = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.Flatten(), torch.nn.Linear(4 * 5 * 6, 3)).eval()
x = torch.randn(2, 3, 5, 6)
with torch.no_grad(): y = m(x)
print(json.dumps({k: {"shape": list(v.shape), "data": v.flatten().tolist()} for k, v in {**m.state_dict(), "x": x, "y": y}.items()}))
`;
    const r = await runPythonScript(['-c', script]);
    expect(r.status, r.stderr).toBe(0);
    const d = JSON.parse(r.stdout) as Record<string, { shape: number[]; data: number[] }>;
    const tfl = await import('@tensorflow/tfjs-layers');
    const inp = tfl.input({ shape: [5, 6, 3] });
    let h = tfl.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', name: 'conv' }).apply(inp) as import('@tensorflow/tfjs-layers').SymbolicTensor;
    h = tfl.layers.flatten({ name: 'flat' }).apply(h) as import('@tensorflow/tfjs-layers').SymbolicTensor;
    const out = tfl.layers.dense({ units: 3, name: 'fc' }).apply(h) as import('@tensorflow/tfjs-layers').SymbolicTensor;
    const m = tfl.model({ inputs: inp, outputs: out });
    const sd = new Map(['0.weight', '0.bias', '2.weight', '2.bias'].map((k) => [k, { dtype: 'float32' as const, shape: d[k].shape, data: Float32Array.from(d[k].data) }]));
    loadTorchStateDict(m, sd, { mapping: { names: { conv: '0', fc: '2' }, flattenChw: { fc: [4, 5, 6] } } });
    const y = (m.predict(tf.transpose(tf.tensor(d.x.data, d.x.shape), [0, 2, 3, 1])) as tf.Tensor).dataSync();
    d.y.data.forEach((v, i) => expect(y[i]).toBeCloseTo(v, 4));
    // Without the permutation the same weights give other numbers (the test can fail).
    loadTorchStateDict(m, sd, { mapping: { names: { conv: '0', fc: '2' } } });
    const wrong = (m.predict(tf.transpose(tf.tensor(d.x.data, d.x.shape), [0, 2, 3, 1])) as tf.Tensor).dataSync();
    expect(Math.max(...d.y.data.map((v, i) => Math.abs(v - wrong[i])))).toBeGreaterThan(1e-3);
  });
});
