/**
 * Loads an image-classification folder (one sub-folder per class, as Keras'
 * `image_dataset_from_directory` and torchvision's `ImageFolder`) into preprocessed tensors.
 */
import * as tf from '@tensorflow/tfjs-core';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { TransferKitError } from '../errors.js';
import type { Preprocessing } from './preprocessing.js';
import type { LabeledData, StreamingData } from './dataset.js';
import { mulberry32, permutation } from '../utils/random.js';
import type { ImageFormat, RgbImage } from './decode_image.js';
import { ALL_IMAGE_FORMATS, decodeImageAsync, DEFAULT_IMAGE_FORMATS } from './decode_image_node.js';
import { defaultDecodeWorkers, JpegDecodePool } from './decode_pool.js';
import { resizeCropImage, type ImageResizeOptions } from './resize_image.js';
import { checkOptionKeys, optionNames } from '../utils/option_keys.js';

/** Options of {@link loadImageFolder}. */
export interface ImageFolderOptions extends ImageResizeOptions {
  /** Output [height, width]. */
  size: [number, number];
  /** How pixels in [0, 255] become inputs. */
  preprocessing: Pick<Preprocessing, 'scale' | 'offset'>;
  /** Class folder names in label order (default: sorted sub-folder names). */
  classNames?: string[];
  /**
   * Channel order the model expects (default `'RGB'`). Keras' 'caffe'-mode models (VGG16,
   * ResNet50) take BGR; `preprocessing` then applies in that order (see `pretrainedConfig(id)`).
   */
  channelOrder?: 'RGB' | 'BGR';
  /**
   * Image formats to read, recognised by content (default `['jpeg', 'png', 'webp']`, as
   * torchvision's `ImageFolder`; add `'gif'` to read GIFs' first frames). WebP and GIF need the
   * optional package `sharp`. Other files are skipped with the reason.
   */
  formats?: readonly ImageFormat[];
  /** Called for every skipped file with a message naming it (default: console.warn). */
  onWarning?: (message: string) => void;
  /**
   * Worker threads decoding JPEGs (default: one fewer than the cores, at least 1, at most 4; 0
   * decodes on the main thread). Pixels are identical either way.
   */
  decodeWorkers?: number;
}

const readImage = async (file: string, formats: readonly ImageFormat[]): Promise<RgbImage> =>
  decodeImageAsync(new Uint8Array(await fs.readFile(file)), file, { formats });

type Decoded = { ok: true; img: RgbImage } | { ok: false; err: Error };

/** The validated `decodeWorkers` option (default: one fewer than the cores, at least 1). */
function decodeWorkersOption(options: Pick<ImageFolderOptions, 'decodeWorkers'>, name: string): number {
  const workers = options.decodeWorkers ?? defaultDecodeWorkers();
  if (!(Number.isInteger(workers) && workers >= 0)) throw new TransferKitError('E_BAD_OPTION', `${name}: decodeWorkers must be an integer >= 0 (0 decodes on the main thread). Received: ${workers}.`);
  return workers;
}

/**
 * Decodes files through a JPEG worker pool (other formats, and anything the workers hand back, in
 * this thread). `decode` never rejects, so files decoded ahead cannot surface as unhandled
 * rejections; after `close` nothing more is decoded.
 */
async function openDecoder(options: Pick<ImageFolderOptions, 'decodeWorkers' | 'formats'>, name: string, defaultFormats: readonly ImageFormat[]): Promise<{ decode(file: string): Promise<Decoded>; close(): Promise<void> }> {
  const workers = decodeWorkersOption(options, name);
  const formats = options.formats ?? defaultFormats;
  const pool = formats.includes('jpeg') ? await JpegDecodePool.create(workers) : null;
  let closed = false;
  return {
    async decode(file) {
      try {
        const inWorker = pool !== null ? await pool.decode(file) : null;
        if (closed) return { ok: false, err: new Error('decoder closed') };
        return { ok: true, img: inWorker ?? (await readImage(file, formats)) };
      } catch (err) {
        return { ok: false, err: err as Error };
      }
    },
    async close() {
      closed = true;
      await pool?.close();
    },
  };
}

