/**
 * Data for the CLI: an image folder (one sub-folder per class) for image models, or a table of
 * texts (.csv/.tsv/.jsonl with text and label columns) for text encoders; split into train and
 * validation the same way for the same seed (so `--resume` rebuilds the identical split), with
 * the file or text behind every validation row kept for the report.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { TransferKitError } from '../errors.js';
import { loadImageFolder, type ImageFolderData } from '../data/image_folder.js';
import { loadDelimited, loadJsonl, type TableTextData } from '../data/text/load_text.js';
import { splitIndices, subset } from '../data/split.js';
import type { LabeledData } from '../data/dataset.js';
import type { EncoderData, PretrainedModel } from '../models/pretrained_model.js';
import { isFrozenEncoder, type FrozenEncoder } from '../models/frozen_encoder.js';

/** One validation example as the report shows it. */
export interface ExampleRef {
  file?: string;
  text?: string;
}

/** What {@link loadCliData} returns. */
export interface CliData {
  classNames: string[];
  train: LabeledData | EncoderData;
  val: LabeledData | EncoderData | null;
  valItems: ExampleRef[];
  /** The same for the training rows (what `evaluate` reports on when it reads all of `--data`). */
  trainItems: ExampleRef[];
  skipped: { file: string; reason: string }[];
  dispose(): void;
}

const isTable = (p: string): boolean => /\.(csv|tsv|jsonl)$/i.test(p);

/** Reads a table of texts with labels; class names are the sorted distinct labels unless given. */
async function readTable(file: string, classNames?: string[]): Promise<TableTextData> {
  if (!fs.existsSync(file)) throw new TransferKitError('E_IO_NOT_FOUND', `No data file at ${file}. --data and --val name an image folder or a .csv/.tsv/.jsonl table. Received: ${file}. Check the path.`);
  if (fs.statSync(file).isDirectory()) throw new TransferKitError('E_DATA', `${file} is a folder, but its name ends like a table (.csv/.tsv/.jsonl). A table must be a file. Received: ${file}. Rename the folder, or name the table file.`);
  const d = file.toLowerCase().endsWith('.jsonl') ? await loadJsonl(file) : await loadDelimited(file);
  if (classNames !== undefined && d.classNames.some((c) => !classNames.includes(c))) {
    throw new TransferKitError('E_DATA', `${file} has labels (${d.classNames.join(', ')}) outside the training classes (${classNames.join(', ')}).`);
  }
  if (classNames !== undefined) {
    const remap = Int32Array.from(d.labels, (l) => classNames.indexOf(d.classNames[l]));
    return { ...d, labels: remap, classNames };
  }
  return d;
}

function checkFolder(dir: string, what: string): void {
  if (!fs.existsSync(dir)) throw new TransferKitError('E_IO_NOT_FOUND', `No ${what} at ${dir}.`);
  if (!fs.statSync(dir).isDirectory()) throw new TransferKitError('E_DATA', `${dir} is a file; ${what} must be a folder with one sub-folder of images per class (or a .csv/.tsv/.jsonl table of texts).`);
  const subs = fs.readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory());
  if (subs.length < 2) {
    throw new TransferKitError('E_DATA', `${dir} has ${subs.length} sub-folder(s); an image-classification folder needs one sub-folder per class (at least 2), e.g. ${path.join(dir, 'cats')}/*.jpg and ${path.join(dir, 'dogs')}/*.jpg.`);
  }
}

/**
 * Loads `--data` (and `--val`, else a seeded stratified `valSplit` of `--data`; `valSplit` 0: all
 * of it as `train`, no validation) for `model`.
 * Image folders become preprocessed tensors for TF.js models and file lists for frozen image
 * encoders; tables become texts for frozen text encoders.
 */
