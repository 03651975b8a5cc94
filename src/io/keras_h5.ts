/**
 * Keras 2 HDF5 weights (`model.save_weights('x.h5')`, keras.applications' `*_notop.h5`, and the
 * `model_weights` group of a full-model `.h5`), read and written through `h5wasm` (an optional
 * peer: `npm install h5wasm`). Layout, as Keras' `hdf5_format.py` writes it: the root (or
 * `model_weights`) has the attribute `layer_names` — split into `layer_names0`, `layer_names1`, ...
 * when it would pass HDF5's 64 KB attribute limit — and each layer's group has `weight_names`
 * (`'<layer>/kernel:0'`, ...), whose datasets live at `<layer>/<weight_name>`.
 * Weights are matched to a model by `<layer>/<weight>` name, strictly by default, as
 * `copyWeightsByName` does. Float16 datasets are read as raw bits and decoded here (h5wasm 0.10's
 * `.value` rejects them).
 *
 * Downloaded .h5 files are untrusted input: every call into the HDF5 library runs under
 * {@link h5Guard}, so a truncated or corrupted file ends in `E_IO_FORMAT` naming the file (never
 * the library's raw "name not defined!", a wasm abort or a TypeError), and every dataset's
 * declared shape is checked against `maxTensorElements` before its values are allocated. Reading
 * runs in a worker thread (h5_worker.ts), each call into the library within `parseTimeoutMs`:
 * some damaged files make libhdf5 loop forever, which would otherwise hang the process.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import { TransferKitError } from '../errors.js';
import { loadNamedArrays, weightKey, type WeightCopyReport } from './weights_by_name.js';
import { halfToFloat } from './_float16.js';
import { checkLimit } from '../utils/limits.js';
import { importOptional } from '../utils/import_optional.js';
import { openH5File, resolveH5wasm, type H5Node, type H5ReadFile } from './h5_worker.js';

/** IEEE 754 half-precision bits to a number (re-exported for the float16 tests). */
export { halfToFloat };

/** The reading side: proxies to h5wasm objects in the HDF5 worker thread (see h5_worker.ts). */
export type { H5Node, H5ReadFile } from './h5_worker.js';

/** The part of h5wasm's Group/File API `saveKerasH5` uses (writing stays on the main thread). */
interface H5WriteNode {
  create_group(name: string): H5WriteNode;
  create_dataset(o: { name: string; data: Float32Array; shape: number[] }): unknown;
  create_attribute(name: string, value: unknown): void;
}
interface H5WriteFile extends H5WriteNode {
  close(): void;
}

/**
 * Runs `fn` (calls into h5wasm on `file`); anything it throws that is not already a transferkit
 * error becomes `E_IO_FORMAT` naming the file and what was being read.
 */
export function h5Guard<T>(file: string, doing: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof TransferKitError) throw err;
    throw new TransferKitError('E_IO_FORMAT', `${file} is not a readable HDF5 file: ${doing} failed (${(err as Error).message}). The file is truncated or corrupt; download or save it again.`, { cause: err });
  }
}

/**
 * Opens `file` read-only in the HDF5 worker thread (every later call on it runs there, each within
 * `parseTimeoutMs`); `shown` names it in errors. `E_IO_FORMAT` when HDF5 cannot open it (h5wasm
 * does not throw then: it returns a file whose id is negative, on which every later call fails).
 * @throws E_BACKEND_UNAVAILABLE without h5wasm.
 */
export async function openH5(file: string, shown = file): Promise<H5ReadFile> {
  let f: H5ReadFile | null;
  try {
    f = await openH5File(file, shown);
  } catch (err) {
    if (err instanceof TransferKitError) throw err;
    throw new TransferKitError('E_IO_FORMAT', `${shown} is not a readable HDF5 file: opening it failed (${(err as Error).message}). The file is truncated or corrupt; download or save it again.`, { cause: err });
  }
  if (f === null) {
    throw new TransferKitError('E_IO_FORMAT', `${shown} is not a readable HDF5 file: the HDF5 library could not open it (its superblock or root group is damaged). The file is truncated or corrupt; download or save it again.`);
  }
  return f;
}