const IMAGE_FOLDER_OPTIONS = optionNames<ImageFolderOptions>({ size: true, preprocessing: true, classNames: true, channelOrder: true, formats: true, onWarning: true, decodeWorkers: true, cropFraction: true, antialias: true });
const STREAM_IMAGE_FOLDER_OPTIONS = optionNames<StreamImageFolderOptions>({ size: true, preprocessing: true, classNames: true, channelOrder: true, formats: true, onWarning: true, decodeWorkers: true, cropFraction: true, antialias: true, batchSize: true, shuffleSeed: true, prefetch: true });

/** Unknown option names are refused; `size` and `preprocessing` are required (plain JavaScript callers get no compile-time check). */
function checkImageOptions(fn: string, options: ImageFolderOptions | undefined, names: readonly string[]): void {
  if (options === undefined || options === null || typeof options !== 'object') {
    throw new TransferKitError('E_BAD_OPTION', `${fn}: options are required: { size: [height, width], preprocessing } (preprocessing: the model's, e.g. base.preprocessing from loadPretrained).`);
  }
  checkOptionKeys(fn, options, names);
  if (!Array.isArray(options.size) || options.size.length !== 2) throw new TransferKitError('E_BAD_OPTION', `${fn}: size must be [height, width], e.g. [224, 224] (the model's input). Received: size=${JSON.stringify(options.size)}.`);
  if (options.preprocessing === undefined || options.preprocessing === null) throw new TransferKitError('E_BAD_OPTION', `${fn}: preprocessing is required: pass the model's, e.g. { preprocessing: base.preprocessing } from loadPretrained (pixels are scaled as its weights expect).`);
}

/** A loaded image folder: the data plus what was skipped. */
export interface ImageFolderData extends LabeledData {
  /** File path per example. */
  files: string[];
  /** Files that could not be used, with the reason. */
  skipped: { file: string; reason: string }[];
}

function resizeCrop(img: RgbImage, size: [number, number], options: ImageResizeOptions): tf.Tensor3D {
  return tf.tensor3d(resizeCropImage(img, size, options), [size[0], size[1], 3]);
}

/**
 * Reads `dir/<class>/<image>` into preprocessed tensors. Files that are not decodable images of
 * the accepted `formats` are skipped with a warning naming them and the reason, never silently.
 */
export async function loadImageFolder(dir: string, options: ImageFolderOptions): Promise<ImageFolderData> {
  checkImageOptions('loadImageFolder', options, IMAGE_FOLDER_OPTIONS);
  const { classNames, items } = await listImageFolder(dir, options.classNames);
  const r = await loadImageFiles(items, { ...options, formats: options.formats ?? DEFAULT_IMAGE_FORMATS });
  if (r.files.length === 0) throw new TransferKitError('E_DATA', `No decodable images under ${dir} (formats read: ${(options.formats ?? DEFAULT_IMAGE_FORMATS).join(', ')}).`);
  // A class without images would still get an output unit; one with a single image cannot be in
  // both a training and a validation split.
  const counts = classNames.map((_, c) => r.labels.reduce((n, l) => n + (l === c ? 1 : 0), 0));
  const empty = classNames.filter((_, c) => counts[c] === 0);
  // With classNames given (labels aligned to a trained model, e.g. a test folder), an absent class is legitimate.
  if (empty.length > 0 && options.classNames !== undefined) (options.onWarning ?? ((m: string) => console.warn(m)))(`[transferkit] ${dir}: class(es) ${empty.join(', ')} have no decodable image here.`);
  else if (empty.length > 0) {
    tf.dispose([r.xs, ...(r.targets !== undefined ? [r.targets] : [])]);
    throw new TransferKitError('E_DATA', `Class folder(s) ${empty.map((c) => path.join(dir, c)).join(', ')} hold no decodable image: every class needs images. Add images, or remove the folder.`);
  }
  const single = classNames.filter((_, c) => counts[c] === 1);
  if (single.length > 0) (options.onWarning ?? ((m: string) => console.warn(m)))(`[transferkit] ${dir}: class(es) ${single.join(', ')} hold a single image, so a train/validation split cannot put them in both; add images.`);
  return { ...r, classNames };
}

