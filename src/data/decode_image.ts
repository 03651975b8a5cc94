/**
 * Decodes JPEG and PNG bytes to RGB pixels in pure JavaScript (works in Node and browsers,
 * no native addon), so image pipelines need nothing that downloads binaries at install.
 * WebP and GIF are decoded in Node by `decodeImageAsync` (`decode_image_node.ts`, through the
 * optional peer `sharp`); browsers decode every format natively (`createImageBitmap`).
 *
 * Every decode first reads the size the file *declares* in its header ({@link imageSize}: PNG
 * IHDR, GIF logical screen and first frame, WebP VP8/VP8L/VP8X, JPEG SOF) and refuses more than
 * `maxImagePixels` (`E_LIMIT`) before a pixel is allocated: a 70-byte PNG can declare
 * 100,000 x 100,000 pixels, and decoders allocate what the header says.
 */
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { TransferKitError } from '../errors.js';
import { checkLimit, inputLimits } from '../utils/limits.js';

/** Decoded RGB image, 3 bytes per pixel, row-major. */
export interface RgbImage {
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** RGB bytes, row-major, 3 per pixel. */
  data: Uint8Array;
}

/** Image container formats transferkit recognises. */
export type ImageFormat = 'jpeg' | 'png' | 'webp' | 'gif';

/** The format of encoded image bytes, from their signature (not the file name). */
export function imageFormat(bytes: Uint8Array): ImageFormat | 'unknown' {
  if (bytes[0] === 0xff && bytes[1] === 0xd8) return 'jpeg';
  if (bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) return 'png';
  if (bytes[0] === 0x47 && bytes[1] === 0x49 && bytes[2] === 0x46) return 'gif';
  if (bytes.length >= 12 && ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 12) === 'WEBP') return 'webp';
  return 'unknown';
}

/** jpeg-js options of every JPEG decode, in this thread or in a decode worker (`decode_pool.ts`). */
export const JPEG_DECODE_OPTIONS = { useTArray: true, formatAsRGBA: false, maxMemoryUsageInMB: 1024 } as const;

/** The size an image declares in its header. */
export interface ImageSize {
  format: ImageFormat;
  width: number;
  height: number;
}

/** `E_DATA` for a header that cannot be read: "name: corrupt FMT data (why). fix". */
function badHeader(name: string, format: ImageFormat, why: string): TransferKitError {
  return new TransferKitError('E_DATA', `${name}: corrupt ${format.toUpperCase()} data (${why}). The file is truncated or not a ${format.toUpperCase()} image; re-download or re-export it, or remove it from the folder.`);
}

