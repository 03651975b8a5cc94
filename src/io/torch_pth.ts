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
 *
 * Python objects the pickle names (`GLOBAL` / `REDUCE`, see `pickle.ts`): the allow-list of
 * {@link torchFindClass} builds tensors, storages and plain containers (`OrderedDict`, `dict`,
 * `tuple`, `list`, `set`, `torch.Size`, `_codecs.encode` bytes). Every other `module.name`
 * (`os.system`, `subprocess.Popen`, numpy scalars, an `argparse.Namespace`) becomes an
 * inert `OpaquePythonObject` holding the name and the arguments as data: nothing is imported,
 * looked up or called, so a malicious checkpoint loads its tensors (or fails) and never executes
 * anything.
 * Such a record is never treated as a tensor; a state dict entry that is one is skipped.
 *
 * Hostile files end in coded errors naming the file and the tensor key, checked *before* anything
 * is allocated: shapes, strides and storage offsets must be non-negative integers; a tensor's
 * element count is capped by the `maxTensorElements` input limit (`E_LIMIT`; a few-hundred-byte
 * file with stride 0 over a one-element storage can otherwise declare 30000 × 30000); every element
 * a tensor reaches (offset + Σ (size_i − 1) · stride_i) must lie inside its storage, and every
 * storage inside its zip member or the file (`E_IO_FORMAT`).
 */
import * as fs from 'node:fs';
import { inflateSync } from 'fflate';
import { isTransferKitError, TransferKitError } from '../errors.js';
import { checkLimit } from '../utils/limits.js';
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
  /**
   * `numel`: elements the persistent id declares (of the view, for a legacy storage view);
   * `elementOffset`: where a legacy view starts in its root storage.
   */
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

/** A short, safe description of an untrusted value for messages (never walks into it). */
function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}...` : v);
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  if (v === null || v === undefined) return 'None';
  if (Array.isArray(v)) return `a ${Object.isFrozen(v) ? 'tuple' : 'list'} of ${v.length}`;
  if (v instanceof Map) return `a dict of ${v.size}`;
  if (v instanceof OpaquePythonObject) return `a ${v.pythonClass} object`;
  return `a ${typeof v === 'function' ? 'callable' : (v as object).constructor?.name ?? 'value'}`;
}

const formatError = (file: string, msg: string): TransferKitError => new TransferKitError('E_IO_FORMAT', `${file}: ${msg}`);

function ints(v: unknown, what: string, file: string): number[] {
  if (!Array.isArray(v) || v.length > 64 || v.some((x) => typeof x !== 'number')) throw formatError(file, `${what} is not a tuple of ints (received ${describe(v)}). The file is corrupt or hostile.`);
  return [...(v as number[])];
}

/** `OrderedDict(items)` / `dict(items)` without trusting `items` to be pairs. */
function dictOf(items: unknown, file: string): Map<unknown, unknown> {
  const out = new Map<unknown, unknown>();
  if (items === undefined || items === null) return out;
  if (items instanceof Map) return new Map(items);
  if (!Array.isArray(items)) throw formatError(file, `an OrderedDict built from ${describe(items)} (expected a list of (key, value) pairs).`);
  for (const kv of items as unknown[]) {
    if (!Array.isArray(kv) || kv.length !== 2) throw formatError(file, `an OrderedDict item that is not a (key, value) pair (received ${describe(kv)}).`);
    out.set(kv[0], kv[1]);
  }
  return out;
}

/**
 * The allow-list of `module.name`s a PyTorch checkpoint's pickle may construct: what
 * `torch.load(weights_only=True)` would, nothing more. Any other name gives an inert
 * {@link OpaquePythonObject} (see the module comment); nothing is ever executed.
 */
export function torchFindClass(file: string): (module: string, name: string) => PickleCallable {
  const rebuild = (storage: unknown, offset: unknown, size: unknown, stride: unknown): TorchTensorRef => {
    if (!(storage instanceof StorageRef)) throw formatError(file, `a tensor's storage is ${describe(storage)}, not a storage record. The file is corrupt or hostile.`);
    return new TorchTensorRef(storage, typeof offset === 'number' ? offset : NaN, ints(size, 'a tensor size', file), ints(stride, 'a tensor stride', file));
  };
  return (module, name) => {
    const full = `${module}.${name}`;
    // Storage classes appear uncalled inside persistent ids: the callable carries its type.
    if (module === 'torch' && Object.prototype.hasOwnProperty.call(STORAGE_TYPES, name)) {
      const type = new StorageType(name, STORAGE_TYPES[name].dtype, STORAGE_TYPES[name].bytes);
      return Object.assign(() => type, { storageType: type });
    }
    switch (full) {
      case 'collections.OrderedDict':
      case 'builtins.dict':
        return (items?: unknown) => dictOf(items, file);
      case 'torch._utils._rebuild_tensor':
      case 'torch._utils._rebuild_tensor_v2':
        return rebuild as PickleCallable;
      case 'torch._utils._rebuild_parameter':
      case 'torch._utils._rebuild_parameter_with_state':
        return (data: unknown) => data;
      case 'torch._tensor._rebuild_from_type_v2':
        // (func, new_type, args, state): a Tensor subclass; the data is func(*args), func being one of these callables.
        return (func: unknown, _type: unknown, args: unknown) => (typeof func === 'function' && Array.isArray(args) && args.length <= 16 ? (func as PickleCallable)(...(args as unknown[])) : null);
      case 'torch.Size':
      case 'builtins.tuple':
      case 'builtins.list':
        return (v?: unknown) => (Array.isArray(v) ? [...(v as unknown[])] : []);
      case 'builtins.set':
        return (v?: unknown) => new Set(Array.isArray(v) ? (v as unknown[]) : []);
      case '_codecs.encode':
        // Protocol 2 writes Python bytes as _codecs.encode(str, 'latin1').
        return (s: unknown) => {
          if (typeof s !== 'string') throw formatError(file, `_codecs.encode of ${describe(s)} (expected a string).`);
          return Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);
        };
      default:
        // Anything else (numpy scalars in metadata, argparse Namespaces, os.system) stays inert:
        // never constructed or called, kept as a record of its name and arguments.
        return (...args: unknown[]) => new OpaquePythonObject(full, args);
    }
  };
}