/**
 * Decodes, resizes / centre-crops and preprocesses image files exactly as {@link loadImageFolder}
 * does (for prediction on loose files; every format is read unless `formats` says otherwise).
 * Undecodable files are skipped and reported, not thrown.
 */
export async function loadImageFiles(items: readonly (string | { file: string; label: number })[], options: Omit<ImageFolderOptions, 'classNames'>): Promise<Omit<ImageFolderData, 'classNames'>> {
  const { size } = options;
  const warn = options.onWarning ?? ((m: string) => console.warn(m));
  const images: tf.Tensor3D[] = [];
  const labels: number[] = [];
  const files: string[] = [];
  const skipped: { file: string; reason: string }[] = [];
  const list = items.map((item) => (typeof item === 'string' ? { file: item, label: 0 } : item));
  const decoder = await openDecoder(options, 'loadImageFiles', ALL_IMAGE_FORMATS);
  // Workers decode up to WINDOW files ahead while this thread resizes the earlier ones.
  const WINDOW = 16;
  const inFlight: Promise<Decoded>[] = [];
  try {
    for (let i = 0; i < list.length; i++) {
      while (inFlight.length < WINDOW && i + inFlight.length < list.length) inFlight.push(decoder.decode(list[i + inFlight.length].file));
      const d = await (inFlight.shift() as Promise<Decoded>);
      const { file, label } = list[i];
      if (d.ok) {
        images.push(resizeCrop(d.img, size, options));
        labels.push(label);
        files.push(file);
      } else {
        const reason = d.err.message.replace('[transferkit] ', '');
        skipped.push({ file, reason });
        warn(`[transferkit] skipping ${file}: ${reason}`);
      }
    }
  } finally {
    await decoder.close();
  }
  const xs = images.length > 0 ? preprocess(images, options) : tf.zeros([0, size[0], size[1], 3]);
  tf.dispose(images);
  return { xs, labels: Int32Array.from(labels), files, skipped };
}

/** Stacks resized RGB images, reorders channels if asked, and applies `x * scale + offset`. */
function preprocess(images: tf.Tensor3D[], options: Pick<ImageFolderOptions, 'preprocessing' | 'channelOrder'>): tf.Tensor4D {
  const { scale, offset } = options.preprocessing;
  return tf.tidy(() => {
    const rgb = tf.stack(images) as tf.Tensor4D;
    const x = options.channelOrder === 'BGR' ? tf.reverse(rgb, 3) : rgb;
    return tf.add(tf.mul(x, Array.isArray(scale) ? tf.tensor1d(scale) : tf.scalar(scale)), Array.isArray(offset) ? tf.tensor1d(offset) : tf.scalar(offset)) as tf.Tensor4D;
  });
}

/** Options of {@link streamImageFolder}. */
export interface StreamImageFolderOptions extends ImageFolderOptions {
  /** Images per batch. */
  batchSize: number;
  /** Shuffle the files every epoch with this seed (epoch e uses seed + e); default: in order. */
  shuffleSeed?: number;
  /**
   * Batches decoded ahead of the one being trained on (default 1; 0 decodes each batch only when
   * it is asked for), as `tf.data`'s `prefetch` and torchvision `DataLoader`'s `prefetch_factor`.
   */
  prefetch?: number;
}

/**
 * An image folder read batch by batch (decode, resize/crop and preprocessing per batch), as
 * Keras' `image_dataset_from_directory` or a torchvision `DataLoader` over `ImageFolder`: memory
 * holds a batch or two, not the data set. JPEGs are decoded in worker threads and `prefetch`
 * batches ahead, so decoding overlaps training instead of preceding each step (the main thread
 * only resizes). Undecodable files are skipped with one warning each.
 * Pass the result to `fineTune` as training or validation data.
 */
