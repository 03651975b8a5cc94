/**
 * Keras 2 HDF5 weights (`model.save_weights('x.h5')`, keras.applications' `*_notop.h5`, and the
 * `model_weights` group of a full-model `.h5`), read and written through `h5wasm` (an optional
 * peer: `npm install h5wasm`). Layout, as Keras' `hdf5_format.py` writes it: the root (or
 * `model_weights`) has the attribute `layer_names` — split into `layer_names0`, `layer_names1`, ...
 * when it would pass HDF5's 64 KB attribute limit — and each layer's group has `weight_names`
 * (`'<layer>/kernel:0'`, ...), whose datasets live at `<layer>/<weight_name>`.
 * Weights are matched to a model by `<layer>/<weight>` name, strictly by default, as
 * `copyWeightsByName` does. Float16 datasets are refused by name (h5wasm 0.10 cannot decode them).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import { TransferKitError } from '../errors.js';
import { loadNamedArrays, weightKey, type WeightCopyReport } from './weights_by_name.js';
import { halfToFloat } from './_float16.js';
import { importOptional } from '../utils/import_optional.js';

/** IEEE 754 half-precision bits to a number (re-exported for the float16 tests). */
export { halfToFloat };

interface H5Attr { value: unknown }
/** The part of h5wasm's Group/Dataset API transferkit uses. */
export interface H5Node {
  attrs: Record<string, H5Attr>;
  keys?(): string[];
  get(name: string): H5Node | null;
  create_group(name: string): H5Node;
  create_dataset(o: { name: string; data: Float32Array; shape: number[] }): unknown;
  create_attribute(name: string, value: unknown): void;
  shape?: number[];
  dtype?: string;
  value?: unknown;
  /** Datasets: the low-level handles h5wasm reads raw bytes with. */
  file_id?: bigint;
  path?: string;
  metadata?: { size: number; total_size?: number; shape?: number[] };
}
interface H5File extends H5Node {
  close(): void;
}
/** The emscripten module under h5wasm (raw dataset reads for float16). */
interface H5Emscripten {
  get_dataset_data(fileId: bigint, path: string, count: null, offset: null, strides: null, ptr: bigint): void;
  _malloc(n: number): number;
  _free(ptr: number): void;
  HEAPU8: Uint8Array;
}
interface H5Module {
  ready: Promise<unknown>;
  File: new (file: string, mode: string) => H5File;
}

let emscripten: H5Emscripten | null = null;

/** Loads h5wasm's Node build (optional peer). */
export async function h5(): Promise<H5Module> {
  try {
    const mod = (await importOptional('h5wasm/node')) as { default?: H5Module } & H5Module;
    const m = mod.default ?? mod;
    emscripten = (await m.ready) as H5Emscripten;
    return m;
  } catch (err) {
    throw new TransferKitError('E_BACKEND_UNAVAILABLE', 'Reading and writing Keras .h5 files needs the optional peer h5wasm: `npm install h5wasm`.', { cause: err });
  }
}

/** An attribute that Keras may have split into `<name>0`, `<name>1`, ... (64 KB HDF5 limit). */
function chunkedAttr(node: H5Node, name: string): string[] {
  const whole = node.attrs[name];
  if (whole !== undefined) return [whole.value as string[] | string].flat();
  const out: string[] = [];
  for (let i = 0; node.attrs[`${name}${i}`] !== undefined; i++) out.push(...[node.attrs[`${name}${i}`].value as string[] | string].flat());
  return out;
}

/** The HDF5 superblock signature sits at byte 0 or after a user block of 512·2^k bytes. */
function isHdf5(file: string): boolean {
  const sig = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(8);
    return [0, 512, 1024, 2048].some((at) => fs.readSync(fd, buf, 0, 8, at) === 8 && buf.equals(sig));
  } finally {
    fs.closeSync(fd);
  }
}


/**
 * A float dataset's values as float32. float32/float64 come through h5wasm's `.value`; float16
 * (Keras `mixed_float16` checkpoints, `model.half()` exports) is read as raw bytes and decoded
 * here, because h5wasm 0.10's `.value` rejects it.
 */
export function datasetFloats(ds: H5Node, where: string): Float32Array {
  const dtype = ds.dtype ?? '?';
  if (dtype === '<e' || dtype === '>e') {
    const n = (ds.shape ?? []).reduce((a, b) => a * b, 1);
    if (emscripten === null || ds.file_id === undefined || ds.path === undefined) {
      throw new TransferKitError('E_IO_BAD_DTYPE', `${where}: float16 dataset, but h5wasm's low-level reader is unavailable.`);
    }
    const ptr = emscripten._malloc(Math.max(2 * n, 2));
    try {
      // HDF5 converts to the native (little-endian) half type on read.
      emscripten.get_dataset_data(ds.file_id, ds.path, null, null, null, BigInt(ptr));
      const bits = new Uint16Array(emscripten.HEAPU8.slice(ptr, ptr + 2 * n).buffer);
      return Float32Array.from(bits, halfToFloat);
    } finally {
      emscripten._free(ptr);
    }
  }
  if (dtype !== '<f' && dtype !== '>f' && dtype !== '<d' && dtype !== '>d') {
    throw new TransferKitError('E_IO_BAD_DTYPE', `${where} has HDF5 type ${dtype}; transferkit reads float16/float32/float64 weights.`);
  }
  const v = ds.value;
  return v instanceof Float32Array ? v : Float32Array.from(v as ArrayLike<number>);
}