/** Closes `f`, ignoring errors (a damaged file may fail to close; the read error matters more). */
export function closeH5(f: H5ReadFile): void {
  try {
    f.close();
  } catch {
    /* already reported */
  }
}

/** A dataset's declared shape, validated, and its element count checked against `maxTensorElements`. */
export function datasetShape(ds: H5Node, where: string): number[] {
  const raw = ds.shape ?? [];
  if (!Array.isArray(raw) || !raw.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new TransferKitError('E_IO_FORMAT', `${where} declares the shape ${JSON.stringify(raw)}. A weight's shape is a list of integers >= 0. The file is corrupt; download or save it again.`);
  }
  checkLimit('maxTensorElements', raw.reduce((a, b) => a * b, 1), `${where} declares the shape [${raw.join(', ')}]`);
  return raw;
}
/** h5wasm's Node build, as `saveKerasH5` uses it. */
export interface H5Module {
  ready: Promise<unknown>;
  File: new (file: string, mode: string) => H5WriteFile;
}

/** Loads h5wasm's Node build (optional peer) in this thread, for writing. */
export async function h5(): Promise<H5Module> {
  try {
    // By file URL: h5wasm is an ES module only (its `./node` export has no `require` condition).
    // The CommonJS build turns import() into require(), which cannot load it: there a real
    // import() built at run time does (it fails in VM contexts such as test runners, where the
    // first one works).
    const url = resolveH5wasm();
    let mod: { default?: H5Module } & H5Module;
    try {
      mod = (await importOptional(url)) as typeof mod;
    } catch {
      const importEsm = new Function('url', 'return import(url)') as (u: string) => Promise<unknown>;
      mod = (await importEsm(url)) as typeof mod;
    }
    const m = mod.default ?? mod;
    await m.ready;
    return m;
  } catch (err) {
    throw new TransferKitError('E_BACKEND_UNAVAILABLE', 'Reading and writing Keras .h5 files needs the optional peer h5wasm: `npm install h5wasm`.', { cause: err });
  }
}

/** An attribute that Keras may have split into `<name>0`, `<name>1`, ... (64 KB HDF5 limit); its strings. */
function chunkedAttr(node: H5Node, name: string, where: string): string[] {
  const attrs = node.attrs;
  const parts: unknown[] = [];
  if (attrs[name] !== undefined) parts.push(attrs[name].value);
  else for (let i = 0; attrs[`${name}${i}`] !== undefined; i++) parts.push(attrs[`${name}${i}`].value);
  const out: string[] = [];
  for (const part of parts) {
    for (const v of typeof part === 'string' ? [part] : Array.isArray(part) ? part : [part]) {
      if (typeof v !== 'string') {
        throw new TransferKitError('E_IO_FORMAT', `${where}: the attribute '${name}' holds ${typeof v === 'object' ? Object.prototype.toString.call(v) : typeof v} values. Keras writes it as a list of strings. Received: ${name}=${String(v).slice(0, 60)}. The file is corrupt or not a Keras weights file.`);
      }
      out.push(v);
    }
  }
  return out;
}

