/**
 * Decodes JPEG and PNG bytes to RGB pixels in pure JavaScript (works in Node and browsers,
 * no native addon), so image pipelines need nothing that downloads binaries at install.
 * WebP and GIF are decoded in Node by `decodeImageAsync` (`decode_image_node.ts`, through the
 * optional peer `sharp`); browsers decode every format natively (`createImageBitmap`).
 */
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { TransferKitError } from '../errors.js';

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
  const ascii = (from: number, to: number) => String.fromCharCode(...bytes.subarray(from, to));
  if (bytes.length >= 12 && ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'webp';
  return 'unknown';
}

/** jpeg-js options of every JPEG decode, in this thread or in a decode worker (`decode_pool.ts`). */
export const JPEG_DECODE_OPTIONS = { useTArray: true, formatAsRGBA: false, maxMemoryUsageInMB: 1024 } as const;

/** Decodes a JPEG or PNG; throws `E_DATA` naming `name` for anything else or a corrupt file. */
export function decodeImage(bytes: Uint8Array, name = 'image'): RgbImage {
  const k = imageFormat(bytes);
  try {
    if (k === 'jpeg') {
      const img = jpeg.decode(bytes, JPEG_DECODE_OPTIONS);
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
