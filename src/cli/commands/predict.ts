/** `transferkit predict --model <run folder | saved model> FILE_OR_FOLDER...`: the top classes of each image (or of each line of a .txt for text models), one JSON line per input. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { TransferKitError } from '../../errors.js';
import { predict } from '../../train/evaluate.js';
import { extractFeatures } from '../../encoders/extract_features.js';
import { loadImageFiles } from '../../data/image_folder.js';
import { int, startCommand, UsageError } from '../args.js';
import { loadTrained } from '../model.js';
import { fsError, readTextFile } from '../files.js';

export const USAGE = 'Usage: transferkit predict --model <run folder | saved model folder> [--top 3] IMAGE_OR_FOLDER... | TEXTS.txt';

function expand(inputs: string[]): string[] {
  return inputs.flatMap((p) => {
    if (!fs.existsSync(p)) throw new TransferKitError('E_IO_NOT_FOUND', `No file or folder at ${p}. Name images, folders of images, or a .txt of texts. Received: ${p}. Check the path.`);
    try {
      if (!fs.statSync(p).isDirectory()) return [p];
      return fs.readdirSync(p, { recursive: true }).map(String).filter((f) => /\.(jpe?g|png)$/i.test(f)).sort().map((f) => path.join(p, f));
    } catch (err) {
      throw fsError(err, p, 'read');
    }
  });
}

export async function predictCommand(argv: string[]): Promise<number> {
  const args = await startCommand(argv, { model: { type: 'string' }, top: { type: 'string' }, batch: { type: 'string' }, 'allow-downloads': { type: 'boolean' } }, USAGE, true);
  if (args === null) return 0;
  const { values, positionals } = args;
  if (typeof values.model !== 'string') throw new UsageError('Missing --model.', USAGE);
  if (positionals.length === 0) throw new UsageError('Name at least one image, folder or text file to predict.', USAGE);
  const top = int(values, 'top', 3, 1);
  const batch = int(values, 'batch', 32, 1);
  const model = await loadTrained(values.model, values['allow-downloads'] === true);
  const classNames = model.classNames as string[];
  let names: string[];
  let xs: tf.Tensor;
  if (model.encoder?.modality === 'text') {
    names = positionals.flatMap((f) => readTextFile(f, 'the text file').split(/\r?\n/).filter((l) => l.trim() !== ''));
    xs = (await extractFeatures(model.encoder, names, { cache: false, progress: 'silent' })).features;
  } else if (model.encoder !== undefined) {
    names = expand(positionals);
    xs = (await extractFeatures(model.encoder, names, { cache: false, progress: 'silent' })).features;
  } else {
    const r = await loadImageFiles(expand(positionals), { size: [model.inputShape[0], model.inputShape[1]], preprocessing: model.preprocessing, onWarning: (m) => console.error(m) });
    names = r.files;
    xs = r.xs;
  }
  const probs = predict(model, xs, batch);
  const rows = (await probs.array()) as number[][];
  tf.dispose([probs, xs]);
  rows.forEach((row, i) => {
    const order = row.map((p, k) => [p, k] as const).sort((a, b) => b[0] - a[0]).slice(0, top);
    console.log(JSON.stringify({ input: names[i], predictions: order.map(([p, k]) => ({ class: classNames[k], probability: Number(p.toFixed(5)) })) }));
  });
  return 0;
}
