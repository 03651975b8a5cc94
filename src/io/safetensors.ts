/**
 * safetensors, read and written without dependencies (format: 8-byte little-endian header
 * length, a JSON header `{ name: { dtype, shape, data_offsets: [begin, end] }, __metadata__ }`,
 * then the raw little-endian tensor bytes; https://github.com/huggingface/safetensors).
 *
 * Reading is by position: the header first, then each tensor's bytes on demand, so a multi-GB
 * checkpoint is never held whole. F32, F16, BF16 decode to float32; I64/I32 to int32 (I64 values
 * beyond 2^31 are rejected by name). Sharded checkpoints are read through
 * `model.safetensors.index.json` (`weight_map`), whose shard names must stay inside the index's
 * folder (`E_IO_PATH_ESCAPE` otherwise).
 *
 * The header is untrusted: it must be a JSON object of `{ dtype, shape, data_offsets }` entries
 * with a safetensors dtype, non-negative integer sizes and offsets, `begin <= end` inside the data
 * section, `end - begin` equal to the shape's elements × the dtype's size, and byte spans that do
 * not overlap (the spec's own rule: contiguous, non-overlapping). Anything else is `E_IO_FORMAT`
 * naming the file and the tensor; a tensor over the `maxTensorElements` input limit is `E_LIMIT`,
 * checked before its bytes are read.
 *
 * Writing goes to a temporary file beside the target, loops until every byte is written (a
 * `write` may write fewer bytes than asked, as on a full disk), fsyncs, closes, and only then
 * renames over the target; on any error the temporary file is removed, the previous file is left
 * untouched and the error is `E_IO_WRITE` naming the file.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TransferKitError } from '../errors.js';
import { writeFullySync } from './_write_fully.js';
import { checkJsonDepth, shortJson } from '../utils/json.js';
import { checkLimit } from '../utils/limits.js';
import { bfloat16ToFloat32, float16ToFloat32 } from './_float16.js';
import { resolveInside } from './_paths.js';

/** One tensor of a safetensors file, decoded. */
export interface SafeTensor {
  dtype: 'float32' | 'int32';
  shape: number[];
  data: Float32Array | Int32Array;
}

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

/** Bits per element of every safetensors dtype (the spec's list, sub-byte floats included). */
const DTYPE_BITS: Readonly<Record<string, number>> = {
  BOOL: 8, U8: 8, I8: 8, F8_E5M2: 8, F8_E4M3: 8, F8_E8M0: 8, I16: 16, U16: 16, F16: 16, BF16: 16,
  I32: 32, U32: 32, F32: 32, F64: 64, I64: 64, U64: 64, C64: 64, F4: 4, F6_E2M3: 6, F6_E3M2: 6,
};

/** The largest header the reference implementation accepts (100 MB). */
const MAX_HEADER_BYTES = 100_000_000;

const isCount = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
const show = (v: unknown): string => shortJson(v);

function decode(name: string, file: string, e: HeaderEntry, bytes: Uint8Array): SafeTensor {
  const n = e.shape.reduce((a, c) => a * c, 1);
  // Copy into an aligned buffer: a slice at an odd offset cannot back a typed array view.
  const buf = new ArrayBuffer(bytes.byteLength);
  new Uint8Array(buf).set(bytes);
  const view = new DataView(buf);
  if (e.dtype === 'F32') return { dtype: 'float32', shape: e.shape, data: new Float32Array(buf) };
  if (e.dtype === 'F64') return { dtype: 'float32', shape: e.shape, data: Float32Array.from(new Float64Array(buf)) };
  if (e.dtype === 'F16') return { dtype: 'float32', shape: e.shape, data: float16ToFloat32(view, n) };
  if (e.dtype === 'BF16') return { dtype: 'float32', shape: e.shape, data: bfloat16ToFloat32(view, n) };
  if (e.dtype === 'I32') return { dtype: 'int32', shape: e.shape, data: new Int32Array(buf) };
  if (e.dtype === 'I64') {
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const v = view.getBigInt64(8 * i, true);
      if (v > 2147483647n || v < -2147483648n) throw new TransferKitError('E_IO_BAD_DTYPE', `${file}: tensor '${name}' (I64) holds ${v}, beyond int32. transferkit reads I64 tensors as int32 (counters, indices).`);
      out[i] = Number(v);
    }
    return { dtype: 'int32', shape: e.shape, data: out };
  }
  throw new TransferKitError('E_IO_BAD_DTYPE', `${file}: tensor '${name}' has dtype ${e.dtype}; supported: F32, F16, BF16, F64, I64, I32.`);
}