export async function streamImageFolder(dir: string, options: StreamImageFolderOptions): Promise<StreamingData & { files: string[]; classNames: string[] }> {
  checkImageOptions('streamImageFolder', options, STREAM_IMAGE_FOLDER_OPTIONS);
  const { size, batchSize } = options;
  if (!(Number.isInteger(batchSize) && batchSize > 0)) throw new TransferKitError('E_BAD_OPTION', `streamImageFolder: batchSize must be an integer > 0. Received: ${batchSize}.`);
  const prefetch = options.prefetch ?? 1;
  if (!(Number.isInteger(prefetch) && prefetch >= 0)) throw new TransferKitError('E_BAD_OPTION', `streamImageFolder: prefetch must be an integer >= 0 (batches decoded ahead). Received: ${prefetch}.`);
  decodeWorkersOption(options, 'streamImageFolder'); // refused now, not at the first epoch
  const warn = options.onWarning ?? ((m: string) => console.warn(m));
  const { classNames, items } = await listImageFolder(dir, options.classNames);
  const warned = new Set<string>();
  let epoch = 0;
  return {
    classNames,
    files: items.map((i) => i.file),
    stepsPerEpoch: Math.ceil(items.length / batchSize),
    batches: async function* () {
      const order = options.shuffleSeed !== undefined ? Array.from(permutation(items.length, mulberry32(options.shuffleSeed + epoch))) : items.map((_, i) => i);
      epoch++;
      const decoder = await openDecoder(options, 'streamImageFolder', DEFAULT_IMAGE_FORMATS);
      const starts: number[] = [];
      for (let b = 0; b < order.length; b += batchSize) starts.push(b);
      const startBatch = (i: number) => Promise.all(order.slice(starts[i], starts[i] + batchSize).map((k) => decoder.decode(items[k].file)));
      const ahead: Promise<Decoded[]>[] = [];
      try {
        for (let i = 0; i < starts.length; i++) {
          while (ahead.length <= prefetch && i + ahead.length < starts.length) ahead.push(startBatch(i + ahead.length));
          const decoded = await (ahead.shift() as Promise<Decoded[]>);
          const images: tf.Tensor3D[] = [];
          const labels: number[] = [];
          decoded.forEach((d, j) => {
            const { file, label } = items[order[starts[i] + j]];
            if (d.ok) {
              images.push(resizeCrop(d.img, size, options));
              labels.push(label);
            } else {
              if (!warned.has(file)) warn(`[transferkit] skipping ${file}: ${d.err.message.replace('[transferkit] ', '')}`);
              warned.add(file);
            }
          });
          if (images.length === 0) continue;
          const xs = preprocess(images, options);
          tf.dispose(images);
          yield { xs, labels };
        }
      } finally {
        await decoder.close();
      }
    },
  };
}

/** The files of an image folder with their labels (class = sub-folder), in a stable order. */
async function listImageFolder(dir: string, names?: string[]): Promise<{ classNames: string[]; items: Array<{ file: string; label: number }> }> {
  let entries: string[];
  try {
    entries = await fs.readdir(dir);
  } catch (err) {
    throw new TransferKitError('E_DATA', `Cannot read the image folder ${dir}: ${(err as Error).message}. Expected one sub-folder per class, e.g. ${path.join(dir, 'cats')}/*.jpg.`, { cause: err });
  }
  const classDirs: string[] = [];
  for (const e of entries.sort()) if ((await fs.stat(path.join(dir, e))).isDirectory()) classDirs.push(e);
  const classNames = names ?? classDirs;
  if (classNames.length < 2) {
    throw new TransferKitError('E_DATA', `${dir} holds ${classNames.length} class sub-folder(s); classification needs at least 2 (one sub-folder per class, images inside). Received: [${classDirs.join(', ')}].`);
  }
  const items: Array<{ file: string; label: number }> = [];
  for (const [label, cls] of classNames.entries()) {
    if (!classDirs.includes(cls)) throw new TransferKitError('E_DATA', `Class folder ${path.join(dir, cls)} does not exist. Received: classNames=[${classNames.join(', ')}].`);
    for (const f of (await fs.readdir(path.join(dir, cls))).sort()) {
      const file = path.join(dir, cls, f);
      if ((await fs.stat(file)).isFile()) items.push({ file, label });
    }
  }
  return { classNames, items };
}
