/**
 * Misspelt options and misshapen data get coded errors naming the fault and the fix, on the
 * primitives a plain JavaScript caller reaches first (no compile-time check there).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { PNG } from 'pngjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { fineTune, loadImageFolder, loadPretrained, replaceHead, useBackend, type PretrainedModel } from '../../src/index.js';
import { checkOptionKeys, closest, optionNames } from '../../src/utils/option_keys.js';

const code = async (f: () => unknown): Promise<[string | undefined, string]> => {
  try {
    await f();
  } catch (err) {
    return [(err as { code?: string }).code, (err as Error).message];
  }
  throw new Error('expected an error');
};

let base: PretrainedModel;
beforeAll(async () => {
  await useBackend('cpu');
  base = await loadPretrained('resnet18.tv_in1k', { weights: null, seed: 1, inputShape: [32, 32, 3] });
});

describe('option names', () => {
  it('checkOptionKeys refuses an unknown key, suggests the closest name, and lets valid ones pass', () => {
    const names = optionNames<{ epochs?: number; batchSize?: number; learningRate?: number }>({ epochs: true, batchSize: true, learningRate: true });
    expect(names).toEqual(['epochs', 'batchSize', 'learningRate']);
    expect(() => checkOptionKeys('f', { epochs: 1, batchSize: undefined }, names)).not.toThrow();
    expect(() => checkOptionKeys('f', { epoch: 1 }, names)).toThrow(/f: unknown option 'epoch'\. Did you mean 'epochs'\? Valid options: batchSize, epochs, learningRate\./);
    expect(() => checkOptionKeys('f', { colour: 1 }, names)).toThrow(/unknown option 'colour'\. Valid options/);
    expect(closest('batchsize', names)).toBe('batchSize');
    expect(closest('zzz', names)).toBeNull();
  });

  it('the primitives refuse misspelt options with the code E_BAD_OPTION', async () => {
    expect(await code(() => loadPretrained('resnet18.tv_in1k', { weight: null } as never))).toEqual(['E_BAD_OPTION', expect.stringMatching(/loadPretrained: unknown option 'weight'\. Did you mean 'weights'\?/)]);
    expect(await code(() => replaceHead(base, { numClass: 2 } as never))).toEqual(['E_BAD_OPTION', expect.stringMatching(/Did you mean 'numClasses'\?/)]);
    const data = { xs: tf.zeros([2, 32, 32, 3]), labels: Int32Array.from([0, 1]), classNames: ['a', 'b'] };
    const model = replaceHead(base, { numClasses: 2 });
    expect(await code(() => fineTune(model, data, { epoch: 1 } as never))).toEqual(['E_BAD_OPTION', expect.stringMatching(/fineTune: unknown option 'epoch'\. Did you mean 'epochs'\?/)]);
    expect(await code(() => useBackend('cpu', { thread: 2 } as never))).toEqual(['E_BAD_OPTION', expect.stringMatching(/Did you mean 'threads'\?/)]);
  });

  it('fineTune names the data shapes it takes when given something else', async () => {
    const model = replaceHead(base, { numClasses: 2 });
    const [c, message] = await code(() => fineTune(model, { x: [1], y: [0] } as never));
    expect(c).toBe('E_DATA');
    expect(message).toMatch(/training data must be \{ xs, labels, classNames \}.*Received: an object with keys \[x, y\]/);
    const good = { xs: tf.zeros([2, 32, 32, 3]), labels: Int32Array.from([0, 1]), classNames: ['a', 'b'] };
    expect(await code(() => fineTune(model, good, { validation: { xs: [1] } as never }))).toEqual(['E_DATA', expect.stringMatching(/options\.validation must be/)]);
  });

  it('loadImageFolder requires size and preprocessing, and refuses a class folder without images', async () => {
    expect(await code(() => loadImageFolder('/nowhere', { size: [32, 32] } as never))).toEqual(['E_BAD_OPTION', expect.stringMatching(/preprocessing is required: pass the model's/)]);
    expect(await code(() => loadImageFolder('/nowhere', undefined as never))).toEqual(['E_BAD_OPTION', expect.stringMatching(/options are required/)]);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-classes-'));
    const img = new PNG({ width: 4, height: 4 });
    img.data.fill(128);
    const png = PNG.sync.write(img);
    for (const [cls, n] of [['cats', 3], ['dogs', 1], ['birds', 0]] as const) {
      fs.mkdirSync(path.join(dir, cls));
      for (let i = 0; i < n; i++) fs.writeFileSync(path.join(dir, cls, `${i}.png`), png);
    }
    fs.writeFileSync(path.join(dir, 'birds', 'notes.txt'), 'not an image');
    const warnings: string[] = [];
    const opts = { size: [8, 8] as [number, number], preprocessing: { scale: 1 / 255, offset: 0 }, onWarning: (m: string) => warnings.push(m) };
    const [c, message] = await code(() => loadImageFolder(dir, opts));
    expect(c).toBe('E_DATA');
    expect(message).toMatch(/birds hold no decodable image/);
    // With classNames (labels aligned to a trained model, e.g. a test folder) an absent class only warns.
    const aligned = await loadImageFolder(dir, { ...opts, classNames: ['cats', 'dogs', 'birds'] });
    expect(warnings.some((w) => /class\(es\) birds have no decodable image here/.test(w))).toBe(true);
    aligned.xs.dispose();
    fs.rmSync(path.join(dir, 'birds'), { recursive: true });
    const data = await loadImageFolder(dir, opts);
    expect(data.classNames).toEqual(['cats', 'dogs']);
    expect(warnings.some((w) => /class\(es\) dogs hold a single image/.test(w))).toBe(true);
    data.xs.dispose();
  });
});