/** Reads exactly `length` bytes at `position` (a short read means the file shrank or is truncated). */
function readExactly(fd: number, length: number, position: number, file: string, what: string): Buffer {
  const buf = Buffer.alloc(length);
  let got = 0;
  while (got < length) {
    const n = fs.readSync(fd, buf, got, length - got, position + got);
    if (n === 0) throw new TransferKitError('E_IO_FORMAT', `${file}: ${what} ends after ${got} of ${length} bytes: the file is truncated (or changed while being read).`);
    got += n;
  }
  return buf;
}

/** Checks one header entry; returns it typed. */
function checkEntry(name: string, e: unknown, dataBytes: number, fileSize: number, dataStart: number, file: string): HeaderEntry {
  const bad = (msg: string): never => {
    throw new TransferKitError('E_IO_FORMAT', `${file}: tensor '${name}' ${msg} The file is corrupt or not a safetensors file; re-save it with safetensors.`);
  };
  if (e === null || typeof e !== 'object' || Array.isArray(e)) return bad(`has the header entry ${show(e)}; each tensor needs { "dtype", "shape", "data_offsets" }.`);
  const { dtype, shape, data_offsets: offsets } = e as Record<string, unknown>;
  if (typeof dtype !== 'string' || !Object.prototype.hasOwnProperty.call(DTYPE_BITS, dtype)) {
    bad(`has dtype ${show(dtype)}, which is not a safetensors dtype (${Object.keys(DTYPE_BITS).join(', ')}). Received: dtype=${show(dtype)}.`);
  }
  if (!Array.isArray(shape) || shape.length > 64 || !shape.every(isCount)) bad(`has shape ${show(shape)}; a shape is a list of non-negative integers. Received: shape=${show(shape)}.`);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount) || (offsets[0] as number) > (offsets[1] as number)) {
    bad(`has data_offsets ${show(offsets)}; they must be two non-negative integers [begin, end] with begin <= end. Received: data_offsets=${show(offsets)}.`);
  }
  const [begin, end] = offsets as [number, number];
  const numel = (shape as number[]).reduce((a, c) => a * c, 1);
  const want = (numel * DTYPE_BITS[dtype as string]) / 8;
  if (end - begin !== want) bad(`spans ${end - begin} bytes (data_offsets [${begin}, ${end}]); shape [${(shape as number[]).join(', ')}] of ${dtype as string} needs ${want}.`);
  if (end > dataBytes) {
    throw new TransferKitError('E_IO_FORMAT', `${file}: tensor '${name}' ends at byte ${dataStart + end}, past the end of the file (${fileSize} bytes): the file is truncated. Download or copy it again.`);
  }
  return { dtype: dtype as string, shape: [...(shape as number[])], data_offsets: [begin, end] };
}

/** An open safetensors file: its tensor names, metadata, and tensors read on demand. */
export class SafetensorsFile {
  readonly names: string[];
  readonly metadata: Record<string, string>;
  private readonly header: Map<string, HeaderEntry>;
  private readonly dataStart: number;