/** The HDF5 superblock signature sits at byte 0 or after a user block of 512·2^k bytes. */
function isHdf5(file: string): boolean {
  const sig = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    throw new TransferKitError('E_IO_NOT_FOUND', `Could not open ${file}: ${(err as Error).message}. Check that it is a readable file.`, { cause: err });
  }
  try {
    const buf = Buffer.alloc(8);
    return [0, 512, 1024, 2048].some((at) => fs.readSync(fd, buf, 0, 8, at) === 8 && buf.equals(sig));
  } catch {
    return false; // a folder, or unreadable: not an HDF5 file
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
    const n = datasetShape(ds, where).reduce((a, b) => a * b, 1);
    const bits = ds.float16Bits(n);
    if (bits.length !== n) {
      throw new TransferKitError('E_IO_FORMAT', `${where} holds ${bits.length} values for ${n} elements of its shape. The file is corrupt; download or save it again.`);
    }
    return Float32Array.from(bits, halfToFloat);
  }
  if (dtype !== '<f' && dtype !== '>f' && dtype !== '<d' && dtype !== '>d') {
    throw new TransferKitError('E_IO_BAD_DTYPE', `${where} has HDF5 type ${dtype}; transferkit reads float16/float32/float64 weights.`);
  }
  const n = datasetShape(ds, where).reduce((a, b) => a * b, 1);
  const v = ds.value;
  const out = v instanceof Float32Array ? v : typeof v === 'number' ? Float32Array.of(v) : ArrayBuffer.isView(v) || Array.isArray(v) ? Float32Array.from(v as ArrayLike<number>) : null;
  if (out === null || out.length !== n) {
    throw new TransferKitError('E_IO_FORMAT', `${where} holds ${out === null ? 'no readable values' : `${out.length} values`} for ${n} elements of its shape. The file is corrupt; download or save it again.`);
  }
  return out;
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
  const f = await openH5(file);
  try {
    return h5Guard(file, 'reading its weights', () => {
      const root: H5Node = f.get('model_weights') ?? f;
      const layers = chunkedAttr(root, 'layer_names', file);
      if (layers.length === 0) throw new TransferKitError('E_IO_BAD_MANIFEST', `${file}: no 'layer_names' attribute at the root or in 'model_weights'; not a Keras 2 weights file (a Keras 3 '.keras' archive is a zip instead).`);
      const out = new Map<string, H5Weight>();
      for (const layer of layers) {
        const g = root.get(layer);
        if (g === null) throw new TransferKitError('E_IO_BAD_MANIFEST', `${file}: layer '${layer}' is listed in layer_names but has no group.`);
        for (const wn of chunkedAttr(g, 'weight_names', `${file}: layer '${layer}'`)) {
          const ds = g.get(wn);
          if (ds === null) throw new TransferKitError('E_IO_BAD_MANIFEST', `${file}: weight '${wn}' of layer '${layer}' is listed but absent.`);
          const base = (wn.split('/').pop() ?? wn).replace(/:\d+$/, '');
          const where = `${file}: dataset '${layer}/${wn}'`;
          const data = datasetFloats(ds, where);
          out.set(`${layer}/${base}`, { shape: datasetShape(ds, where), data });
        }
      }
      return out;
    });
  } finally {
    closeH5(f);
  }
}

/** `dropLayers` as a test of a layer name: a list of names, or a function. */
export function dropTest(drop: readonly string[] | ((layer: string) => boolean) | undefined): (layer: string) => boolean {
  if (typeof drop === 'function') return drop;
  const names = new Set(drop ?? []);
  return (layer) => names.has(layer);
}

/**
 * Loads a Keras 2 .h5 weights file into `model` by layer and weight name (strict by default).
 * `dropLayers`: layers of the file the model was built without (a classifier, for `includeTop: false`):
 * names, or a test of a layer name.
 */
export async function loadKerasH5(model: tfl.LayersModel, file: string, options: { strict?: boolean; dropLayers?: readonly string[] | ((layer: string) => boolean) } = {}): Promise<WeightCopyReport> {
  const arrays = await readKerasH5(file);
  // Layers the model was built without (a classifier, for `includeTop: false`) are not "unexpected".
  const drop = dropTest(options.dropLayers);
  for (const k of [...arrays.keys()]) if (drop(k.slice(0, k.indexOf('/')))) arrays.delete(k);
  return loadNamedArrays(model, arrays, { strict: options.strict, subject: `${file} does not match the model '${model.name}'.` });
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
