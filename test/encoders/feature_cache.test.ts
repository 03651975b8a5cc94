/**
 * The feature cache as an input boundary (issue 27): a cache entry whose matrix was overwritten
 * with other bytes of the right size is a miss (its SHA-256 no longer matches), and an unusable
 * cache location costs a warning, not the result.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { extractFeatures, useBackend } from '../../src/index.js';
import { imageEncoder } from '../../src/entries/encoders.js';
import type { RgbImage } from '../../src/entries/io.js';
import { tinyPretrained } from '../helpers/tiny_model.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'tk-fcache-'));
const images = (n: number): RgbImage[] =>
  Array.from({ length: n }, (_, k) => ({ width: 16, height: 16, data: new Uint8Array(16 * 16 * 3).map((_, i) => (i * 7 + k * 31) % 256) }));

describe('feature cache integrity', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });
  afterEach(() => vi.restoreAllMocks());

  it('a matrix overwritten with same-size bytes is recomputed, not returned', async () => {
    const enc = await imageEncoder(await tinyPretrained(3));
    const cache = tmp();
    const inputs = images(4);
    const a = await extractFeatures(enc, inputs, { cache, progress: 'silent' });
    expect(a.fromCache).toBe(false);
    expect(a.cacheFile).not.toBeNull();
    const hit = await extractFeatures(enc, inputs, { cache, progress: 'silent' });
    expect(hit.fromCache).toBe(true);
    // Same size, other contents: before the digest this came back as a cache hit.
    const size = fs.statSync(a.cacheFile!).size;
    fs.writeFileSync(a.cacheFile!, new Uint8Array(size).fill(7));
    const again = await extractFeatures(enc, inputs, { cache, progress: 'silent' });
    expect(again.fromCache).toBe(false);
    expect(again.features.arraySync()).toEqual(a.features.arraySync());
    // ...and the recomputed entry is whole again.
    expect((await extractFeatures(enc, inputs, { cache, progress: 'silent' })).fromCache).toBe(true);
    tf.dispose([a.features, hit.features, again.features]);
    await enc.dispose();
  });

  it('an unusable cache location falls back to computing, with a warning', async () => {
    const enc = await imageEncoder(await tinyPretrained(3));
    const dir = tmp();
    const blocker = path.join(dir, 'not-a-folder');
    fs.writeFileSync(blocker, 'a file where the cache folder should be');
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const r = await extractFeatures(enc, images(3), { cache: blocker, progress: 'silent' });
    expect(r.fromCache).toBe(false);
    expect(r.cacheFile).toBeNull();
    expect(r.features.shape).toEqual([3, enc.dim]);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0][0])).toMatch(/could not write the feature cache in .*not-a-folder/);
    expect(fs.readFileSync(blocker, 'utf8')).toBe('a file where the cache folder should be');
    r.features.dispose();
    await enc.dispose();
  });

  it('a missing image path is a coded error naming the file', async () => {
    const enc = await imageEncoder(await tinyPretrained(3));
    await expect(extractFeatures(enc, ['/nonexistent/x.png'], { cache: tmp(), progress: 'silent' })).rejects.toMatchObject({ code: 'E_DATA', message: expect.stringMatching(/\/nonexistent\/x\.png/) });
    await enc.dispose();
  });
});
