/**
 * PyTorch checkpoints (`.pth`, `.pt`, `.bin` written by `torch.save`) read without Python, and
 * without running their pickled code: the restricted reader of `pickle.ts` resolves only tensors,
 * storages and containers, as `torch.load(weights_only=True)` does. Both layouts `torch.save` has
 * written are read:
 * - the zip layout (PyTorch ≥ 1.6): `<archive>/data.pkl` plus one uncompressed entry per storage,
 *   `<archive>/data/<key>`; storages are read by position from the file, so only the tensors that
 *   are kept ever reach memory (an optimizer state beside the weights costs nothing);
 * - the legacy layout (before 1.6, e.g. torchvision's 2017–2019 weights such as
 *   `mobilenet_v2-b0353104.pth`): magic number, protocol, system info and the object as four
 *   pickles, then the list of storage keys and each storage's bytes (8-byte element count first).
 * Tensors become {@link SafeTensor}s (float types → float32, integer types → int32), honouring
 * their storage offset and strides (views and transposed tensors come out as PyTorch shows them).
 */
import * as fs from 'node:fs';
import { inflateSync } from 'fflate';
import { TransferKitError } from '../errors.js';
import { bfloat16ToFloat32, float16ToFloat32 } from './_float16.js';
import { PICKLE_STATE, readPickle, type PickleCallable } from './pickle.js';
import type { SafeTensor } from './safetensors.js';

/** `torch.<Name>Storage` → element type. */
const STORAGE_TYPES: Record<string, { dtype: string; bytes: number }> = {
  FloatStorage: { dtype: 'F32', bytes: 4 }, DoubleStorage: { dtype: 'F64', bytes: 8 }, HalfStorage: { dtype: 'F16', bytes: 2 },
  BFloat16Storage: { dtype: 'BF16', bytes: 2 }, LongStorage: { dtype: 'I64', bytes: 8 }, IntStorage: { dtype: 'I32', bytes: 4 },
  ShortStorage: { dtype: 'I16', bytes: 2 }, CharStorage: { dtype: 'I8', bytes: 1 }, ByteStorage: { dtype: 'U8', bytes: 1 }, BoolStorage: { dtype: 'BOOL', bytes: 1 },
};

class StorageType {
  constructor(readonly name: string, readonly dtype: string, readonly bytes: number) {}
}

/** A storage named in the pickle; its bytes are fetched when a tensor that uses it is kept. */
class StorageRef {
  constructor(readonly key: string, readonly type: StorageType, readonly numel: number, readonly elementOffset = 0) {}
}

/** A tensor as the pickle describes it (`_rebuild_tensor_v2` arguments), not yet read. */
export class TorchTensorRef {
  constructor(readonly storage: StorageRef, readonly offset: number, readonly shape: number[], readonly stride: number[]) {}
}

/** A Python object the reader does not construct (kept inert, with its name and arguments). */
export class OpaquePythonObject {
  constructor(readonly pythonClass: string, readonly args: readonly unknown[]) {}
}

function ints(v: unknown, what: string, file: string): number[] {
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'number')) throw new TransferKitError('E_IO_FORMAT', `${file}: ${what} is not a tuple of ints.`);
  return v as number[];
}

/** The allow-list: what `torch.load(weights_only=True)` would construct, nothing more. */
function findClass(file: string): (module: string, name: string) => PickleCallable {
  const rebuild = (storage: unknown, offset: unknown, size: unknown, stride: unknown): TorchTensorRef => {
    if (!(storage instanceof StorageRef)) throw new TransferKitError('E_IO_FORMAT', `${file}: a tensor's storage is not a storage record.`);
    return new TorchTensorRef(storage, Number(offset), ints(size, 'a tensor size', file), ints(stride, 'a tensor stride', file));
  };
  return (module, name) => {
    const full = `${module}.${name}`;
    // Storage classes appear uncalled inside persistent ids: the callable carries its type.
    if (module === 'torch' && name in STORAGE_TYPES) {
      const type = new StorageType(name, STORAGE_TYPES[name].dtype, STORAGE_TYPES[name].bytes);
      return Object.assign(() => type, { storageType: type });
    }
    switch (full) {
      case 'collections.OrderedDict':
      case 'builtins.dict':
        return (items?: unknown) => new Map(Array.isArray(items) ? (items as [unknown, unknown][]) : []);
      case 'torch._utils._rebuild_tensor':
      case 'torch._utils._rebuild_tensor_v2':
        return rebuild as PickleCallable;
      case 'torch._utils._rebuild_parameter':
      case 'torch._utils._rebuild_parameter_with_state':
        return (data: unknown) => data;
      case 'torch._tensor._rebuild_from_type_v2':
        // (func, new_type, args, state): a Tensor subclass; the data is func(*args).
        return (func: unknown, _type: unknown, args: unknown) => (typeof func === 'function' && Array.isArray(args) ? (func as PickleCallable)(...args) : null);
      case 'torch.Size':
      case 'builtins.tuple':
      case 'builtins.list':
        return (v?: unknown) => (Array.isArray(v) ? [...v] : []);
      case 'builtins.set':
        return (v?: unknown) => new Set(Array.isArray(v) ? v : []);
      case '_codecs.encode':
        // Protocol 2 writes Python bytes as _codecs.encode(str, 'latin1').
        return (s: unknown) => Uint8Array.from(String(s), (c) => c.charCodeAt(0) & 0xff);
      default:
        // Anything else (numpy scalars in metadata, argparse Namespaces, classes) stays inert: never
        // constructed, kept as a record, and refused by name if a kept tensor would need it.
        return (...args: unknown[]) => new OpaquePythonObject(full, args);
    }
  };
}