function storageFrom(pid: unknown, file: string): unknown {
  const t = Array.isArray(pid) ? (pid as unknown[]) : [];
  const kind = t[0] instanceof Uint8Array ? new TextDecoder('latin1').decode(t[0]) : t[0];
  if (kind === 'module') return null; // legacy files may embed module source: not needed
  const type = (t[1] as { storageType?: unknown } | undefined)?.storageType;
  if (kind !== 'storage' || !(type instanceof StorageType)) {
    throw formatError(file, `unexpected persistent id ${describe(kind)} (expected a storage record of a known storage type). The file is corrupt or not a PyTorch checkpoint.`);
  }
  const [, , key, , numel, view] = t;
  if ((typeof key !== 'string' && typeof key !== 'number') || typeof numel !== 'number') {
    throw formatError(file, `a storage record with key ${describe(key)} and size ${describe(numel)} (expected a string and an int). The file is corrupt or hostile.`);
  }
  // Legacy storage views: (view_key, offset, size) into the root storage.
  if (Array.isArray(view) && view.length === 3) {
    const [, at, size] = view as unknown[];
    if (typeof at !== 'number' || typeof size !== 'number') throw formatError(file, `storage '${String(key)}' has a view of ${describe(at)} + ${describe(size)} elements (expected ints).`);
    return new StorageRef(String(key), type, size, at);
  }
  return new StorageRef(String(key), type, numel);
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

const isCount = (x: number): boolean => Number.isSafeInteger(x) && x >= 0;
const dims = (xs: readonly number[]): string => `[${xs.join(', ')}]`;

/**
 * Checks a tensor record against its storage *before* anything is read or allocated: integer,
 * non-negative shape / strides / offset, the element count under `maxTensorElements`, and the last
 * element it reaches inside the storage's declared elements. Returns the element count.
 */
function checkTensor(ref: TorchTensorRef, name: string, file: string): number {
  const { shape, stride, offset, storage } = ref;
  const bad = (msg: string): never => {
    throw formatError(file, `tensor '${name}' ${msg} The file is corrupt or hostile; re-save it with torch.save.`);
  };
  if (!shape.every(isCount)) bad(`has shape ${dims(shape)}; sizes must be non-negative integers. Received: shape=${dims(shape)}.`);
  if (stride.length !== shape.length) bad(`has shape ${dims(shape)} but stride ${dims(stride)}; a stride is needed per dimension.`);
  if (!stride.every(isCount)) bad(`has stride ${dims(stride)}; strides must be non-negative integers (PyTorch has no negative strides). Received: stride=${dims(stride)}.`);
  if (!isCount(offset)) bad(`has storage offset ${offset}; it must be a non-negative integer. Received: offset=${offset}.`);
  const numel = shape.reduce((a, b) => a * b, 1);
  checkLimit('maxTensorElements', numel, `${file}: tensor '${name}' ${dims(shape)} has ${numel} elements`);
  if (!isCount(storage.numel)) bad(`uses storage '${storage.key}', which declares ${storage.numel} elements; a count must be a non-negative integer.`);
  if (numel > 0) {
    let last = offset;
    shape.forEach((d, i) => (last += (d - 1) * stride[i]));
    if (last >= storage.numel) bad(`${dims(shape)} reaches element ${last} of its storage '${storage.key}', which holds ${storage.numel} elements (offset ${offset}, stride ${dims(stride)}).`);
  }
  return numel;
}

/** Gathers a (possibly strided) tensor out of its (checked) storage's elements. */
function materialize(ref: TorchTensorRef, elements: Float32Array | Int32Array, name: string, file: string): SafeTensor {
  const dtype = elements instanceof Float32Array ? 'float32' : 'int32';
  const { shape, stride, storage } = ref;
  const numel = checkTensor(ref, name, file);
  const base = storage.elementOffset + ref.offset;
  if (!isCount(storage.elementOffset) || storage.elementOffset + storage.numel > elements.length) {
    throw formatError(file, `tensor '${name}' uses elements ${storage.elementOffset} to ${storage.elementOffset + storage.numel} of storage '${storage.key}', which holds ${elements.length}: the file is truncated or corrupt.`);
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

/** Reads exactly `length` bytes at `position`, or throws E_IO_FORMAT (the file ends early). */
function readAt(fd: number, length: number, position: number, fileSize: number, file: string, what: string): Buffer {
  if (!isCount(length) || !isCount(position) || position + length > fileSize) throw formatError(file, `${what} lies past the end of the file (${length} bytes at ${position} of ${fileSize}): the file is truncated or corrupt.`);
  const buf = Buffer.alloc(length);
  let got = 0;
  while (got < length) {
    const n = fs.readSync(fd, buf, got, length - got, position + got);
    if (n === 0) throw formatError(file, `${what} ends early (${got} of ${length} bytes): the file is truncated.`);
    got += n;
  }
  return buf;
}

/** The central directory of a zip file (zip64 sizes and offsets included), read by position. */
function zipEntries(fd: number, fileSize: number, file: string): ZipEntry[] {
  const tailLen = Math.min(fileSize, 65_557);
  const tail = readAt(fd, tailLen, fileSize - tailLen, fileSize, file, 'the zip trailer');
  const eocd = tail.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0 || eocd + 22 > tail.length) throw formatError(file, 'a zip file without its central directory: the file is truncated.');
  let count = tail.readUInt16LE(eocd + 10);
  let cdSize = tail.readUInt32LE(eocd + 12);
  let cdOffset = tail.readUInt32LE(eocd + 16);
  const loc64 = eocd - 20;
  if (loc64 >= 0 && tail.readUInt32LE(loc64) === 0x07064b50) {
    const rec = readAt(fd, 56, Number(tail.readBigUInt64LE(loc64 + 8)), fileSize, file, 'the zip64 directory record');
    count = Number(rec.readBigUInt64LE(32));
    cdSize = Number(rec.readBigUInt64LE(40));
    cdOffset = Number(rec.readBigUInt64LE(48));
  }
  const cd = readAt(fd, cdSize, cdOffset, fileSize, file, 'the zip directory');
  const out: ZipEntry[] = [];
  let p = 0;
  for (let i = 0; i < count && p + 46 <= cd.length; i++) {
    const nameLen = cd.readUInt16LE(p + 28);
    const extraLen = cd.readUInt16LE(p + 30);
    const commentLen = cd.readUInt16LE(p + 32);
    const e: ZipEntry = {
      name: cd.toString('utf8', p + 46, Math.min(cd.length, p + 46 + nameLen)), method: cd.readUInt16LE(p + 10),
      compressedSize: cd.readUInt32LE(p + 20), size: cd.readUInt32LE(p + 24), localOffset: cd.readUInt32LE(p + 42),
    };
    // zip64 extra field (0x0001): the 0xffffffff fields in order size, compressed size, offset.
    const extraEnd = Math.min(cd.length, p + 46 + nameLen + extraLen);
    for (let q = p + 46 + nameLen; q + 4 <= extraEnd;) {
      const id = cd.readUInt16LE(q);
      const len = cd.readUInt16LE(q + 2);
      const end = Math.min(extraEnd, q + 4 + len);
      if (id === 1) {
        let r = q + 4;
        const next = (): number => {
          if (r + 8 > end) throw formatError(file, `entry '${e.name}' has a short zip64 field: the file is corrupt.`);
          r += 8;
          return Number(cd.readBigUInt64LE(r - 8));
        };
        if (e.size === 0xffffffff) e.size = next();
        if (e.compressedSize === 0xffffffff) e.compressedSize = next();
        if (e.localOffset === 0xffffffff) e.localOffset = next();
      }
      q += 4 + len;
    }
    out.push(e);
    p += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}

function readZipEntry(fd: number, e: ZipEntry, fileSize: number, file: string): Uint8Array {
  const head = readAt(fd, 30, e.localOffset, fileSize, file, `the header of entry '${e.name}'`);
  const start = e.localOffset + 30 + head.readUInt16LE(26) + head.readUInt16LE(28);
  const data = readAt(fd, e.compressedSize, start, fileSize, file, `entry '${e.name}'`);
  if (e.method === 0) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (e.method === 8) {
    // Inflate into a buffer of the declared size, after checking it against the limits.
    checkLimit('maxArchiveMemberBytes', e.size, `${file}: entry '${e.name}' declares ${e.size} uncompressed bytes`);
    checkLimit('maxCompressionRatio', e.size / Math.max(1, e.compressedSize), `${file}: entry '${e.name}' declares ${e.size} bytes from ${e.compressedSize} (ratio)`);
    try {
      return inflateSync(data, { out: new Uint8Array(e.size) });
    } catch (err) {
      throw formatError(file, `entry '${e.name}' is not valid deflate data (${(err as Error).message}): the file is corrupt.`);
    }
  }
  throw formatError(file, `entry '${e.name}' uses zip compression method ${e.method}; only stored and deflated entries are read.`);
}

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;

/** Elements of `n` that a storage of `type` holds, checked against the limit and the bytes there are. */
function checkStorage(key: string, type: StorageType, n: number, availableBytes: number, tensor: string | undefined, file: string, where: string): void {
  const what = tensor === undefined ? `storage '${key}'` : `storage '${key}' of tensor '${tensor}'`;
  if (!isCount(n)) throw formatError(file, `${what} declares ${n} elements; a count must be a non-negative integer. The file is corrupt or hostile.`);
  if (n * type.bytes > availableBytes) {
    throw formatError(file, `${what} declares ${n} elements (${n * type.bytes} bytes) but ${where} holds ${availableBytes} bytes: the file is truncated or corrupt.`);
  }
  checkLimit('maxTensorElements', n, `${file}: ${what} holds ${n} elements`);
}

/**
 * Reads the object `torch.save` wrote, with tensors left as {@link TorchTensorRef}s, and a
 * function that reads a tensor's values.
 */
function openTorchFile(file: string): { root: unknown; read: (ref: TorchTensorRef, name: string) => SafeTensor; close: () => void } {
  if (!fs.existsSync(file)) throw new TransferKitError('E_IO_NOT_FOUND', `PyTorch checkpoint not found: ${file}.`);
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    if (size < 4) throw formatError(file, `${size} bytes, too short for a torch.save checkpoint: the file is truncated.`);
    const sig = readAt(fd, 4, 0, size, file, 'the signature');
    const opts = { findClass: torchFindClass(file), persistentLoad: (pid: unknown) => storageFrom(pid, file), source: file };
    if (sig.readUInt32LE(0) === 0x04034b50) {
      const entries = zipEntries(fd, size, file);
      const pkl = entries.find((e) => e.name.endsWith('/data.pkl') || e.name === 'data.pkl');
      if (pkl === undefined) throw formatError(file, `a zip file without data.pkl, so not a torch.save checkpoint. Entries: ${entries.slice(0, 5).map((e) => e.name).join(', ')}.`);
      const prefix = pkl.name.slice(0, pkl.name.length - 'data.pkl'.length);
      const order = entries.find((e) => e.name === `${prefix}byteorder`);
      if (order !== undefined && new TextDecoder().decode(readZipEntry(fd, order, size, file)).trim() === 'big') {
        throw new TransferKitError('E_IO_BAD_DTYPE', `${file}: saved on a big-endian machine; re-save it on a little-endian one.`);
      }
      const root = readPickle(readZipEntry(fd, pkl, size, file), 0, opts).value;
      const byName = new Map(entries.map((e) => [e.name, e]));
      const cache = new Map<string, Float32Array | Int32Array>();
      const read = (ref: TorchTensorRef, name: string): SafeTensor => {
        checkTensor(ref, name, file);
        const s = ref.storage;
        let elements = cache.get(s.key);
        if (elements === undefined) {
          const e = byName.get(`${prefix}data/${s.key}`);
          if (e === undefined) throw formatError(file, `storage '${s.key}' of tensor '${name}' is missing from the archive.`);
          checkStorage(s.key, s.type, s.numel, e.size, name, file, 'its archive member');
          elements = decodeElements(readZipEntry(fd, e, size, file).subarray(0, s.numel * s.type.bytes), s.type, name, file);
          cache.set(s.key, elements);
        }
        return materialize(ref, elements, name, file);
      };
      return { root, read, close: () => fs.closeSync(fd) };
    }
    // Legacy layout: read whole (it is sequential), four pickles, the key list, then the storages.
    const bytes = new Uint8Array(fs.readFileSync(file));
    if (bytes[0] !== 0x80) throw formatError(file, `neither a zip archive nor a pickle, so not a torch.save checkpoint (first bytes ${[...bytes.subarray(0, 4)].map((b) => b.toString(16).padStart(2, '0')).join(' ')}).`);
    const plain = { findClass: torchFindClass(file), source: file };
    const magic = readPickle(bytes, 0, plain);
    if (magic.value !== LEGACY_MAGIC) throw formatError(file, 'a pickle, but not one written by torch.save (no PyTorch magic number). Plain pickles are not read: they can run code.');
    const protocol = readPickle(bytes, magic.end, plain);
    const info = readPickle(bytes, protocol.end, plain);
    const littleEndian = info.value instanceof Map ? info.value.get('little_endian') : true;
    if (littleEndian === false) throw new TransferKitError('E_IO_BAD_DTYPE', `${file}: saved on a big-endian machine; re-save it on a little-endian one.`);
    const obj = readPickle(bytes, info.end, opts);
    const keys = readPickle(bytes, obj.end, plain);
    if (!Array.isArray(keys.value)) throw formatError(file, 'the storage key list is missing.');
    // Each storage: int64 element count, then its bytes; element size from the tensors that use it.
    const types = collectStorages(obj.value);
    const raw = new Map<string, { type: StorageType; bytes: Uint8Array }>();
    let p = keys.end;
    for (const k of keys.value as unknown[]) {
      if (typeof k !== 'string' && typeof k !== 'number') throw formatError(file, `a storage key that is ${describe(k)} (expected a string).`);
      const key = String(k);
      if (p + 8 > bytes.length) throw formatError(file, `storage '${key}' is missing: the file is truncated.`);
      const n = Number(new DataView(bytes.buffer, bytes.byteOffset + p, 8).getBigInt64(0, true));
      const type = types.get(key) ?? new StorageType('ByteStorage', 'U8', 1);
      if (!isCount(n)) throw formatError(file, `storage '${key}' declares ${n} elements; a count must be a non-negative integer. The file is corrupt or hostile.`);
      const len = n * type.bytes;
      if (p + 8 + len > bytes.length) throw formatError(file, `storage '${key}' (${n} elements) ends past the end of the file: the file is truncated.`);
      raw.set(key, { type, bytes: bytes.subarray(p + 8, p + 8 + len) });
      p += 8 + len;
    }
    const decoded = new Map<string, Float32Array | Int32Array>();
    const read = (ref: TorchTensorRef, name: string): SafeTensor => {
      checkTensor(ref, name, file);
      let elements = decoded.get(ref.storage.key);
      if (elements === undefined) {
        const r = raw.get(ref.storage.key);
        if (r === undefined) throw formatError(file, `storage '${ref.storage.key}' of tensor '${name}' is missing.`);
        checkStorage(ref.storage.key, r.type, r.bytes.byteLength / r.type.bytes, r.bytes.byteLength, name, file, 'the file');
        elements = decodeElements(r.bytes, r.type, name, file);
        decoded.set(ref.storage.key, elements);
      }
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

/** Storage key → type of every tensor record in `root` (iterative; the pickle reader bounded the depth and refused cycles). */
function collectStorages(root: unknown): Map<string, StorageType> {
  const out = new Map<string, StorageType>();
  const seen = new Set<unknown>();
  const todo: unknown[] = [root];
  while (todo.length > 0) {
    const v = todo.pop();
    if (v === null || typeof v !== 'object' || seen.has(v)) continue;
    seen.add(v);
    if (v instanceof TorchTensorRef) {
      out.set(v.storage.key, v.storage.type);
      continue;
    }
    const children = v instanceof Map ? [...v.values()] : Array.isArray(v) ? v : v instanceof OpaquePythonObject ? v.args : [];
    for (const c of children) todo.push(c);
    const state = (v as Record<symbol, unknown>)[PICKLE_STATE];
    if (state !== undefined) todo.push(state);
  }
  return out;
}

const isTensorDict = (v: unknown): v is Map<unknown, unknown> => v instanceof Map && v.size > 0 && [...v.values()].some((x) => x instanceof TorchTensorRef);

function describeKeys(v: unknown): string {
  if (!(v instanceof Map)) return describe(v);
  const names = [...v.keys()].slice(0, 12).map((k) => (typeof k === 'string' ? `'${k}'` : describe(k)));
  return `keys ${names.join(', ')}${v.size > 12 ? ', ...' : ''}`;
}

/**
 * Reads a PyTorch checkpoint's state dict: parameter name → tensor. Non-tensor entries (such as
 * `_extra_state`) are left out. Feed the result to `loadTorchStateDict` (or
 * `loadPretrained(id, { weights: 'file.pth' })`, which does).
 * @throws E_IO_FORMAT naming the file and what is wrong with it (truncated, not a checkpoint, no
 *   state dict where looked — with the keys that are there; a tensor outside its storage);
 *   E_LIMIT when a tensor has more elements than the `maxTensorElements` input limit.
 */
export function readTorchCheckpoint(file: string, options: TorchCheckpointOptions = {}): Map<string, SafeTensor> {
  try {
    return readCheckpoint(file, options);
  } catch (err) {
    if (isTransferKitError(err)) throw err;
    // The net under the checks: a malformed file is a format error of that file, never a raw one.
    throw formatError(file, `cannot be read as a PyTorch checkpoint: ${err instanceof Error ? err.message : String(err)}. The file is corrupt or not a torch.save checkpoint.`);
  }
}

function readCheckpoint(file: string, options: TorchCheckpointOptions): Map<string, SafeTensor> {
  const { root, read, close } = openTorchFile(file);
  try {
    let dict: unknown = root;
    if (options.key !== undefined) {
      for (const part of options.key.split('/')) {
        if (!(dict instanceof Map) || !dict.has(part)) throw formatError(file, `no entry '${options.key}' (at '${part}': ${describeKeys(dict)}).`);
        dict = dict.get(part);
      }
    } else if (!isTensorDict(root)) {
      dict = root instanceof Map ? ['state_dict', 'model'].map((k) => root.get(k)).find(isTensorDict) : undefined;
    }
    if (!isTensorDict(dict)) {
      throw formatError(file, `no state dict found (the checkpoint has ${describeKeys(options.key === undefined ? root : dict)}). Pass { key } naming the entry that holds the weights.`);
    }
    const entries: Array<[string, TorchTensorRef]> = [];
    for (const [k, v] of dict) {
      if (!(v instanceof TorchTensorRef)) continue;
      if (typeof k !== 'string') throw formatError(file, `a state dict key that is ${describe(k)}; state dict keys are strings. The file is corrupt or hostile.`);
      entries.push([k, v]);
    }
    const names = entries.map(([k]) => k);
    const prefix = options.stripPrefix === false ? '' : options.stripPrefix ?? (names.length > 0 && names.every((n) => n.startsWith('module.')) ? 'module.' : '');
    const out = new Map<string, SafeTensor>();
    for (const [name, v] of entries) out.set(prefix !== '' && name.startsWith(prefix) ? name.slice(prefix.length) : name, read(v, name));
    return out;
  } finally {
    close();
  }
}
