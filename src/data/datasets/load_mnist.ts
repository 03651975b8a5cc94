/**
 * Node-side MNIST loader (IDX files, gzipped or not) and MNIST-M generation from a folder of
 * BSDS500 photos.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { TransferKitError } from '../../errors.js';
import { decodeImage } from '../decode_image.js';
import { parseIdx } from './idx.js';
import { makeMnistM, type MnistMOptions } from './mnist_m.js';

/** MNIST images (uint8, `count x 28 x 28`) and labels. */
export interface MnistData {
  images: Uint8Array;
  labels: Int32Array;
  count: number;
  size: number;
}

async function read(file: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await fs.readFile(file));
  } catch (err) {
    throw new TransferKitError('E_IO_NOT_FOUND', `Cannot read '${file}' (${(err as Error).message}).`, { cause: err });
  }
}

/** Reads an MNIST images/labels IDX pair, e.g. `t10k-images-idx3-ubyte.gz` and `t10k-labels-idx1-ubyte.gz`. */
export async function loadMnist(imagesFile: string, labelsFile: string): Promise<MnistData> {
  const images = parseIdx(await read(imagesFile), imagesFile);
  const labels = parseIdx(await read(labelsFile), labelsFile);
  if (images.shape.length !== 3 || images.shape[1] !== images.shape[2]) throw new TransferKitError('E_DATA', `${imagesFile}: expected [count, size, size] images; the header says ${JSON.stringify(images.shape)}.`);
  if (labels.shape.length !== 1 || labels.shape[0] !== images.shape[0]) throw new TransferKitError('E_DATA', `${labelsFile} holds ${labels.shape[0]} labels for ${images.shape[0]} images in ${imagesFile}.`);
  return { images: images.data, labels: Int32Array.from(labels.data), count: images.shape[0], size: images.shape[1] };
}

/**
 * MNIST-M images for `digits` (see {@link makeMnistM}) with the photos of `photoDir` (every
 * .jpg/.png in it, in name order, so the seed fully determines the result).
 */
export async function makeMnistMFromFolder(digits: MnistData, photoDir: string, options: MnistMOptions = {}): Promise<Uint8Array> {
  const names = (await fs.readdir(photoDir)).filter((n) => /\.(jpe?g|png)$/i.test(n)).sort();
  if (names.length === 0) throw new TransferKitError('E_DATA', `makeMnistMFromFolder: no .jpg or .png photos in '${photoDir}'.`);
  const photos = [];
  for (const n of names) photos.push(decodeImage(await read(path.join(photoDir, n)), path.join(photoDir, n)));
  return makeMnistM(digits.images, digits.count, photos, { ...options, size: digits.size });
}