function storageFrom(pid: unknown, file: string): unknown {
  const t = Array.isArray(pid) ? pid : [];
  const kind = t[0] instanceof Uint8Array ? new TextDecoder('latin1').decode(t[0]) : t[0];
  if (kind === 'module') return null; // legacy files may embed module source: not needed
  const type = (t[1] as { storageType?: unknown } | undefined)?.storageType;
  if (kind !== 'storage' || !(type instanceof StorageType)) {
    throw new TransferKitError('E_IO_FORMAT', `${file}: unexpected persistent id ${JSON.stringify(kind)} (expected a storage record of a known storage type).`);
  }
  const [, , key, , numel, view] = t as [string, unknown, unknown, unknown, unknown, unknown];
  const ref = new StorageRef(String(key), type, Number(numel));
  // Legacy storage views: (view_key, offset, size) into the root storage.
  if (Array.isArray(view) && view.length === 3) return new StorageRef(ref.key, type, Number(view[2]), Number(view[1]));
  return ref;
}

/** Decodes `numel` elements of `type` from little-endian bytes into float32 or int32. */
function decodeElements(bytes: Uint8Array, type: StorageType, name: string, file: string): Float32Array | Int32Array {
  const n = Math.floor(bytes.byteLength / type.bytes);
  const buf = new ArrayBuffer(n * type.bytes);
  new Uint8Array(buf).set(bytes.subarray(0, n * type.bytes));
  const v = new DataView(buf);
  switch (type.dtype) {
    case 'F32': return new Float32Array(buf);
    case 'F64': return Float32Array.from(new Float64Array(buf));
    case 'F16': return float16ToFloat32(v, n);
    case 'BF16': return bfloat16ToFloat32(v, n);
    case 'I64': {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const x = v.getBigInt64(8 * i, true);
        if (x > 2147483647n || x < -2147483648n) throw new TransferKitError('E_IO_BAD_DTYPE', `${file}: tensor '${name}' (int64) holds ${x}, beyond int32. transferkit reads int64 tensors as int32 (counters, indices).`);
        out[i] = Number(x);
      }
      return out;
    }
    case 'I32': return new Int32Array(buf);
    case 'I16': return Int32Array.from(new Int16Array(buf));
    case 'I8': return Int32Array.from(new Int8Array(buf));
    default: return Int32Array.from(new Uint8Array(buf)); // U8, BOOL
  }
}


/** Gathers a (possibly strided) tensor out of its storage's elements. */
function materialize(ref: TorchTensorRef, elements: Float32Array | Int32Array, name: string, file: string): SafeTensor {
  const dtype = elements instanceof Float32Array ? 'float32' : 'int32';
  const { shape, stride } = ref;
  const numel = shape.reduce((a, b) => a * b, 1);
  const base = ref.storage.elementOffset + ref.offset;
  let last = base;
  shape.forEach((d, i) => (last += d > 0 ? (d - 1) * stride[i] : 0));
  if (numel > 0 && (base < 0 || last >= elements.length)) {
    throw new TransferKitError('E_IO_FORMAT', `${file}: tensor '${name}' [${shape.join(', ')}] reaches element ${last} of a storage of ${elements.length}: the file is truncated or corrupt.`);
  }
  const contiguous = shape.every((_, i) => shape[i] === 1 || stride[i] === shape.slice(i + 1).reduce((a, b) => a * b, 1));
  if (contiguous) return { dtype, shape: [...shape], data: elements.slice(base, base + numel) };
  const out = dtype === 'float32' ? new Float32Array(numel) : new Int32Array(numel);
  const idx = new Array<number>(shape.length).fill(0);
  for (let k = 0; k < numel; k++) {
    let at = base;
    for (let i = 0; i < shape.length; i++) at += idx[i] * stride[i];
    out[k] = elements[at];
    for (let i = shape.length - 1; i >= 0; i--) {
      if (++idx[i] < shape[i]) break;
      idx[i] = 0;
    }
  }
  return { dtype, shape: [...shape], data: out };
}

