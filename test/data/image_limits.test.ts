/**
 * Image bombs and broken headers: a file of a few dozen bytes that *declares* a huge image must
 * be refused with `E_LIMIT` from its header, before any pixel is allocated, in every format
 * (PNG IHDR, GIF logical screen and frame, WebP VP8/VP8L/VP8X, JPEG SOF), on the main thread,
 * in the JPEG worker pool and through sharp. Truncated or garbage headers end in `E_DATA` naming
 * the file. The hostile files are built here, a few lines each.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import jpeg from 'jpeg-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadImageFolder, useBackend } from '../../src/index.js';
import { canDecodeWebpGif, decodeImage, decodeImageAsync } from '../../src/entries/io.js';
import { imageSize } from '../../src/data/decode_image.js';
import { JpegDecodePool } from '../../src/data/decode_pool.js';
import { resizeCropImage } from '../../src/data/resize_image.js';
import { isTransferKitError } from '../../src/errors.js';
import { caught, limitsPerTest } from '../helpers/errors.js';

const fixtures = path.resolve(__dirname, '../fixtures/images');
const dirs: string[] = [];
const tmp = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-imglim-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});
const fixture = (f: string) => new Uint8Array(fs.readFileSync(path.join(fixtures, f)));

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
const crc32 = (b: Uint8Array) => {
  let c = 0xffffffff;
  for (const x of b) c = CRC_TABLE[(c ^ x) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
};
const u32be = (v: number) => Buffer.from([v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255]);
const u16le = (v: number) => Buffer.from([v & 255, v >>> 8]);
const u24le = (v: number) => Buffer.from([v & 255, (v >>> 8) & 255, v >>> 16]);
const u32le = (v: number) => Buffer.from([v & 255, (v >>> 8) & 255, (v >>> 16) & 255, v >>> 24]);

/** A PNG with a valid IHDR (CRC included) declaring `w` x `h` RGB pixels and a tiny IDAT. */
function pngDeclaring(w: number, h: number): Uint8Array {
  const chunk = (type: string, data: Buffer) => {
    const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    return Buffer.concat([u32be(data.length), td, u32be(crc32(td))]);
  };
  const ihdr = Buffer.concat([u32be(w), u32be(h), Buffer.from([8, 2, 0, 0, 0])]);
  return new Uint8Array(Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(Buffer.alloc(16))), chunk('IEND', Buffer.alloc(0))]));
}

/** A GIF whose logical screen is `sw` x `sh` and whose first frame is `fw` x `fh` at (0, 0). */
function gifDeclaring(sw: number, sh: number, fw = sw, fh = sh): Uint8Array {
  return new Uint8Array(Buffer.concat([
    Buffer.from('GIF89a', 'latin1'), u16le(sw), u16le(sh), Buffer.from([0x80, 0, 0]), Buffer.from([0, 0, 0, 255, 255, 255]),
    Buffer.from([0x21, 0xf9, 4, 0, 0, 0, 0, 0]), // graphic control extension
    Buffer.from([0x2c]), u16le(0), u16le(0), u16le(fw), u16le(fh), Buffer.from([0]),
    Buffer.from([2, 2, 0x44, 0x01, 0]), Buffer.from([0x3b]),
  ]));
}

const riff = (chunks: Buffer) => new Uint8Array(Buffer.concat([Buffer.from('RIFF', 'latin1'), u32le(4 + chunks.length), Buffer.from('WEBP', 'latin1'), chunks]));
/** Lossless WebP (VP8L) declaring `w` x `h` (each at most 16384). */
const webpLossless = (w: number, h: number) => {
  const bits = ((w - 1) | ((h - 1) << 14)) >>> 0;
  const data = Buffer.concat([Buffer.from([0x2f]), u32le(bits), Buffer.alloc(7)]);
  return riff(Buffer.concat([Buffer.from('VP8L', 'latin1'), u32le(data.length), data]));
};
/** Lossy WebP (VP8 key frame) declaring `w` x `h` (each at most 16383). */
const webpLossy = (w: number, h: number) => {
  const data = Buffer.concat([Buffer.from([0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a]), u16le(w), u16le(h), Buffer.alloc(10)]);
  return riff(Buffer.concat([Buffer.from('VP8 ', 'latin1'), u32le(data.length), data]));
};
/** Extended WebP (VP8X) whose canvas is `w` x `h` (each up to 2^24). */
const webpExtended = (w: number, h: number) => {
  const data = Buffer.concat([Buffer.from([0, 0, 0, 0]), u24le(w - 1), u24le(h - 1)]);
  return riff(Buffer.concat([Buffer.from('VP8X', 'latin1'), u32le(data.length), data]));
};