/** One weight read from a Keras .h5 file. */
export interface H5Weight {
  shape: number[];
  data: Float32Array;
}

/** Reads every weight of a Keras 2 .h5 file, keyed `<layer>/<weight>` (e.g. `block1_conv1/kernel`). */
export async function readKerasH5(file: string): Promise<Map<string, H5Weight>> {
  if (!fs.existsSync(file)) throw new TransferKitError('E_IO_NOT_FOUND', `No such file: ${file}.`);
  if (!isHdf5(file)) throw new TransferKitError('E_IO_BAD_MANIFEST', `${file} is not an HDF5 file (no HDF5 signature at byte 0, 512, 1024 or 2048). A Keras 3 '.keras' file is a zip archive; a TF.js model is a folder with model.json.`);
  const m = await h5();
  let f: H5File;
  try {
    f = new m.File(file, 'r');
  } catch (err) {
    throw new TransferKitError('E_IO_BAD_MANIFEST', `${file} is not an HDF5 file (${(err as Error).message}).`, { cause: err });
  }
  try {
    const root: H5Node = f.get('model_weights') ?? f;
    const layers = chunkedAttr(root, 'layer_names');
    if (layers.length === 0) throw new TransferKitError('E_IO_BAD_MANIFEST', `${file}: no 'layer_names' attribute at the root or in 'model_weights'; not a Keras 2 weights file (a Keras 3 '.keras' archive is a zip instead).`);
    const out = new Map<string, H5Weight>();
    for (const layer of layers) {
      const g = root.get(layer);
      if (g === null) throw new TransferKitError('E_IO_BAD_MANIFEST', `${file}: layer '${layer}' is listed in layer_names but has no group.`);
      for (const wn of chunkedAttr(g, 'weight_names')) {
        const ds = g.get(wn);
        if (ds === null) throw new TransferKitError('E_IO_BAD_MANIFEST', `${file}: weight '${wn}' of layer '${layer}' is listed but absent.`);
        const base = (wn.split('/').pop() ?? wn).replace(/:\d+$/, '');
        const data = datasetFloats(ds, `${file}: dataset '${layer}/${wn}'`);
        out.set(`${layer}/${base}`, { shape: ds.shape ?? [], data });
      }
    }
    return out;
  } finally {
    f.close();
  }
}

/** Loads a Keras 2 .h5 weights file into `model` by layer and weight name (strict by default). */
export async function loadKerasH5(model: tfl.LayersModel, file: string, options: { strict?: boolean } = {}): Promise<WeightCopyReport> {
  return loadNamedArrays(model, await readKerasH5(file), { ...options, subject: `${file} does not match the model '${model.name}'.` });
}

/**
 * Writes `model`'s weights as a Keras 2 weights-only .h5 (`save_weights` layout), atomically:
 * every layer in `layer_names` (with or without weights), `weight_names` per layer.
 */
export async function saveKerasH5(model: tfl.LayersModel, file: string): Promise<void> {
  const m = await h5();
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}-${Date.now()}`);
  const f = new m.File(tmp, 'w');
  try {
    f.create_attribute('backend', 'tensorflow');
    f.create_attribute('keras_version', '2.15.0');
    f.create_attribute('layer_names', model.layers.map((l) => l.name));
    for (const layer of model.layers) {
      const g = f.create_group(layer.name);
      const names = layer.weights.map((w) => `${weightKey(layer, w)}:0`);
      // h5py writes an empty list for weightless layers; h5wasm cannot store an empty string array, so omit it (readers treat both alike).
      if (names.length > 0) g.create_attribute('weight_names', names);
      const inner = layer.weights.length > 0 ? g.create_group(layer.name) : null;
      for (const [i, w] of layer.weights.entries()) {
        const values = (await w.read().data()) as Float32Array;
        inner?.create_dataset({ name: names[i].split('/').pop() as string, data: Float32Array.from(values), shape: w.shape as number[] });
      }
    }
    f.close();
    fs.renameSync(tmp, file);
  } catch (err) {
    try {
      f.close();
    } catch {
      /* already closed */
    }
    fs.rmSync(tmp, { force: true });
    throw new TransferKitError('E_IO_WRITE', `Could not write ${file}: ${(err as Error).message}. Nothing was replaced.`, { cause: err });
  }
}
