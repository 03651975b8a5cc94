/**
 * Regressions found in review of the hardened loaders (issue 27): loads build the graph with zero
 * initialisers (an Orthogonal LSTM kernel took minutes when initialised for nothing), skip
 * optimizer slots saved with the model, heads on a backbone holding a nested model dispose in
 * either order, and an unlimited pixel limit reaches sharp as "no limit".
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadPretrained, replaceHead, setInputLimits, useBackend } from '../../src/index.js';
import { canDecodeWebpGif, decodeImageAsync, fileSystem } from '../../src/entries/io.js';

const tmp = () => path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tk-loadreg-')), 'm');

beforeAll(async () => {
  await useBackend('cpu');
});

describe('loadPretrained after the hardening', () => {
  it('an LSTM with an Orthogonal recurrent initialiser loads its weights without running the initialiser', async () => {
    const m = tfl.sequential({ layers: [tfl.layers.lstm({ units: 256, inputShape: [4, 8], recurrentInitializer: 'glorotUniform', name: 'lstm' }), tfl.layers.dense({ units: 2, name: 'out' })] });
    const dir = tmp();
    await m.save(fileSystem(dir));
    const file = path.join(dir, 'model.json');
    // What Keras writes by default; initialising it here took ~2 minutes (orthogonal 1024 x 256).
    const json = JSON.parse(fs.readFileSync(file, 'utf8')) as { modelTopology: { config: { layers: { config: Record<string, unknown> }[] } } };
    json.modelTopology.config.layers[0].config.recurrent_initializer = { class_name: 'Orthogonal', config: { gain: 1, seed: null } };
    fs.writeFileSync(file, JSON.stringify(json));
    expect(fs.readFileSync(file, 'utf8')).toContain('"Orthogonal"');
    const pm = await loadPretrained(dir);
    const want = m.getLayer('lstm').getWeights()[1].dataSync();
    expect(Array.from(pm.model.getLayer('lstm').getWeights()[1].dataSync())).toEqual(Array.from(want));
    m.dispose();
    pm.model.dispose();
  }, 60_000);

  it('a model saved with its optimizer state loads (the optimizer slots are not model weights)', async () => {
    const m = tfl.sequential({ layers: [tfl.layers.dense({ units: 3, inputShape: [4], name: 'd' })] });
    m.compile({ optimizer: tf.train.adam(0.01), loss: 'meanSquaredError' });
    const [x, y] = [tf.ones([2, 4]), tf.zeros([2, 3])];
    await m.fit(x, y, { epochs: 1, verbose: 0 });
    const dir = tmp();
    await m.save(fileSystem(dir), { includeOptimizer: true });
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8')) as { weightsManifest: { weights: { group?: string }[] }[] };
    expect(json.weightsManifest[0].weights.some((w) => w.group === 'optimizer')).toBe(true);
    const before = tf.memory().numTensors;
    const pm = await loadPretrained(dir);
    expect(Array.from(pm.model.getLayer('d').getWeights()[0].dataSync())).toEqual(Array.from(m.getLayer('d').getWeights()[0].dataSync()));
    pm.model.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, y]);
    m.dispose();
  });

  it('heads on a backbone that holds a nested model dispose in either order', async () => {
    for (const order of ['base-first', 'derived-first'] as const) {
      const before = tf.memory().numTensors;
      const innerIn = tfl.input({ shape: [8, 8, 3] });
      const inner = tfl.model({ inputs: innerIn, outputs: tfl.layers.conv2d({ filters: 4, kernelSize: 3, name: 'inner_conv' }).apply(innerIn) as tfl.SymbolicTensor, name: 'backbone' });
      const input = tfl.input({ shape: [8, 8, 3] });
      const feat = tfl.layers.globalAveragePooling2d({ name: 'pool' }).apply(inner.apply(input) as tfl.SymbolicTensor) as tfl.SymbolicTensor;
      const out = tfl.layers.dense({ units: 2, activation: 'softmax', name: 'predictions' }).apply(feat) as tfl.SymbolicTensor;
      const model = tfl.model({ inputs: input, outputs: out });
      const base = { model, inputShape: [8, 8, 3], preprocessing: { scale: 1, offset: 0, source: 'test' }, featureLayer: 'pool', headLayers: ['predictions'], source: 'test' };
      const derived = replaceHead(base, { numClasses: 3, seed: 1 });
      const models = order === 'base-first' ? [base, derived] : [derived, base];
      for (const m of models) expect(() => m.model.dispose()).not.toThrow();
      expect(tf.memory().numTensors).toBe(before);
    }
  });

  it('maxImagePixels: Infinity reaches sharp as "no limit" (a WebP still decodes)', async (ctx) => {
    if (!(await canDecodeWebpGif())) return ctx.skip();
    const before = setInputLimits({ maxImagePixels: Infinity });
    try {
      const img = await decodeImageAsync(new Uint8Array(fs.readFileSync(path.resolve(__dirname, '../fixtures/images/pattern.webp'))), 'pattern.webp');
      expect(img.width).toBeGreaterThan(0);
    } finally {
      setInputLimits(before);
    }
  });
});