/** A JPEG's first bytes: SOI, an APP0 segment, then a baseline SOF0 declaring `w` x `h`. */
function jpegDeclaring(w: number, h: number): Uint8Array {
  const app0 = Buffer.concat([Buffer.from([0xff, 0xe0, 0, 16]), Buffer.from('JFIF\0', 'latin1'), Buffer.from([1, 1, 0, 0, 1, 0, 1, 0, 0])]);
  const sof = Buffer.from([0xff, 0xc0, 0, 17, 8, h >> 8, h & 255, w >> 8, w & 255, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
  return new Uint8Array(Buffer.concat([Buffer.from([0xff, 0xd8]), app0, sof, Buffer.from([0xff, 0xd9])]));
}

/** A real JPEG, `w` x `h`, encoded by jpeg-js. */
function realJpeg(w: number, h: number): Uint8Array {
  const data = Buffer.alloc(w * h * 4, 128);
  return new Uint8Array(jpeg.encode({ width: w, height: h, data }, 90).data);
}


const lower = limitsPerTest();

beforeAll(async () => {
  await useBackend('cpu');
});

describe('image bombs are refused from the header, before decoding', () => {
  it('a 70-byte PNG declaring 100000 x 100000 pixels: E_LIMIT naming the file, the size and the limit', async () => {
    const png = pngDeclaring(100_000, 100_000);
    expect(png.length).toBeLessThan(100);
    const err = await caught(() => decodeImage(png, 'bomb.png'));
    expect(err.code).toBe('E_LIMIT');
    expect(err.message).toMatch(/image bomb\.png declares 100000 x 100000 pixels: 10000000000 is over the limit maxImagePixels=100000000/);
    expect((await caught(() => decodeImageAsync(png, 'bomb.png'))).code).toBe('E_LIMIT');
  });

  it('a PNG just over a lowered limit is refused, and the maxPixels option overrides the global limit both ways', async () => {
    const png = fixture('pattern.png'); // 24 x 16 = 384 pixels
    expect((await caught(() => decodeImageAsync(png, 'p.png', { maxPixels: 383 }))).code).toBe('E_LIMIT');
    expect((await decodeImageAsync(png, 'p.png', { maxPixels: 384 })).width).toBe(24);
    expect(() => decodeImage(png, 'p.png', { maxPixels: 100 })).toThrow(/p\.png declares 24 x 16 pixels: 384 is over the limit maxImagePixels=100/);
    lower({ maxImagePixels: 100 });
    expect((await caught(() => decodeImageAsync(png, 'p.png'))).code).toBe('E_LIMIT');
    expect((await decodeImageAsync(png, 'p.png', { maxPixels: 1000 })).height).toBe(16);
    expect((await caught(() => decodeImageAsync(png, 'p.png', { maxPixels: -1 }))).code).toBe('E_BAD_OPTION');
  });

  it('GIF: a logical screen of 65535 x 65535, or a small screen with a huge first frame', async () => {
    for (const [gif, dims] of [[gifDeclaring(65535, 65535), '65535 x 65535'], [gifDeclaring(10, 10, 60000, 60000), '60000 x 60000']] as const) {
      const err = await caught(() => decodeImageAsync(gif, 'bomb.gif'));
      expect(err.code).toBe('E_LIMIT');
      expect(err.message).toContain(`bomb.gif declares ${dims} pixels`);
    }
    expect(imageSize(gifDeclaring(10, 10, 60000, 60000), 'g.gif')).toEqual({ format: 'gif', width: 60000, height: 60000 });
  });

  it('WebP: lossless (VP8L), lossy (VP8) and extended (VP8X) headers', async () => {
    const cases = [
      [webpLossless(16384, 16384), '16384 x 16384'],
      [webpLossy(16383, 16383), '16383 x 16383'],
      [webpExtended(100_000, 100_000), '100000 x 100000'],
    ] as const;
    for (const [webp, dims] of cases) {
      const err = await caught(() => decodeImageAsync(webp, 'bomb.webp'));
      expect(err.code, dims).toBe('E_LIMIT');
      expect(err.message).toContain(`bomb.webp declares ${dims} pixels`);
    }
    expect(imageSize(fixture('pattern.webp'), 'p.webp')).toEqual({ format: 'webp', width: 24, height: 16 });
    expect(imageSize(fixture('pattern_lossy.webp'), 'p.webp')).toEqual({ format: 'webp', width: 24, height: 16 });
    expect(imageSize(fixture('pattern_rgba.webp'), 'p.webp')).toEqual({ format: 'webp', width: 24, height: 16 });
  });

  it('JPEG: the SOF size, on the main thread and through the worker pool (the file is handed back, then refused)', async () => {
    const bomb = jpegDeclaring(20_000, 20_000);
    const err = await caught(() => decodeImage(bomb, 'bomb.jpg'));
    expect(err.code).toBe('E_LIMIT');
    expect(err.message).toContain('bomb.jpg declares 20000 x 20000 pixels');
    const real = realJpeg(32, 24);
    expect(imageSize(real, 'r.jpg')).toEqual({ format: 'jpeg', width: 32, height: 24 });
    expect((await caught(() => decodeImageAsync(real, 'r.jpg', { maxPixels: 700 }))).code).toBe('E_LIMIT');

    const dir = tmp();
    fs.writeFileSync(path.join(dir, 'real.jpg'), real);
    const pool = await JpegDecodePool.create(1);
    if (pool === null) return;
    try {
      expect((await pool.decode(path.join(dir, 'real.jpg')))?.width).toBe(32);
      expect(await pool.decode(path.join(dir, 'real.jpg'), 700)).toBeNull();
      lower({ maxImagePixels: 700 });
      expect(await pool.decode(path.join(dir, 'real.jpg'))).toBeNull();
    } finally {
      await pool.close();
    }
  });

  it('an image folder skips a JPEG bomb decoded through the worker pool, with the E_LIMIT reason', async () => {
    const root = tmp();
    for (const c of ['a', 'b']) fs.mkdirSync(path.join(root, c));
    fs.writeFileSync(path.join(root, 'a', 'ok.jpg'), realJpeg(32, 24));
    fs.writeFileSync(path.join(root, 'b', 'ok.jpg'), realJpeg(32, 24));
    fs.writeFileSync(path.join(root, 'b', 'bomb.jpg'), jpegDeclaring(20_000, 20_000));
    fs.writeFileSync(path.join(root, 'b', 'bomb.png'), pngDeclaring(100_000, 100_000));
    const data = await loadImageFolder(root, { size: [8, 8], preprocessing: { scale: 1 / 255, offset: 0 }, decodeWorkers: 1, onWarning: () => undefined });
    expect(data.files.map((f) => path.basename(f))).toEqual(['ok.jpg', 'ok.jpg']);
    expect(data.skipped.map((s) => path.basename(s.file)).sort()).toEqual(['bomb.jpg', 'bomb.png']);
    for (const s of data.skipped) expect(s.reason).toMatch(/declares (20000 x 20000|100000 x 100000) pixels: \d+ is over the limit maxImagePixels=100000000/);
    data.xs.dispose();
  });

  it('through sharp, a lowered limit refuses WebP and GIF too', async (ctx) => {
    if (!(await canDecodeWebpGif())) return ctx.skip();
    for (const f of ['pattern.webp', 'pattern.gif', 'pattern_lossy.webp']) {
      expect((await caught(() => decodeImageAsync(fixture(f), f, { maxPixels: 300 }))).code, f).toBe('E_LIMIT');
      expect((await decodeImageAsync(fixture(f), f, { maxPixels: 384 })).width, f).toBe(24);
    }
  });
});

describe('broken headers end in E_DATA naming the file', () => {
  it('truncated headers of every format', async () => {
    const cuts: Array<[string, Uint8Array]> = [
      ['cut.png', pngDeclaring(10, 10).slice(0, 20)],
      ['cut.gif', gifDeclaring(10, 10).slice(0, 9)],
      ['cut.webp', webpLossless(10, 10).slice(0, 22)],
      ['cut2.webp', webpExtended(10, 10).slice(0, 26)],
      ['cut.jpg', jpegDeclaring(10, 10).slice(0, 26)],
      ['soi.jpg', new Uint8Array([0xff, 0xd8])],
    ];
    for (const [name, bytes] of cuts) {
      const err = await caught(() => decodeImageAsync(bytes, name));
      expect(isTransferKitError(err), `${name}: ${err.message}`).toBe(true);
      expect(err.code, name).toBe('E_DATA');
      expect(err.message).toContain(name);
    }
  });

  it('a PNG whose first chunk is not IHDR, a WebP with an unknown first chunk, a GIF of unknown version', async () => {
    const png = pngDeclaring(10, 10);
    png.set(Buffer.from('IDAT', 'latin1'), 12);
    const webp = riff(Buffer.concat([Buffer.from('JUNK', 'latin1'), u32le(4), Buffer.alloc(4)]));
    const gif = gifDeclaring(10, 10);
    gif.set(Buffer.from('GIF90a', 'latin1'), 0);
    for (const [name, bytes] of [['a.png', png], ['a.webp', webp], ['a.gif', gif]] as const) {
      const err = await caught(() => decodeImageAsync(bytes, name));
      expect(err.code, `${name}: ${err.message}`).toBe('E_DATA');
      expect(err.message).toContain(name);
    }
  });

  it('every truncation and 300 seeded byte mutations of the fixtures end in an image or a coded error', async () => {
    const sharp = await canDecodeWebpGif();
    const seeds: Array<readonly [string, Uint8Array]> = ['pattern.png', ...(sharp ? ['pattern.gif', 'pattern.webp', 'pattern_lossy.webp'] : [])].map((f) => [f, fixture(f)] as const);
    seeds.push(['real.jpg', realJpeg(24, 16)]);
    let rnd = 27;
    const rand = () => (rnd = (Math.imul(rnd, 1103515245) + 12345) >>> 0) / 2 ** 32;
    const outcomes = { ok: 0, coded: 0, raw: [] as string[] };
    const run = async (name: string, bytes: Uint8Array) => {
      try {
        const img = await decodeImageAsync(bytes, name);
        expect(img.data.length).toBe(img.width * img.height * 3);
        outcomes.ok++;
      } catch (err) {
        if (isTransferKitError(err) && err.message.includes(name)) outcomes.coded++;
        else outcomes.raw.push(`${name}: ${(err as Error).message}`);
      }
    };
    for (const [f, bytes] of seeds) {
      for (let n = 0; n < Math.min(bytes.length, 120); n++) await run(`${f}@cut${n}`, bytes.slice(0, n));
      for (let i = 0; i < 60; i++) {
        const b = bytes.slice();
        for (let j = 0, k = 1 + Math.floor(rand() * 3); j < k; j++) b[Math.floor(rand() * Math.min(b.length, 64))] = Math.floor(rand() * 256);
        await run(`${f}@mut${i}`, b);
      }
    }
    expect(outcomes.raw).toEqual([]);
    expect(outcomes.coded).toBeGreaterThan(0);
  });
});

describe('resizeCropImage', () => {
  it('refuses an output size over maxImagePixels with E_LIMIT instead of a raw RangeError', () => {
    const img = { width: 2, height: 2, data: new Uint8Array(12) };
    const err = (() => {
      try {
        resizeCropImage(img, [1_000_000, 1_000_000]);
      } catch (e) {
        return e as Error & { code?: string };
      }
      return null;
    })();
    expect(err?.code).toBe('E_LIMIT');
    expect(resizeCropImage(img, [4, 4]).length).toBe(48);
  });
});
