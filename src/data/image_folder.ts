/**
 * Loads an image-classification folder (one sub-folder per class, as Keras'
 * `image_dataset_from_directory` and torchvision's `ImageFolder`) into preprocessed tensors.
 */
import * as tf from '@tensorflow/tfjs-core';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { TransferKitError } from '../errors.js';
import type { Preprocessing } from '../models/pretrained_model.js';
import type { LabeledData } from './dataset.js';
import { decodeImage, type RgbImage } from './decode_image.js';

/** Options of {@link loadImageFolder}. */
export interface ImageFolderOptions {
  /** Output [height, width]. */
  size: [number, number];
  /** How pixels in [0, 255] become inputs. */
  preprocessing: Pick<Preprocessing, 'scale' | 'offset'>;
  /**
   * Fraction of the shorter side kept by the centre crop after resizing (timm's `crop_pct`;
   * 0.875 = torchvision's resize-256-crop-224). 1 squashes the whole image to `size`.
   */
  cropFraction?: number;
  /** Class folder names in label order (default: sorted sub-folder names). */
  classNames?: string[];
  /**
   * Channel order the model expects (default `'RGB'`). Keras' 'caffe'-mode models (VGG16,
   * ResNet50) take BGR; `preprocessing` then applies in that order (see `pretrainedConfig(id)`).
   */
  channelOrder?: 'RGB' | 'BGR';
  /** Called for every skipped file with a message naming it (default: console.warn). */
  onWarning?: (message: string) => void;
}

/** A loaded image folder: the data plus what was skipped. */
export interface ImageFolderData extends LabeledData {
  /** File path per example. */
  files: string[];
  /** Files that could not be used, with the reason. */
  skipped: { file: string; reason: string }[];
}

function resizeCrop(img: RgbImage, size: [number, number], cropFraction: number): tf.Tensor3D {
  return tf.tidy(() => {
    const t = tf.tensor3d(img.data, [img.height, img.width, 3], 'int32');
    const [oh, ow] = size;
    // Resize so the crop window of the shorter side maps to the output, then centre-crop.
    const scale = Math.max(oh / (img.height * cropFraction), ow / (img.width * cropFraction));
    const rh = Math.max(oh, Math.round(img.height * scale));
    const rw = Math.max(ow, Math.round(img.width * scale));
    const resized = tf.image.resizeBilinear(tf.cast(t, 'float32') as tf.Tensor3D, [rh, rw], true);
    const top = Math.floor((rh - oh) / 2);
    const left = Math.floor((rw - ow) / 2);
    return tf.slice(resized, [top, left, 0], [oh, ow, 3]);
  });
}

/**
 * Reads `dir/<class>/<image>` into preprocessed tensors. Files that are not decodable JPEG/PNG
 * images are skipped with a warning naming them, never silently.
 */
export async function loadImageFolder(dir: string, options: ImageFolderOptions): Promise<ImageFolderData> {
  const { size, preprocessing, cropFraction = 0.875 } = options;
  const warn = options.onWarning ?? ((m: string) => console.warn(m));
  let entries: string[];
  try {
    entries = await fs.readdir(dir);
  } catch (err) {
    throw new TransferKitError('E_DATA', `Cannot read the image folder ${dir}: ${(err as Error).message}. Expected one sub-folder per class, e.g. ${path.join(dir, 'cats')}/*.jpg.`, { cause: err });
  }
  const classDirs: string[] = [];
  for (const e of entries.sort()) if ((await fs.stat(path.join(dir, e))).isDirectory()) classDirs.push(e);
  const classNames = options.classNames ?? classDirs;
  if (classNames.length < 2) {
    throw new TransferKitError('E_DATA', `${dir} holds ${classNames.length} class sub-folder(s); classification needs at least 2 (one sub-folder per class, images inside). Received: [${classDirs.join(', ')}].`);
  }
  const images: tf.Tensor3D[] = [];
  const labels: number[] = [];
  const files: string[] = [];
  const skipped: { file: string; reason: string }[] = [];
  for (const [label, cls] of classNames.entries()) {
    const cdir = path.join(dir, cls);
    if (!classDirs.includes(cls)) throw new TransferKitError('E_DATA', `Class folder ${cdir} does not exist. Received: classNames=[${classNames.join(', ')}].`);
    for (const f of (await fs.readdir(cdir)).sort()) {
      const file = path.join(cdir, f);
      if (!(await fs.stat(file)).isFile()) continue;
      try {
        const img = decodeImage(new Uint8Array(await fs.readFile(file)), file);
        images.push(resizeCrop(img, size, cropFraction));
        labels.push(label);
        files.push(file);
      } catch (err) {
        const reason = (err as Error).message.replace('[transferkit] ', '');
        skipped.push({ file, reason });
        warn(`[transferkit] skipping ${file}: ${reason}`);
      }
    }
  }
  if (images.length === 0) throw new TransferKitError('E_DATA', `No decodable JPEG/PNG images under ${dir}.`);
  const xs = tf.tidy(() => {
    const rgb = tf.stack(images) as tf.Tensor4D;
    const stacked = options.channelOrder === 'BGR' ? tf.reverse(rgb, 3) : rgb;
    const s = Array.isArray(preprocessing.scale) ? tf.tensor1d(preprocessing.scale) : tf.scalar(preprocessing.scale);
    const o = Array.isArray(preprocessing.offset) ? tf.tensor1d(preprocessing.offset) : tf.scalar(preprocessing.offset);
    return tf.add(tf.mul(stacked, s), o);
  });
  tf.dispose(images);
  return { xs, labels: Int32Array.from(labels), classNames, files, skipped };
}
