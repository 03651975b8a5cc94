/**
 * PyTorch checkpoints read without Python: fixtures written by torch.save itself
 * (scripts/torch_pth_fixtures.py) in both layouts, compared value for value with what torch
 * reports; then real torchvision state dicts loaded through loadPretrained.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadPretrained, useBackend } from '../../src/index.js';
import { loadTorchStateDict, readSafetensors, readTorchCheckpoint } from '../../src/entries/io.js';
import { buildZooModel } from '../../src/entries/models.js';
import { setInferenceFolding } from '../../src/layers/fold_batch_norm.js';
import { PYTHON, pythonImports, runPythonScript, torchAvailable } from '../helpers/torch.js';
import { firstBitDifference } from '../helpers/compare.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'tk-pth-'));
let fixtures: string | null = null;

async function writeFixtures(script: string, ...args: string[]): Promise<string | null> {
  if (!(await torchAvailable())) return null;
  const dir = tmp();
  const r = await runPythonScript([path.resolve(__dirname, '../../scripts', script), dir, ...args]);
  if (r.status !== 0) throw new Error(`${script} failed: ${r.stderr}`);
  return dir;
}

beforeAll(async () => {
  await useBackend('cpu');
  fixtures = await writeFixtures('torch_pth_fixtures.py');
});

type Expected = Record<string, { shape: number[]; values: number[] }>;

function expectSame(got: Map<string, { shape: number[]; data: Float32Array | Int32Array }>, expected: Expected): void {
  for (const [name, e] of Object.entries(expected)) {
    if (name.startsWith('__')) continue;
    const t = got.get(name);
    expect(t, name).toBeDefined();
    expect(t?.shape, name).toEqual(e.shape);
    // float32 values are exact; float64 are compared after torch's own float32 conversion.
    expect(Array.from(t?.data ?? []), name).toEqual(e.values.map((v) => (Number.isInteger(v) ? v : Math.fround(v))));
  }
}

describe('readTorchCheckpoint', () => {
  it('reads every dtype, strided views, shared storages and parameters as torch.load does, in both layouts', (ctx) => {
    if (fixtures === null) return ctx.skip();
    const expected = JSON.parse(fs.readFileSync(path.join(fixtures, 'expected.json'), 'utf8')) as Expected;
    for (const f of ['edge.pth', 'edge_legacy.pth']) {
      const sd = readTorchCheckpoint(path.join(fixtures, f));
      expect([...sd.keys()]).toEqual(Object.keys(expected).filter((k) => !k.startsWith('__')));
      expectSame(sd, expected);
      expect(sd.get('transposed')?.shape).toEqual([6, 4]);
      expect(sd.get('i64')?.dtype).toBe('int32');
      expect(sd.get('bf16')?.dtype).toBe('float32');
    }
  });

  it("finds the state dict inside a training checkpoint, strips DataParallel's 'module.', and never builds foreign objects", (ctx) => {
    if (fixtures === null) return ctx.skip();
    const expected = (JSON.parse(fs.readFileSync(path.join(fixtures, 'expected.json'), 'utf8')) as Record<string, Expected>).__checkpoint__;
    const file = path.join(fixtures, 'checkpoint.pth');
    const sd = readTorchCheckpoint(file);
    expect([...sd.keys()]).toEqual(Object.keys(expected));
    expectSame(sd, expected);
    expect([...readTorchCheckpoint(file, { key: 'state_dict', stripPrefix: false }).keys()][0]).toBe('module.0.weight');
    // The optimizer's momentum buffers are tensors too, reachable by key.
    expect(() => readTorchCheckpoint(file, { key: 'optimizer/state' })).toThrow(/no state dict found/);
    expect(() => readTorchCheckpoint(file, { key: 'ema' })).toThrow(/checkpoint\.pth: no entry 'ema' \(at 'ema': keys 'epoch', 'state_dict', 'optimizer', 'args', 'best'\)/);
  });

  it('refuses truncated files, plain pickles and non-checkpoints with the file named', (ctx) => {
    if (fixtures === null) return ctx.skip();
    const dir = tmp();
    for (const f of ['edge.pth', 'edge_legacy.pth']) {
      const bytes = fs.readFileSync(path.join(fixtures as string, f));
      const cut = path.join(dir, `cut_${f}`);
      fs.writeFileSync(cut, bytes.subarray(0, bytes.length - 40));
      expect(() => readTorchCheckpoint(cut)).toThrow(new RegExp(`cut_${f.replace('.', '\\.')}: .*truncated`));
    }
    const plain = path.join(dir, 'plain.pkl');
    // pickle.dumps({'a': 1}, protocol=2)
    fs.writeFileSync(plain, Buffer.from('80027d710058010000006171014b01732e', 'hex'));
    expect(() => readTorchCheckpoint(plain)).toThrow(/plain\.pkl: a pickle, but not one written by torch\.save/);
    const text = path.join(dir, 'notes.pth');
    fs.writeFileSync(text, 'hello');
    expect(() => readTorchCheckpoint(text)).toThrow(/notes\.pth: neither a zip archive nor a pickle/);
    expect(() => readTorchCheckpoint(path.join(dir, 'absent.pth'))).toThrow(/not found: .*absent\.pth/);
  });
});

describe('torchvision .pth weights in the zoo', () => {
  it('the .pth state dicts equal the safetensors ones, and loadPretrained reads a full checkpoint into a no-top model', async (ctx) => {
    if (!(await pythonImports('torch, torchvision'))) {
      console.warn(`[skip] ${PYTHON} cannot import torch and torchvision (apt-get install python3-torch python3-torchvision)`);
      return ctx.skip();
    }
    const dir = (await writeFixtures('torchvision_fixtures.py', '--size', '64', '--models', 'resnet18,mobilenet_v2')) as string;
    for (const name of ['resnet18', 'mobilenet_v2']) {
      const ref = readSafetensors(path.join(dir, `${name}.safetensors`));
      for (const f of [`${name}.pth`, `${name}_legacy.pth`]) {
        const sd = readTorchCheckpoint(path.join(dir, f));
        expect([...sd.keys()].sort(), f).toEqual([...ref.keys()].sort());
        for (const [k, t] of ref) {
          const got = sd.get(k);
          expect(got?.shape, `${f} ${k}`).toEqual(t.shape);
          expect(firstBitDifference(got!.data, t.data), `${f} ${k}: first differing element`).toBe(-1);
        }
      }
    }
    // A 10-class torchvision checkpoint serves the 1000-class architecture without its top: `fc` is
    // dropped, and the features equal those of the safetensors-loaded (parity-tested) model.
    const pm = await loadPretrained('resnet18.tv_in1k', { weights: path.join(dir, 'resnet18_legacy.pth'), includeTop: false, inputShape: [64, 64, 3] });
    const { model: full } = buildZooModel('resnet18.tv_in1k', { includeTop: true, classes: 10, inputShape: [64, 64, 3] });
    loadTorchStateDict(full, readSafetensors(path.join(dir, 'resnet18.safetensors')));
    const x = tf.randomNormal([2, 64, 64, 3], 0, 1, 'float32', 3);
    setInferenceFolding(false); // bit-exact comparison: folding rounds differently (fold_batch_norm.test.ts)
    const a = pm.model.predict(x) as tf.Tensor;
    setInferenceFolding(true);
    const featureModel = (await import('@tensorflow/tfjs-layers')).model({ inputs: full.inputs, outputs: full.getLayer(pm.featureLayer).output });
    const c = featureModel.predict(x) as tf.Tensor;
    expect(a.shape).toEqual(c.shape);
    expect(tf.max(tf.abs(tf.sub(a, c))).dataSync()[0]).toBe(0);
    expect(tf.moments(c).variance.dataSync()[0]).toBeGreaterThan(1e-3);
    tf.dispose([x, a, c]);
    pm.model.dispose();
    full.dispose();
  }, 180_000);
});
