/**
 * The automatic feature layer of a loaded TF.js model steps behind a convolutional classifier
 * (issue 28): tfjs-models' MobileNet v1 layout (pool → reshape → dropout → 1×1 conv → reshape →
 * softmax) and Darknet's (1×1 conv → global pool) end in class scores, and a probe on them
 * trained on ImageNet probabilities instead of features.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadPretrained, useBackend } from '../../src/index.js';
import { fileSystem } from '../../src/entries/io.js';
import { asset } from '../helpers/assets.js';

beforeAll(async () => {
  await useBackend('cpu');
});

async function saved(model: tfl.LayersModel): Promise<string> {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tk-feat-')), 'm');
  await model.save(fileSystem(dir));
  model.dispose();
  return dir;
}

describe('automatic feature layer', () => {
  it("MobileNet v1's layout: the pooled features, not the softmax over a 1×1-conv classifier", async () => {
    const input = tfl.input({ shape: [16, 16, 3] });
    let x = tfl.layers.conv2d({ filters: 8, kernelSize: 3, activation: 'relu', name: 'conv_pw_13_relu' }).apply(input) as tfl.SymbolicTensor;
    x = tfl.layers.globalAveragePooling2d({ name: 'global_average_pooling2d_1' }).apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.reshape({ targetShape: [1, 1, 8], name: 'reshape_1' }).apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.dropout({ rate: 0.001, name: 'dropout' }).apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.conv2d({ filters: 10, kernelSize: 1, name: 'conv_preds' }).apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.reshape({ targetShape: [10], name: 'reshape_2' }).apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.activation({ activation: 'softmax', name: 'act_softmax' }).apply(x) as tfl.SymbolicTensor;
    const pm = await loadPretrained(await saved(tfl.model({ inputs: input, outputs: x })));
    expect(pm.featureLayer).toBe('global_average_pooling2d_1');
    expect(pm.headLayers).toEqual(['reshape_1', 'dropout', 'conv_preds', 'reshape_2', 'act_softmax']);
    pm.model.dispose();
  });

  it('a 1×1 convolution that is not a classifier (other width than the output) stays a feature', async () => {
    const input = tfl.input({ shape: [8, 8, 3] });
    let x = tfl.layers.conv2d({ filters: 6, kernelSize: 1, name: 'mix' }).apply(input) as tfl.SymbolicTensor;
    x = tfl.layers.globalAveragePooling2d({ name: 'pool' }).apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.dense({ units: 4, activation: 'softmax', name: 'predictions' }).apply(x) as tfl.SymbolicTensor;
    const pm = await loadPretrained(await saved(tfl.model({ inputs: input, outputs: x })));
    expect(pm.featureLayer).toBe('pool');
    pm.model.dispose();
  });

  it("the real Tiny Darknet export: the last feature map, not the global pool of its 1000-filter classifier", async (ctx) => {
    const dir = asset('models/darknet_tiny_imagenet');
    if (dir === null) return ctx.skip();
    const pm = await loadPretrained(dir);
    expect(pm.featureLayer).toBe('leaky_re_lu_15');
    expect(pm.headLayers).toEqual(['conv2d_16', 'global_average_pooling2d_1']);
    pm.model.dispose();
  });
});