/** Options of {@link readTorchCheckpoint}. */
export interface TorchCheckpointOptions {
  /**
   * Where the state dict sits in a checkpoint that holds more (`'state_dict'`, `'model'`,
   * `'model_ema'`; nested keys joined with '/'). Default: the object itself when it maps names to
   * tensors, else its `'state_dict'` or `'model'` entry, as timm's `load_state_dict` looks.
   */
  key?: string;
  /**
   * Remove this prefix from every name (default: `'module.'` when every name has it, as timm's
   * `clean_state_dict` does for `DataParallel` checkpoints). false keeps the names.
   */
  stripPrefix?: string | false;
}

interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

/** The central directory of a zip file (zip64 sizes and offsets included), read by position. */
function zipEntries(fd: number, fileSize: number, file: string): ZipEntry[] {
  const tailLen = Math.min(fileSize, 65_557);
  const tail = Buffer.alloc(tailLen);
  fs.readSync(fd, tail, 0, tailLen, fileSize - tailLen);
  const eocd = tail.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0) throw new TransferKitError('E_IO_FORMAT', `${file}: a zip file without its central directory: the file is truncated.`);
  let count = tail.readUInt16LE(eocd + 10);
  let cdSize = tail.readUInt32LE(eocd + 12);
  let cdOffset = tail.readUInt32LE(eocd + 16);
  const loc64 = eocd - 20;
  if (loc64 >= 0 && tail.readUInt32LE(loc64) === 0x07064b50) {
    const rec = Buffer.alloc(56);
    fs.readSync(fd, rec, 0, 56, Number(tail.readBigUInt64LE(loc64 + 8)));
    count = Number(rec.readBigUInt64LE(32));
    cdSize = Number(rec.readBigUInt64LE(40));
    cdOffset = Number(rec.readBigUInt64LE(48));
  }
  if (cdOffset + cdSize > fileSize) throw new TransferKitError('E_IO_FORMAT', `${file}: the zip directory points past the end of the file: the file is truncated.`);
  const cd = Buffer.alloc(cdSize);
  fs.readSync(fd, cd, 0, cdSize, cdOffset);
  const out: ZipEntry[] = [];
  let p = 0;
  for (let i = 0; i < count && p + 46 <= cd.length; i++) {
    const nameLen = cd.readUInt16LE(p + 28);
    const extraLen = cd.readUInt16LE(p + 30);
    const commentLen = cd.readUInt16LE(p + 32);
    const e: ZipEntry = {
      name: cd.toString('utf8', p + 46, p + 46 + nameLen), method: cd.readUInt16LE(p + 10),
      compressedSize: cd.readUInt32LE(p + 20), size: cd.readUInt32LE(p + 24), localOffset: cd.readUInt32LE(p + 42),
    };
    // zip64 extra field (0x0001): the 0xffffffff fields in order size, compressed size, offset.
    for (let q = p + 46 + nameLen; q + 4 <= p + 46 + nameLen + extraLen;) {
      const id = cd.readUInt16LE(q);
      const len = cd.readUInt16LE(q + 2);
      if (id === 1) {
        let r = q + 4;
        if (e.size === 0xffffffff) {
          e.size = Number(cd.readBigUInt64LE(r));
          r += 8;
        }
        if (e.compressedSize === 0xffffffff) {
          e.compressedSize = Number(cd.readBigUInt64LE(r));
          r += 8;
        }
        if (e.localOffset === 0xffffffff) e.localOffset = Number(cd.readBigUInt64LE(r));
      }
      q += 4 + len;
    }
    out.push(e);
    p += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}

function readZipEntry(fd: number, e: ZipEntry, fileSize: number, file: string): Uint8Array {
  const head = Buffer.alloc(30);
  fs.readSync(fd, head, 0, 30, e.localOffset);
  const start = e.localOffset + 30 + head.readUInt16LE(26) + head.readUInt16LE(28);
  if (start + e.compressedSize > fileSize) throw new TransferKitError('E_IO_FORMAT', `${file}: entry '${e.name}' ends past the end of the file: the file is truncated.`);
  const data = Buffer.alloc(e.compressedSize);
  fs.readSync(fd, data, 0, e.compressedSize, start);
  if (e.method === 0) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (e.method === 8) return inflateSync(data);
  throw new TransferKitError('E_IO_FORMAT', `${file}: entry '${e.name}' uses zip compression method ${e.method}; only stored and deflated entries are read.`);
}

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;

