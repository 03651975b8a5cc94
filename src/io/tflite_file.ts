/**
 * Node side of the TFLite reader: a `.tflite` file, or a folder holding exactly one, read and
 * loaded into a model by name (`tflite_weights.ts`). Imported on demand by `loadPretrained` so
 * browser bundles stay free of node:fs.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import { TransferKitError } from '../errors.js';
import { parseTflite } from './tflite.js';
import { tfliteToKeras, type TfliteMapOptions } from './tflite_weights.js';
import { loadNamedArrays, type WeightCopyReport } from './weights_by_name.js';

/** The `.tflite` file `where` names: itself, or the only `.tflite` in a folder. */
export function resolveTfliteFile(where: string): string {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(where);
  } catch {
    throw new TransferKitError('E_IO_NOT_FOUND', `No such file or folder: ${where}.`);
  }
  if (!stat.isDirectory()) return where;
  const found = fs.readdirSync(where).filter((f) => f.endsWith('.tflite')).sort();
  if (found.length !== 1) {
    throw new TransferKitError('E_IO_NOT_FOUND', `${where}: expected exactly one .tflite file in the folder, found ${found.length === 0 ? 'none' : found.join(', ')}. Pass the file itself as weights.`);
  }
  return path.join(where, found[0]);
}

/** Whether `where` is a `.tflite` file or a folder holding one (what `loadPretrained`'s `weights` accepts). */
export function isTfliteSource(where: string): boolean {
  if (where.endsWith('.tflite')) return true;
  try {
    return fs.statSync(where).isDirectory() && fs.readdirSync(where).some((f) => f.endsWith('.tflite'));
  } catch {
    return false;
  }
}

/**
 * Loads a TFLite file's weights into `model` (a Keras-layout architecture), strictly: see
 * `tfliteToKeras` for the mapping and BatchNorm folding.
 */
export function loadTfliteWeights(model: tfl.LayersModel, where: string, options: TfliteMapOptions = {}): WeightCopyReport {
  const file = resolveTfliteFile(where);
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(fs.readFileSync(file));
  } catch (err) {
    throw new TransferKitError('E_IO_NOT_FOUND', `Could not read ${file}: ${(err as Error).message}.`, { cause: err });
  }
  const arrays = tfliteToKeras(parseTflite(bytes, file), model, options);
  return loadNamedArrays(model, arrays, { subject: `${file} does not match the model '${model.name}'.` });
}