const u16le = (b: Uint8Array, at: number) => b[at] | (b[at + 1] << 8);
const u16be = (b: Uint8Array, at: number) => (b[at] << 8) | b[at + 1];
const u24le = (b: Uint8Array, at: number) => b[at] | (b[at + 1] << 8) | (b[at + 2] << 16);
const u32le = (b: Uint8Array, at: number) => (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
const u32be = (b: Uint8Array, at: number) => ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
const ascii = (b: Uint8Array, from: number, to: number) => String.fromCharCode(...b.subarray(from, to));

/** PNG: the IHDR chunk, which must come first (8-byte signature, length, 'IHDR', width, height). */
function pngSize(b: Uint8Array, name: string): ImageSize {
  if (b.length < 24) throw badHeader(name, 'png', `the file ends inside its header: ${b.length} bytes, the IHDR chunk ends at byte 24`);
  if (ascii(b, 12, 16) !== 'IHDR') throw badHeader(name, 'png', `its first chunk is '${ascii(b, 12, 16).replace(/[^\x20-\x7e]/g, '?')}', a PNG starts with IHDR`);
  return { format: 'png', width: u32be(b, 16), height: u32be(b, 20) };
}

/**
 * GIF: the logical screen, grown to the first frame when that frame reaches past it (decoders
 * allocate a canvas holding the frame). Extensions before the frame are skipped; a walk that
 * meets an unknown block keeps the screen size and leaves the rest to the decoder.
 */
function gifSize(b: Uint8Array, name: string): ImageSize {
  if (b.length < 13) throw badHeader(name, 'gif', `the file ends inside its header: ${b.length} bytes, the logical screen descriptor ends at byte 13`);
  const version = ascii(b, 3, 6);
  if (version !== '87a' && version !== '89a') throw badHeader(name, 'gif', `unknown version 'GIF${version.replace(/[^\x20-\x7e]/g, '?')}', GIF is 87a or 89a`);
  let width = u16le(b, 6);
  let height = u16le(b, 8);
  let at = 13 + (b[10] & 0x80 ? 3 * 2 ** ((b[10] & 7) + 1) : 0);
  while (at < b.length) {
    if (b[at] === 0x21) {
      // Extension: introducer, label, then data sub-blocks until a zero length.
      at += 2;
      while (at < b.length && b[at] !== 0) at += b[at] + 1;
      at += 1;
    } else if (b[at] === 0x2c) {
      if (at + 9 > b.length) throw badHeader(name, 'gif', 'the file ends inside its first image descriptor');
      width = Math.max(width, u16le(b, at + 1) + u16le(b, at + 5));
      height = Math.max(height, u16le(b, at + 3) + u16le(b, at + 7));
      break;
    } else break;
  }
  return { format: 'gif', width, height };
}

/** WebP: the first chunk, VP8 (lossy key frame), VP8L (lossless) or VP8X (extended: the canvas). */
function webpSize(b: Uint8Array, name: string): ImageSize {
  if (b.length < 20) throw badHeader(name, 'webp', `the file ends inside its header: ${b.length} bytes, the first chunk header ends at byte 20`);
  const chunk = ascii(b, 12, 16);
  const need = { 'VP8 ': 30, VP8L: 25, VP8X: 30 }[chunk];
  if (need === undefined) throw badHeader(name, 'webp', `its first chunk is '${chunk.replace(/[^\x20-\x7e]/g, '?')}', a WebP starts with VP8, VP8L or VP8X`);
  if (b.length < need) throw badHeader(name, 'webp', `the file ends inside its ${chunk.trim()} header: ${b.length} bytes, it ends at byte ${need}`);
  if (chunk === 'VP8X') return { format: 'webp', width: u24le(b, 24) + 1, height: u24le(b, 27) + 1 };
  if (chunk === 'VP8L') {
    if (b[20] !== 0x2f) throw badHeader(name, 'webp', `its VP8L signature is 0x${b[20].toString(16)}, not 0x2f`);
    const bits = u32le(b, 21);
    return { format: 'webp', width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
  }
  if (b[23] !== 0x9d || b[24] !== 0x01 || b[25] !== 0x2a) throw badHeader(name, 'webp', 'its VP8 frame has no key-frame start code (9d 01 2a)');
  return { format: 'webp', width: u16le(b, 26) & 0x3fff, height: u16le(b, 28) & 0x3fff };
}

/**
 * JPEG: the first SOF segment (SOF0..SOF15 but DHT, JPG and DAC), found by walking the marker
 * segments. Returns null when the walk meets bytes that are not a marker (some encoders write
 * stray bytes that jpeg-js skips); jpeg-js's own cap (`maxResolutionInMP`, set from the same
 * limit) then still applies. The same walk runs in the decode workers (`decode_pool.ts`).
 */
function jpegSize(b: Uint8Array, name: string): ImageSize | null {
  let at = 2;
  for (;;) {
    if (at + 2 > b.length) throw badHeader(name, 'jpeg', `the file ends at byte ${b.length}, before its frame header (SOF)`);
    if (b[at] !== 0xff) return null;
    const marker = b[at + 1];
    if (marker === 0xff) {
      at += 1; // fill byte
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      at += 2; // no length
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) throw badHeader(name, 'jpeg', `it reaches its ${marker === 0xd9 ? 'end' : 'scan data'} before a frame header (SOF)`);
    if (at + 4 > b.length) throw badHeader(name, 'jpeg', `the file ends at byte ${b.length}, inside a segment header`);
    const length = u16be(b, at + 2);
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (at + 9 > b.length) throw badHeader(name, 'jpeg', `the file ends at byte ${b.length}, inside its frame header (SOF)`);
      return { format: 'jpeg', width: u16be(b, at + 7), height: u16be(b, at + 5) };
    }
    if (length < 2) throw badHeader(name, 'jpeg', `a segment at byte ${at} has length ${length}, at least 2`);
    at += 2 + length;
  }
}

/**
 * The format and size `bytes` declare in their header, read without decoding; null for bytes of
 * no format transferkit reads (and for the rare JPEG whose markers cannot be walked).
 * @throws E_DATA naming `name` when the header is truncated or malformed.
 */
export function imageSize(bytes: Uint8Array, name = 'image'): ImageSize | null {
  const format = imageFormat(bytes);
  if (format === 'png') return pngSize(bytes, name);
  if (format === 'gif') return gifSize(bytes, name);
  if (format === 'webp') return webpSize(bytes, name);
  if (format === 'jpeg') return jpegSize(bytes, name);
  return null;
}

/** The `maxPixels` option, validated, or the global `maxImagePixels` limit. */
export function maxPixelsOption(maxPixels: number | undefined, name: string): number {
  if (maxPixels === undefined) return inputLimits().maxImagePixels;
  if (!(typeof maxPixels === 'number' && maxPixels > 0)) {
    throw new TransferKitError('E_BAD_OPTION', `${name}: maxPixels must be a number > 0 (width x height of the largest image to decode). Received: maxPixels=${String(maxPixels)}. Leave it out to use the limit maxImagePixels (setInputLimits).`);
  }
  return maxPixels;
}

/**
 * Reads the declared size of `bytes` and throws `E_LIMIT` when width x height is over `maxPixels`
 * (default: the `maxImagePixels` limit), before anything is decoded.
 * @throws E_LIMIT over the limit; E_DATA naming `name` for a truncated or malformed header.
 */
export function checkImagePixels(bytes: Uint8Array, name: string, maxPixels?: number): ImageSize | null {
  const limit = maxPixelsOption(maxPixels, name);
  const size = imageSize(bytes, name);
  if (size !== null) checkLimit('maxImagePixels', size.width * size.height, `image ${name} declares ${size.width} x ${size.height} pixels`, limit);
  return size;
}

/**
 * Decodes a JPEG or PNG; throws `E_DATA` naming `name` for anything else or a corrupt file, and
 * `E_LIMIT` (before decoding) for an image that declares more than `options.maxPixels` pixels
 * (default: the `maxImagePixels` limit, see `setInputLimits`).
 */
export function decodeImage(bytes: Uint8Array, name = 'image', options: { maxPixels?: number } = {}): RgbImage {
  const k = imageFormat(bytes);
  const limit = maxPixelsOption(options.maxPixels, name);
  if (k === 'jpeg' || k === 'png') checkImagePixels(bytes, name, limit);
  try {
    if (k === 'jpeg') {
      // jpeg-js's own cap, from the same limit, backs the header check up.
      const img = jpeg.decode(bytes, { ...JPEG_DECODE_OPTIONS, maxResolutionInMP: limit / 1e6 });
      return { width: img.width, height: img.height, data: img.data };
    }
    if (k === 'png') {
      // pngjs's sync reader wants a Node Buffer.
      const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      const rgb = new Uint8Array(png.width * png.height * 3);
      for (let i = 0, j = 0; i < png.data.length; i += 4, j += 3) {
        rgb[j] = png.data[i];
        rgb[j + 1] = png.data[i + 1];
        rgb[j + 2] = png.data[i + 2];
      }
      return { width: png.width, height: png.height, data: rgb };
    }
  } catch (err) {
    throw new TransferKitError('E_DATA', `${name}: corrupt ${k.toUpperCase()} data (${(err as Error).message}).`, { cause: err });
  }
  if (k === 'webp' || k === 'gif') {
    throw new TransferKitError('E_DATA', `${name}: ${k.toUpperCase()} is decoded by decodeImageAsync (Node, with the optional package sharp) or by the browser; decodeImage reads JPEG and PNG only.`);
  }
  throw new TransferKitError('E_DATA', `${name}: not an image transferkit reads (JPEG, PNG, WebP, GIF); its first bytes match none of them. Convert it or remove it from the folder.`);
}