/**
 * Reads the object `torch.save` wrote, with tensors left as {@link TorchTensorRef}s, and a
 * function that reads a tensor's values.
 */
function openTorchFile(file: string): { root: unknown; read: (ref: TorchTensorRef, name: string) => SafeTensor; close: () => void } {
  if (!fs.existsSync(file)) throw new TransferKitError('E_IO_NOT_FOUND', `PyTorch checkpoint not found: ${file}.`);
  const fd = fs.openSync(file, 'r');
  const size = fs.fstatSync(fd).size;
  const sig = Buffer.alloc(4);
  fs.readSync(fd, sig, 0, 4, 0);
  const opts = { findClass: findClass(file), persistentLoad: (pid: unknown) => storageFrom(pid, file), source: file };
  try {
    if (sig.readUInt32LE(0) === 0x04034b50) {
      const entries = zipEntries(fd, size, file);
      const pkl = entries.find((e) => e.name.endsWith('/data.pkl') || e.name === 'data.pkl');
      if (pkl === undefined) throw new TransferKitError('E_IO_FORMAT', `${file}: a zip file without data.pkl, so not a torch.save checkpoint. Entries: ${entries.slice(0, 5).map((e) => e.name).join(', ')}.`);
      const prefix = pkl.name.slice(0, pkl.name.length - 'data.pkl'.length);
      const order = entries.find((e) => e.name === `${prefix}byteorder`);
      if (order !== undefined && new TextDecoder().decode(readZipEntry(fd, order, size, file)).trim() === 'big') {
        throw new TransferKitError('E_IO_BAD_DTYPE', `${file}: saved on a big-endian machine; re-save it on a little-endian one.`);
      }
      const root = readPickle(readZipEntry(fd, pkl, size, file), 0, opts).value;
      const byName = new Map(entries.map((e) => [e.name, e]));
      const cache = new Map<string, Float32Array | Int32Array>();
      const read = (ref: TorchTensorRef, name: string): SafeTensor => {
        const s = ref.storage;
        let elements = cache.get(s.key);
        if (elements === undefined) {
          const e = byName.get(`${prefix}data/${s.key}`);
          if (e === undefined) throw new TransferKitError('E_IO_FORMAT', `${file}: storage '${s.key}' of tensor '${name}' is missing from the archive.`);
          elements = decodeElements(readZipEntry(fd, e, size, file), s.type, name, file);
          cache.set(s.key, elements);
        }
        return materialize(ref, elements, name, file);
      };
      return { root, read, close: () => fs.closeSync(fd) };
    }
    // Legacy layout: read whole (it is sequential), four pickles, the key list, then the storages.
    const bytes = new Uint8Array(fs.readFileSync(file));
    if (bytes[0] !== 0x80) throw new TransferKitError('E_IO_FORMAT', `${file}: neither a zip archive nor a pickle, so not a torch.save checkpoint (first bytes ${[...bytes.subarray(0, 4)].map((b) => b.toString(16).padStart(2, '0')).join(' ')}).`);
    const plain = { findClass: findClass(file), source: file };
    const magic = readPickle(bytes, 0, plain);
    if (magic.value !== LEGACY_MAGIC) throw new TransferKitError('E_IO_FORMAT', `${file}: a pickle, but not one written by torch.save (no PyTorch magic number). Plain pickles are not read: they can run code.`);
    const protocol = readPickle(bytes, magic.end, plain);
    const info = readPickle(bytes, protocol.end, plain);
    const littleEndian = info.value instanceof Map ? info.value.get('little_endian') : true;
    if (littleEndian === false) throw new TransferKitError('E_IO_BAD_DTYPE', `${file}: saved on a big-endian machine; re-save it on a little-endian one.`);
    const obj = readPickle(bytes, info.end, opts);
    const keys = readPickle(bytes, obj.end, plain);
    if (!Array.isArray(keys.value)) throw new TransferKitError('E_IO_FORMAT', `${file}: the storage key list is missing.`);
    // Each storage: int64 element count, then its bytes; element size from the tensors that use it.
    const types = new Map<string, StorageType>();
    collectStorages(obj.value, types);
    const raw = new Map<string, Float32Array | Int32Array>();
    let p = keys.end;
    for (const k of keys.value as unknown[]) {
      const key = String(k);
      if (p + 8 > bytes.length) throw new TransferKitError('E_IO_FORMAT', `${file}: storage '${key}' is missing: the file is truncated.`);
      const n = Number(new DataView(bytes.buffer, bytes.byteOffset + p, 8).getBigInt64(0, true));
      const type = types.get(key) ?? new StorageType('ByteStorage', 'U8', 1);
      const len = n * type.bytes;
      if (p + 8 + len > bytes.length) throw new TransferKitError('E_IO_FORMAT', `${file}: storage '${key}' (${n} elements) ends past the end of the file: the file is truncated.`);
      raw.set(key, decodeElements(bytes.subarray(p + 8, p + 8 + len), type, key, file));
      p += 8 + len;
    }
    const read = (ref: TorchTensorRef, name: string): SafeTensor => {
      const elements = raw.get(ref.storage.key);
      if (elements === undefined) throw new TransferKitError('E_IO_FORMAT', `${file}: storage '${ref.storage.key}' of tensor '${name}' is missing.`);
      return materialize(ref, elements, name, file);
    };
    fs.closeSync(fd);
    return { root: obj.value, read, close: () => undefined };
  } catch (err) {
    try {
      fs.closeSync(fd);
    } catch {
      // already closed
    }
    throw err;
  }
}