  private constructor(readonly file: string, private readonly fd: number) {
    const fail = (msg: string, cause?: unknown): never => {
      throw new TransferKitError('E_IO_FORMAT', `${file}: ${msg}`, cause === undefined ? undefined : { cause });
    };
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) fail('is not a file (a folder or a device). Pass the path of a .safetensors file.');
    const size = stat.size;
    if (size < 8) fail(`too short to be a safetensors file (${size} bytes; the format starts with an 8-byte header length). The file is truncated or not safetensors.`);
    const big = readExactly(fd, 8, 0, file, 'the header length').readBigUInt64LE(0);
    if (big > BigInt(Math.min(size - 8, MAX_HEADER_BYTES))) {
      fail(`header length ${big} does not fit the file (${size} bytes; headers are at most ${MAX_HEADER_BYTES} bytes); not a safetensors file, or truncated.`);
    }
    const len = Number(big);
    let parsed: unknown;
    try {
      parsed = JSON.parse(readExactly(fd, len, 8, file, 'the header').toString('utf8'));
    } catch (err) {
      if (err instanceof TransferKitError) throw err;
      fail(`the safetensors header is not valid JSON (${(err as Error).message}). The file is corrupt or not safetensors.`, err);
    }
    checkJsonDepth(parsed, `${file}: the safetensors header`);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) fail(`the safetensors header is ${show(parsed)}, not a JSON object of tensors. The file is corrupt or not safetensors.`);
    const { __metadata__: meta, ...tensors } = parsed as Record<string, unknown>;
    if (meta !== undefined && (meta === null || typeof meta !== 'object' || Array.isArray(meta) || !Object.values(meta).every((v) => typeof v === 'string'))) {
      fail(`"__metadata__" is ${show(meta)}; it must be an object of strings. The file is corrupt or not safetensors.`);
    }
    this.metadata = { ...((meta ?? {}) as Record<string, string>) };
    this.dataStart = 8 + len;
    this.header = new Map();
    for (const [name, e] of Object.entries(tensors)) this.header.set(name, checkEntry(name, e, size - this.dataStart, size, this.dataStart, file));
    this.names = [...this.header.keys()];
    // Byte spans must not overlap (empty tensors read nothing and may sit anywhere).
    const spans = [...this.header].filter(([, e]) => e.data_offsets[1] > e.data_offsets[0]).sort((a, b) => a[1].data_offsets[0] - b[1].data_offsets[0]);
    for (let i = 1; i < spans.length; i++) {
      const [pName, p] = spans[i - 1];
      const [name, e] = spans[i];
      if (e.data_offsets[0] < p.data_offsets[1]) {
        fail(`tensors '${pName}' (bytes ${p.data_offsets[0]}–${p.data_offsets[1]}) and '${name}' (bytes ${e.data_offsets[0]}–${e.data_offsets[1]}) overlap. Tensor data must not overlap (safetensors: contiguous, non-overlapping spans). The file is corrupt or hostile.`);
      }
    }
  }

  /** Opens `file` and reads its header (not its tensors). */
  static open(file: string): SafetensorsFile {
    let fd: number;
    try {
      fd = fs.openSync(file, 'r');
    } catch (err) {
      throw new TransferKitError('E_IO_NOT_FOUND', `Cannot open ${file}: ${(err as Error).message}.`, { cause: err });
    }
    try {
      return new SafetensorsFile(file, fd);
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
  }

  /** Reads and decodes one tensor. */
  get(name: string): SafeTensor {
    const e = this.header.get(name);
    if (e === undefined) throw new TransferKitError('E_IO_BAD_MANIFEST', `${this.file}: no tensor named '${name}'.`);
    const numel = e.shape.reduce((a, c) => a * c, 1);
    checkLimit('maxTensorElements', numel, `${this.file}: tensor '${name}' [${e.shape.join(', ')}] has ${numel} elements`);
    const [b, end] = e.data_offsets;
    return decode(name, this.file, e, readExactly(this.fd, end - b, this.dataStart + b, this.file, `tensor '${name}'`));
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

/** One shard of a sharded checkpoint: its name in the index, its path, and the tensors it holds. */
export interface ShardEntry {
  shard: string;
  path: string;
  names: string[];
}

/**
 * Reads a shard index (`model.safetensors.index.json`, `pytorch_model.bin.index.json`): its
 * `weight_map` must be an object of tensor name → shard file, and every shard must resolve inside
 * the index's folder (`E_IO_PATH_ESCAPE` otherwise, before anything is opened).
 */
export function readShardIndex(indexFile: string): ShardEntry[] {
  let text: string;
  try {
    text = fs.readFileSync(indexFile, 'utf8');
  } catch (err) {
    throw new TransferKitError('E_IO_NOT_FOUND', `Cannot read the shard index ${indexFile}: ${(err as Error).message}.`, { cause: err });
  }
  let index: unknown;
  try {
    index = JSON.parse(text);
  } catch (err) {
    throw new TransferKitError('E_IO_FORMAT', `${indexFile}: not valid JSON (${(err as Error).message}). A shard index is { "weight_map": { tensor: shard file } }; download it again.`, { cause: err });
  }
  checkJsonDepth(index, indexFile);
  const map = index !== null && typeof index === 'object' && !Array.isArray(index) ? (index as Record<string, unknown>).weight_map : undefined;
  if (map === null || typeof map !== 'object' || Array.isArray(map)) {
    throw new TransferKitError('E_IO_FORMAT', `${indexFile}: no "weight_map" object in the index. A shard index maps tensor names to shard files. Received: weight_map=${show(map)}.`);
  }
  const dir = path.dirname(indexFile);
  const shards = new Map<string, ShardEntry>();
  for (const [name, shard] of Object.entries(map)) {
    if (typeof shard !== 'string') {
      throw new TransferKitError('E_IO_FORMAT', `${indexFile}: tensor '${name}' maps to ${show(shard)}; each weight_map entry must be a shard file name. Received: weight_map["${name}"]=${show(shard)}.`);
    }
    let entry = shards.get(shard);
    if (entry === undefined) {
      entry = { shard, path: resolveInside(dir, shard, indexFile), names: [] };
      shards.set(shard, entry);
    }
    entry.names.push(name);
  }
  return [...shards.values()];
}

/**
 * Reads every tensor of a safetensors file, or of a sharded checkpoint given its
 * `*.safetensors.index.json`.
 */
export function readSafetensors(file: string): Map<string, SafeTensor> {
  const out = new Map<string, SafeTensor>();
  if (file.endsWith('.index.json')) {
    for (const { shard, path: shardPath, names } of readShardIndex(file)) {
      const f = SafetensorsFile.open(shardPath);
      try {
        const have = new Set(f.names);
        for (const n of names) {
          if (!have.has(n)) throw new TransferKitError('E_IO_FORMAT', `${file} maps tensor '${n}' to ${shard}, which has no such tensor. The index and its shards do not belong together; download them again.`);
          out.set(n, f.get(n));
        }
      } finally {
        f.close();
      }
    }
    return out;
  }
  const f = SafetensorsFile.open(file);
  try {
    for (const n of f.names) out.set(n, f.get(n));
  } finally {
    f.close();
  }
  return out;
}


/** Writes float32/int32 tensors as a safetensors file (F32 / I32), atomically (see the module comment). */
export function writeSafetensors(file: string, tensors: Map<string, SafeTensor> | Record<string, SafeTensor>, metadata: Record<string, string> = {}): void {
  const entries = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  const header: Record<string, unknown> = Object.keys(metadata).length ? { __metadata__: metadata } : {};
  let offset = 0;
  for (const [name, t] of entries) {
    const numel = t.shape.reduce((a, c) => a * c, 1);
    if ((t.dtype !== 'float32' && t.dtype !== 'int32') || t.data.length !== numel || !t.shape.every(isCount)) {
      throw new TransferKitError('E_BAD_OPTION', `writeSafetensors: tensor '${name}' is ${t.dtype} [${t.shape.join(', ')}] (${numel} elements) with ${t.data.length} values. Pass float32 or int32 data with as many values as the shape has elements.`);
    }
    const bytes = t.data.byteLength;
    header[name] = { dtype: t.dtype === 'float32' ? 'F32' : 'I32', shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8); // keep the data 8-byte aligned, as the reference writer does
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  const tmp = `${file}.tmp-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
  let fd: number | undefined;
  try {
    fd = fs.openSync(tmp, 'wx');
    writeFullySync(fd, head);
    writeFullySync(fd, Buffer.from(json, 'utf8'));
    for (const [, t] of entries) writeFullySync(fd, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    fs.fsyncSync(fd);
    const closing = fd;
    fd = undefined;
    fs.closeSync(closing);
    fs.renameSync(tmp, file);
  } catch (err) {
    if (fd !== undefined) {
      try {
        fs.closeSync(fd);
      } catch {
        /* already closed */
      }
    }
    try {
      fs.rmSync(tmp, { force: true });
    } catch {
      /* best effort: the temporary file is ours and never replaced anything */
    }
    const code = (err as NodeJS.ErrnoException).code;
    throw new TransferKitError(
      'E_IO_WRITE',
      `Could not write ${file}: ${(err as Error).message}. Nothing was replaced: the previous file, if any, is unchanged. ${code === 'ENOSPC' ? 'Free disk space and save again.' : `Check that ${path.dirname(file)} exists and is writable, and save again.`}`,
      { cause: err },
    );
  }
  try {
    // Make the rename itself durable (best effort: not every platform can fsync a folder).
    const dirFd = fs.openSync(path.dirname(file), 'r');
    try {
      fs.fsyncSync(dirFd);
    } finally {
      fs.closeSync(dirFd);
    }
  } catch {
    /* the file is complete and in place either way */
  }
}
