/**
 * safetensors, read and written without dependencies (format: 8-byte little-endian header
 * length, a JSON header `{ name: { dtype, shape, data_offsets: [begin, end] }, __metadata__ }`,
 * then the raw little-endian tensor bytes; https://github.com/huggingface/safetensors).
 *
 * Reading is by position: the header first, then each tensor's bytes on demand, so a multi-GB
 * checkpoint is never held whole. F32, F16, BF16 decode to float32; I64/I32 to int32 (I64 values
 * beyond 2^31 are rejected by name). Sharded checkpoints are read through
 * `model.safetensors.index.json` (`weight_map`). Writing is atomic (temp file + rename).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TransferKitError } from '../errors.js';
import { bfloat16ToFloat32, float16ToFloat32 } from './_float16.js';

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

const BYTES: Record<string, number> = { F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, F64: 8 };


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

/** An open safetensors file: its tensor names, metadata, and tensors read on demand. */
export class SafetensorsFile {
  readonly names: string[];
  readonly metadata: Record<string, string>;
  private readonly header: Record<string, HeaderEntry>;
  private readonly dataStart: number;

  private constructor(readonly file: string, private readonly fd: number) {
    const size = fs.fstatSync(fd).size;
    const lenBuf = Buffer.alloc(8);
    if (size < 8 || fs.readSync(fd, lenBuf, 0, 8, 0) !== 8) throw new TransferKitError('E_IO_BAD_MANIFEST', `${file}: too short to be a safetensors file (${size} bytes).`);
    const len = Number(lenBuf.readBigUInt64LE(0));
    if (len > size - 8 || len > 100 * 2 ** 20) throw new TransferKitError('E_IO_BAD_MANIFEST', `${file}: header length ${len} does not fit the file (${size} bytes); not a safetensors file, or truncated.`);
    const json = Buffer.alloc(len);
    fs.readSync(fd, json, 0, len, 8);
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(json.toString('utf8')) as Record<string, unknown>;
    } catch (err) {
      throw new TransferKitError('E_IO_BAD_MANIFEST', `${file}: the safetensors header is not valid JSON (${(err as Error).message}).`, { cause: err });
    }
    this.metadata = (parsed.__metadata__ ?? {}) as Record<string, string>;
    delete parsed.__metadata__;
    this.header = parsed as Record<string, HeaderEntry>;
    this.names = Object.keys(this.header);
    this.dataStart = 8 + len;
    for (const [name, e] of Object.entries(this.header)) {
      const [b, end] = e.data_offsets;
      const want = e.shape.reduce((a, c) => a * c, 1) * (BYTES[e.dtype] ?? 0);
      if (BYTES[e.dtype] !== undefined && end - b !== want) throw new TransferKitError('E_IO_BAD_MANIFEST', `${file}: tensor '${name}' spans ${end - b} bytes; shape [${e.shape.join(', ')}] of ${e.dtype} needs ${want}.`);
      if (this.dataStart + end > size) throw new TransferKitError('E_IO_SHARD_SIZE', `${file}: tensor '${name}' ends at byte ${this.dataStart + end}, past the end of the file (${size} bytes): the file is truncated.`);
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
    const e = this.header[name];
    if (e === undefined) throw new TransferKitError('E_IO_BAD_MANIFEST', `${this.file}: no tensor named '${name}'.`);
    const [b, end] = e.data_offsets;
    const bytes = Buffer.alloc(end - b);
    fs.readSync(this.fd, bytes, 0, end - b, this.dataStart + b);
    return decode(name, this.file, e, bytes);
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

/**
 * Reads every tensor of a safetensors file, or of a sharded checkpoint given its
 * `*.safetensors.index.json`.
 */
export function readSafetensors(file: string): Map<string, SafeTensor> {
  const out = new Map<string, SafeTensor>();
  if (file.endsWith('.index.json')) {
    const index = JSON.parse(fs.readFileSync(file, 'utf8')) as { weight_map?: Record<string, string> };
    if (index.weight_map === undefined) throw new TransferKitError('E_IO_BAD_MANIFEST', `${file}: no "weight_map" in the index.`);
    const shards = new Map<string, string[]>();
    for (const [name, shard] of Object.entries(index.weight_map)) shards.set(shard, [...(shards.get(shard) ?? []), name]);
    for (const [shard, names] of shards) {
      const f = SafetensorsFile.open(path.join(path.dirname(file), shard));
      try {
        for (const n of names) out.set(n, f.get(n));
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

/** Writes float32/int32 tensors as a safetensors file (F32 / I32), atomically. */
export function writeSafetensors(file: string, tensors: Map<string, SafeTensor> | Record<string, SafeTensor>, metadata: Record<string, string> = {}): void {
  const entries = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  const header: Record<string, unknown> = Object.keys(metadata).length ? { __metadata__: metadata } : {};
  let offset = 0;
  for (const [name, t] of entries) {
    const bytes = t.data.byteLength;
    header[name] = { dtype: t.dtype === 'float32' ? 'F32' : 'I32', shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + json.length) % 8)) % 8); // keep the data 8-byte aligned, as the reference writer does
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  const tmp = `${file}.tmp-${process.pid}-${Date.now()}`;
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, head);
    fs.writeSync(fd, Buffer.from(json, 'utf8'));
    for (const [, t] of entries) fs.writeSync(fd, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    fs.closeSync(fd);
    fs.renameSync(tmp, file);
  } catch (err) {
    try {
      fs.closeSync(fd);
    } catch {
      /* already closed */
    }
    fs.rmSync(tmp, { force: true });
    throw new TransferKitError('E_IO_WRITE', `Could not write ${file}: ${(err as Error).message}. Nothing was replaced.`, { cause: err });
  }
}