function collectStorages(v: unknown, out: Map<string, StorageType>, seen = new Set<unknown>()): void {
  if (v === null || typeof v !== 'object' || seen.has(v)) return;
  seen.add(v);
  if (v instanceof TorchTensorRef) {
    out.set(v.storage.key, v.storage.type);
    return;
  }
  const children = v instanceof Map ? [...v.values()] : Array.isArray(v) ? v : v instanceof OpaquePythonObject ? v.args : [];
  for (const c of children) collectStorages(c, out, seen);
  const state = (v as Record<symbol, unknown>)[PICKLE_STATE];
  if (state !== undefined) collectStorages(state, out, seen);
}

const isTensorDict = (v: unknown): v is Map<unknown, unknown> => v instanceof Map && v.size > 0 && [...v.values()].some((x) => x instanceof TorchTensorRef);

function describeKeys(v: unknown): string {
  if (!(v instanceof Map)) return `a ${Array.isArray(v) ? 'list' : v === null ? 'None' : typeof v}`;
  return `keys ${[...v.keys()].slice(0, 12).map((k) => `'${String(k)}'`).join(', ')}${v.size > 12 ? ', ...' : ''}`;
}

/**
 * Reads a PyTorch checkpoint's state dict: parameter name → tensor. Non-tensor entries (such as
 * `_extra_state`) are left out. Feed the result to `loadTorchStateDict` (or
 * `loadPretrained(id, { weights: 'file.pth' })`, which does).
 * @throws E_IO_FORMAT naming the file and what is wrong with it (truncated, not a checkpoint, no
 *   state dict where looked — with the keys that are there).
 */
export function readTorchCheckpoint(file: string, options: TorchCheckpointOptions = {}): Map<string, SafeTensor> {
  const { root, read, close } = openTorchFile(file);
  try {
    let dict: unknown = root;
    if (options.key !== undefined) {
      for (const part of options.key.split('/')) {
        if (!(dict instanceof Map) || !dict.has(part)) throw new TransferKitError('E_IO_FORMAT', `${file}: no entry '${options.key}' (at '${part}': ${describeKeys(dict)}).`);
        dict = dict.get(part);
      }
    } else if (!isTensorDict(root)) {
      dict = root instanceof Map ? ['state_dict', 'model'].map((k) => root.get(k)).find(isTensorDict) : undefined;
    }
    if (!isTensorDict(dict)) {
      throw new TransferKitError('E_IO_FORMAT', `${file}: no state dict found (the checkpoint has ${describeKeys(options.key === undefined ? root : dict)}). Pass { key } naming the entry that holds the weights.`);
    }
    const names = [...dict.keys()].map(String);
    const prefix = options.stripPrefix === false ? '' : options.stripPrefix ?? (names.length > 0 && names.every((n) => n.startsWith('module.')) ? 'module.' : '');
    const out = new Map<string, SafeTensor>();
    for (const [k, v] of dict) {
      if (!(v instanceof TorchTensorRef)) continue;
      const name = String(k);
      out.set(prefix !== '' && name.startsWith(prefix) ? name.slice(prefix.length) : name, read(v, name));
    }
    return out;
  } finally {
    close();
  }
}
