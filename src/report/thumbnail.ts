/** Small PNG thumbnails of image files as data URIs, for self-contained HTML reports (Node). */
import * as fs from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { PNG } from 'pngjs';
import { decodeImageAsync } from '../data/decode_image_node.js';

/** A `size` x `size` centre crop of `file` (shorter side scaled to `size`), PNG, as a data URI; null if unreadable. */
export async function thumbnailDataUri(file: string, size = 150): Promise<string | null> {
  let img;
  try {
    img = await decodeImageAsync(new Uint8Array(fs.readFileSync(file)), file);
  } catch {
    return null;
  }
  const pixels = tf.tidy(() => {
    const t = tf.tensor3d(Float32Array.from(img.data), [img.height, img.width, 3]);
    const scale = size / Math.min(img.height, img.width);
    const h = Math.max(size, Math.round(img.height * scale));
    const w = Math.max(size, Math.round(img.width * scale));
    const r = tf.image.resizeBilinear(t, [h, w], false, true);
    return tf.round(tf.clipByValue(tf.slice(r, [Math.floor((h - size) / 2), Math.floor((w - size) / 2), 0], [size, size, 3]), 0, 255)).dataSync();
  });
  const png = new PNG({ width: size, height: size });
  for (let i = 0, j = 0; j < pixels.length; i += 4, j += 3) {
    png.data[i] = pixels[j];
    png.data[i + 1] = pixels[j + 1];
    png.data[i + 2] = pixels[j + 2];
    png.data[i + 3] = 255;
  }
  return `data:image/png;base64,${PNG.sync.write(png).toString('base64')}`;
}
