import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadPretrained, useBackend } from '../../src/index.js';
import { fileSystem, registerFileRouters } from '../../src/entries/io.js';
import { tinyConvNet } from '../helpers/tiny_model.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'tk-io-'));

beforeAll(async () => {
  await useBackend('wasm');
});

async function savedTiny(): Promise<{ dir: string; model: tfl.LayersModel }> {
  const dir = path.join(tmp(), 'model');
  const model = tinyConvNet();
  await model.save(fileSystem(dir));
  return { dir, model };
}

describe('filesystem IO', () => {
  it('round-trips a model exactly (weights and predictions)', async () => {
    const { dir, model } = await savedTiny();
    expect(fs.readdirSync(dir).sort()).toEqual(['model.json', 'weights.bin']);
    const again = await tfl.loadLayersModel(fileSystem(dir));
    const x = tf.randomNormal([2, 16, 16, 3], 0, 1, 'float32', 3);
    const a = (model.predict(x) as tf.Tensor).dataSync();
    const b = (again.predict(x) as tf.Tensor).dataSync();
    expect(Array.from(b)).toEqual(Array.from(a));
  });

  it('file:// URLs work through registered routers', async () => {
    registerFileRouters();
    const dir = path.join(tmp(), 'routed');
    const model = tinyConvNet();
    await model.save(`file://${dir}`);
    const again = await tfl.loadLayersModel(`file://${dir}/model.json`);
    expect(again.countParams()).toBe(model.countParams());
  });

  it('a failed save leaves the previous model intact and no temp folder behind', async () => {
    const { dir } = await savedTiny();
    const before = fs.readFileSync(path.join(dir, 'weights.bin'));
    const handler = fileSystem(dir);
    // A topology that cannot be serialised fails after the weights were written to the temp folder.
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    await expect(handler.save!({ modelTopology: cyclic, weightSpecs: [], weightData: new ArrayBuffer(8) })).rejects.toMatchObject({ code: 'E_IO_WRITE' });
    expect(fs.readFileSync(path.join(dir, 'weights.bin')).equals(before)).toBe(true);
    expect(fs.readdirSync(path.dirname(dir)).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('names a missing shard', async () => {
    const { dir } = await savedTiny();
    fs.rmSync(path.join(dir, 'weights.bin'));
    await expect(loadPretrained(dir)).rejects.toMatchObject({ code: 'E_IO_SHARD_MISSING', message: expect.stringContaining(path.join(dir, 'weights.bin')) });
  });

  it('names a shard whose size differs from the manifest', async () => {
    const { dir } = await savedTiny();
    const f = path.join(dir, 'weights.bin');
    fs.writeFileSync(f, fs.readFileSync(f).subarray(0, 100));
    await expect(loadPretrained(dir)).rejects.toMatchObject({ code: 'E_IO_SHARD_SIZE', message: expect.stringMatching(/100 bytes/) });
  });

  it('names an unsupported dtype', async () => {
    const { dir } = await savedTiny();
    const j = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
    j.weightsManifest[0].weights[0].dtype = 'float64';
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(j));
    await expect(loadPretrained(dir)).rejects.toMatchObject({ code: 'E_IO_BAD_DTYPE', message: expect.stringContaining('Conv1/kernel') });
  });

  it('names an unknown layer class and the fix', async () => {
    const { dir } = await savedTiny();
    const j = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
    (j.modelTopology.model_config ?? j.modelTopology).config.layers[1].class_name = "MyFancyConv";
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(j));
    await expect(loadPretrained(dir)).rejects.toMatchObject({ code: 'E_IO_UNKNOWN_LAYER', message: expect.stringContaining('MyFancyConv') });
  });

  it('says what to pass when the folder has no model', async () => {
    await expect(loadPretrained(path.join(tmp(), 'nothing-here'))).rejects.toMatchObject({ code: 'E_IO_NOT_FOUND' });
    await expect(loadPretrained(tmp())).rejects.toMatchObject({ code: 'E_IO_NOT_FOUND', message: expect.stringContaining('model.json') });
  });
});
