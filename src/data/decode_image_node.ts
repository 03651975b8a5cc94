/**
 * Decoding every image format transferkit reads, in Node: JPEG and PNG in pure JavaScript
 * (`decodeImage`, bit-identical everywhere), WebP and GIF through the optional peer `sharp`
 * (libvips; prebuilt binaries from npm, nothing downloaded at run time), loaded on first use.
 *
 * `formats` says which formats a caller accepts. The image-folder loaders default to
 * {@link DEFAULT_IMAGE_FORMATS}, torchvision `ImageFolder`'s choice among these four (its
 * `IMG_EXTENSIONS` has no GIF): a GIF in a photo folder is more often a placeholder than a photo
 * (PyTorch's own ants/bees data carries `imageNotFound.gif`), so reading one is an explicit choice.
 */
import { TransferKitError } from '../errors.js';
import { checkImagePixels, decodeImage, imageFormat, maxPixelsOption, type ImageFormat, type RgbImage } from './decode_image.js';

/** Formats the image-folder loaders read unless told otherwise: JPEG, PNG and WebP. */
export const DEFAULT_IMAGE_FORMATS: readonly ImageFormat[] = ['jpeg', 'png', 'webp'];

/** Every format {@link decodeImageAsync} can read. */
export const ALL_IMAGE_FORMATS: readonly ImageFormat[] = ['jpeg', 'png', 'webp', 'gif'];

/** Options of {@link decodeImageAsync}. */
export interface DecodeImageOptions {
  /** Formats to accept (default: all four); others are refused with the reason. */
  formats?: readonly ImageFormat[];
  /**
   * Most pixels (width x height) to decode, read from the header before decoding; default: the
   * `maxImagePixels` limit (100 megapixels unless raised with `setInputLimits`).
   */
  maxPixels?: number;
}

type SharpFactory = (input: Uint8Array, options: { pages?: number; failOn?: string; limitInputPixels?: number | false }) => {
  raw(): { toBuffer(o: { resolveWithObject: true }): Promise<{ data: Buffer; info: { width: number; height: number; channels: number } }> };
};

let sharpModule: Promise<SharpFactory | null> | null = null;

function loadSharp(): Promise<SharpFactory | null> {
  // A variable specifier keeps bundlers from resolving the optional peer at build time.
  const id = 'sharp';
  sharpModule ??= import(id).then((m: { default?: SharpFactory }) => m.default ?? (m as unknown as SharpFactory)).catch(() => null);
  return sharpModule;
}

/** True when WebP and GIF can be decoded here (the optional package `sharp` loads). */
export async function canDecodeWebpGif(): Promise<boolean> {
  return (await loadSharp()) !== null;
}

/**
 * Decodes JPEG, PNG, WebP or GIF bytes (the format read from the signature) to RGB. GIFs give
 * their first frame; an alpha channel is dropped (the RGB values are kept, as PNG decoding does).
 * @throws E_DATA naming `name`: a format not in `formats`, an unknown or corrupt file, or WebP/GIF
 *   without `sharp` installed (with the command that installs it).
 * @throws E_LIMIT naming `name`: the header declares more than `maxPixels` pixels (nothing decoded).
 */
export async function decodeImageAsync(bytes: Uint8Array, name = 'image', options: DecodeImageOptions = {}): Promise<RgbImage> {
  const format = imageFormat(bytes);
  const formats = options.formats ?? ALL_IMAGE_FORMATS;
  if (format !== 'unknown' && !formats.includes(format)) {
    throw new TransferKitError('E_DATA', `${name}: ${format.toUpperCase()} is not among the formats read here (${formats.join(', ')}); add '${format}' to the formats option to read it.`);
  }
  const maxPixels = maxPixelsOption(options.maxPixels, name);
  if (format !== 'webp' && format !== 'gif') return decodeImage(bytes, name, { maxPixels });
  checkImagePixels(bytes, name, maxPixels);
  const sharp = await loadSharp();
  if (sharp === null) {
    throw new TransferKitError('E_DATA', `${name}: decoding ${format.toUpperCase()} needs the optional package sharp, which is not installed. Run: npm install sharp (prebuilt, no compiler needed), or convert the file to JPEG/PNG.`);
  }
  let out: { data: Buffer; info: { width: number; height: number; channels: number } };
  try {
    // libvips checks the same limit against the size it reads itself (false: a limit raised past
    // what sharp takes, such as Infinity, means none).
    out = await sharp(bytes, { pages: 1, failOn: 'error', limitInputPixels: Number.isSafeInteger(Math.floor(maxPixels)) ? Math.max(1, Math.floor(maxPixels)) : false }).raw().toBuffer({ resolveWithObject: true });
  } catch (err) {
    if (/pixel limit/i.test((err as Error).message)) {
      throw new TransferKitError('E_LIMIT', `image ${name} is over the limit maxImagePixels=${maxPixels} (${(err as Error).message}). If the file is genuine, raise the limit with setInputLimits({ maxImagePixels: ... }) or the maxPixels option; otherwise the file is corrupt or hostile.`, { cause: err });
    }
    throw new TransferKitError('E_DATA', `${name}: corrupt ${format.toUpperCase()} data (${(err as Error).message}).`, { cause: err });
  }
  const { width, height, channels } = out.info;
  const src = out.data;
  const rgb = new Uint8Array(width * height * 3);
  // 1: grey, 2: grey + alpha, 3: RGB, 4: RGBA.
  for (let p = 0, i = 0; p < width * height; p++, i += channels) {
    if (channels >= 3) {
      rgb[3 * p] = src[i];
      rgb[3 * p + 1] = src[i + 1];
      rgb[3 * p + 2] = src[i + 2];
    } else {
      rgb[3 * p] = rgb[3 * p + 1] = rgb[3 * p + 2] = src[i];
    }
  }
  return { width, height, data: rgb };
}
