/**
 * WebP and GIF decoding (through sharp) against the same pixels written by Pillow as PNG
 * (scripts/image_format_fixtures.py; the fixtures are committed, a few hundred bytes each), and
 * the image-folder `formats` option on the real ants/bees folder's placeholder GIF.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadImageFolder, useBackend } from '../../src/index.js';
import { canDecodeWebpGif, decodeImage, decodeImageAsync, imageFormat } from '../../src/entries/io.js';
import { assetsDir } from '../helpers/assets.js';

const dir = path.resolve(__dirname, '../fixtures/images');
const bytes = (f: string) => new Uint8Array(fs.readFileSync(path.join(dir, f)));

beforeAll(async () => {
  await useBackend('cpu');
});

describe('decodeImageAsync', () => {
  it('recognises formats by content, not by name', () => {
    expect(['pattern.png', 'pattern.webp', 'pattern.gif'].map((f) => imageFormat(bytes(f)))).toEqual(['png', 'webp', 'gif']);
    expect(imageFormat(new TextEncoder().encode('RIFF....WAVEfmt '))).toBe('unknown');
  });

  it("lossless WebP and GIF give exactly the PNG pixels; lossy WebP equals what Pillow decodes; animated GIFs give frame 1; alpha is dropped", async (ctx) => {
    if (!(await canDecodeWebpGif())) {
      console.warn('[skip] the optional package sharp is not installed (npm install sharp)');
      return ctx.skip();
    }
    const ref = decodeImage(bytes('pattern.png'), 'pattern.png');
    expect([ref.width, ref.height]).toEqual([24, 16]);
    for (const f of ['pattern.webp', 'pattern.gif', 'animated.gif', 'pattern_rgba.webp']) {
      const img = await decodeImageAsync(bytes(f), f);
      expect([img.width, img.height], f).toEqual([24, 16]);
      expect(Array.from(img.data), f).toEqual(Array.from(ref.data));
    }
    // Lossy WebP: exactly what Pillow's decoder (libwebp) gives, and visibly not the original.
    const lossy = await decodeImageAsync(bytes('pattern_lossy.webp'), 'pattern_lossy.webp');
    expect(Array.from(lossy.data)).toEqual(Array.from(decodeImage(bytes('pattern_lossy_pillow.png')).data));
    expect(Array.from(lossy.data)).not.toEqual(Array.from(ref.data));
  });

  it('refuses formats not asked for, corrupt files and unknown bytes, naming the file', async (ctx) => {
    await expect(decodeImageAsync(bytes('pattern.gif'), 'a.gif', { formats: ['jpeg', 'png'] })).rejects.toThrow(/a\.gif: GIF is not among the formats read here \(jpeg, png\); add 'gif'/);
    await expect(decodeImageAsync(new TextEncoder().encode('hello'), 'notes.txt')).rejects.toThrow(/notes\.txt: not an image transferkit reads/);
    expect(() => decodeImage(bytes('pattern.webp'), 'p.webp')).toThrow(/p\.webp: WEBP is decoded by decodeImageAsync/);
    if (!(await canDecodeWebpGif())) return ctx.skip();
    const cut = bytes('pattern.webp').slice(0, 40);
    await expect(decodeImageAsync(cut, 'cut.webp')).rejects.toThrow(/cut\.webp: corrupt WEBP data/);
  });
});

describe('image folders', () => {
  it("read WebP by default and GIF only when asked: the real ants/bees placeholder GIF", async (ctx) => {
    if (!(await canDecodeWebpGif())) return ctx.skip();
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-fmt-'));
    for (const c of ['a', 'b']) fs.mkdirSync(path.join(root, c));
    fs.copyFileSync(path.join(dir, 'pattern.webp'), path.join(root, 'a', 'one.webp'));
    fs.copyFileSync(path.join(dir, 'pattern.png'), path.join(root, 'b', 'two.png'));
    // The real placeholder when the shared data is present, else the Pillow-written GIF.
    const real = path.join(assetsDir, 'data/hymenoptera/train/ants/imageNotFound.gif');
    const gif = fs.existsSync(real) ? real : path.join(dir, 'pattern.gif');
    fs.copyFileSync(gif, path.join(root, 'b', 'placeholder.gif'));
    const opts = { size: [16, 16] as [number, number], preprocessing: { scale: 1 / 255, offset: 0 }, onWarning: () => undefined };
    const byDefault = await loadImageFolder(root, opts);
    expect(byDefault.files.map((f) => path.basename(f))).toEqual(['one.webp', 'two.png']);
    expect(byDefault.skipped.map((s) => [path.basename(s.file), s.reason])).toEqual([['placeholder.gif', expect.stringMatching(/GIF is not among the formats read here \(jpeg, png, webp\)/)]]);
    const withGif = await loadImageFolder(root, { ...opts, formats: ['jpeg', 'png', 'webp', 'gif'] });
    expect(withGif.files.map((f) => path.basename(f))).toEqual(['one.webp', 'placeholder.gif', 'two.png']);
    expect(withGif.skipped).toEqual([]);
    expect(Array.from(withGif.labels)).toEqual([0, 1, 1]);
    byDefault.xs.dispose();
    withGif.xs.dispose();
  });
});