export async function loadCliData(model: PretrainedModel | FrozenEncoder, data: string, val: string | undefined, valSplit: number, seed: number, classNames?: string[]): Promise<CliData> {
  const encoder = isFrozenEncoder(model) ? model : model.encoder;
  const source = isFrozenEncoder(model) ? model.id : model.source;
  if (isTable(data)) {
    if (encoder === undefined || encoder.modality !== 'text') {
      throw new TransferKitError('E_BAD_OPTION', `${data} is a table of texts; train on it with a text encoder (--model onnx:<folder>), not the image model ${source}.`);
    }
    const all = await readTable(data, classNames);
    const names = all.classNames;
    const part = (d: TableTextData, idx: number[]): EncoderData => ({ inputs: idx.map((i) => d.texts[i]), labels: Int32Array.from(idx, (i) => d.labels[i]), classNames: names });
    if (val !== undefined) {
      const v = await readTable(val, names);
      const every = (d: TableTextData) => d.texts.map((_, i) => i);
      return { classNames: names, train: part(all, every(all)), val: part(v, every(v)), valItems: v.texts.map((text) => ({ text })), trainItems: all.texts.map((text) => ({ text })), skipped: [], dispose: () => undefined };
    }
    const [tr, va] = valSplit > 0 ? splitIndices(all.labels, names.length, valSplit, seed) : [all.texts.map((_, i) => i), []];
    return { classNames: names, train: part(all, tr), val: va.length > 0 ? part(all, va) : null, valItems: va.map((i) => ({ text: all.texts[i] })), trainItems: tr.map((i) => ({ text: all.texts[i] })), skipped: [], dispose: () => undefined };
  }
  checkFolder(data, '--data folder');
  if (val !== undefined) checkFolder(val, '--val folder');
  if (encoder !== undefined) {
    if (encoder.modality !== 'image') throw new TransferKitError('E_BAD_OPTION', `${data} is an image folder, but ${encoder.id} embeds texts; pass a .csv/.tsv/.jsonl table.`);
    // A frozen image encoder takes the files themselves (decoded and preprocessed by its processor).
    const list = (dir: string, names?: string[]) => {
      const cls = names ?? fs.readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
      const files: string[] = [];
      const labels: number[] = [];
      cls.forEach((c, k) => {
        for (const f of fs.readdirSync(path.join(dir, c)).filter((f) => /\.(jpe?g|png)$/i.test(f)).sort()) {
          files.push(path.join(dir, c, f));
          labels.push(k);
        }
      });
      return { cls, files, labels: Int32Array.from(labels) };
    };
    const all = list(data, classNames);
    const part = (d: typeof all, idx: number[]): EncoderData => ({ inputs: idx.map((i) => d.files[i]), labels: Int32Array.from(idx, (i) => d.labels[i]), classNames: all.cls });
    if (val !== undefined) {
      const v = list(val, all.cls);
      return { classNames: all.cls, train: part(all, all.files.map((_, i) => i)), val: part(v, v.files.map((_, i) => i)), valItems: v.files.map((file) => ({ file })), trainItems: all.files.map((file) => ({ file })), skipped: [], dispose: () => undefined };
    }
    const [tr, va] = valSplit > 0 ? splitIndices(all.labels, all.cls.length, valSplit, seed) : [all.files.map((_, i) => i), []];
    return { classNames: all.cls, train: part(all, tr), val: va.length > 0 ? part(all, va) : null, valItems: va.map((i) => ({ file: all.files[i] })), trainItems: tr.map((i) => ({ file: all.files[i] })), skipped: [], dispose: () => undefined };
  }
  const pm = model as PretrainedModel;
  const [h, w] = pm.inputShape;
  const load = (dir: string, names?: string[]): Promise<ImageFolderData> => loadImageFolder(dir, { size: [h, w], preprocessing: pm.preprocessing, ...(names !== undefined ? { classNames: names } : {}), onWarning: () => undefined });
  const all = await load(data, classNames);
  if (val !== undefined) {
    const v = await load(val, all.classNames);
    return {
      classNames: all.classNames, train: all, val: v, valItems: v.files.map((file) => ({ file })), trainItems: all.files.map((file) => ({ file })), skipped: [...all.skipped, ...v.skipped],
      dispose: () => tf.dispose([all.xs, v.xs]),
    };
  }
  if (valSplit === 0) {
    return { classNames: all.classNames, train: all, val: null, valItems: [], trainItems: all.files.map((file) => ({ file })), skipped: all.skipped, dispose: () => all.xs.dispose() };
  }
  const [tr, va] = splitIndices(all.labels, all.classNames.length, valSplit, seed);
  const train = subset(all, tr);
  const valPart = subset(all, va);
  all.xs.dispose();
  return {
    classNames: all.classNames, train, val: valPart, valItems: va.map((i) => ({ file: all.files[i] })), trainItems: tr.map((i) => ({ file: all.files[i] })), skipped: all.skipped,
    dispose: () => tf.dispose([train.xs, valPart.xs]),
  };
}
