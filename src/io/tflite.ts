/**
 * TensorFlow Lite flatbuffers, read without dependencies: the graph (tensors, operators, inputs,
 * outputs) and every constant tensor dequantized to float32.
 *
 * Format: a flatbuffer with file identifier `TFL3` whose root table is `Model` (schema
 * `tensorflow/lite/schema/schema.fbs`): `operator_codes`, `subgraphs` (the first one is the
 * model), `buffers`. A tensor names a buffer; constant tensors (weights, biases) have bytes there,
 * either inline (`Buffer.data`) or, for files over 2 GB, at `Buffer.offset`/`size` from the start
 * of the file. Quantized tensors carry `scale` / `zero_point` arrays — one entry (per tensor) or
 * one per slice along `quantized_dimension` (per channel) — and dequantize as
 * `real = scale * (q - zero_point)`, the TFLite quantization spec
 * (https://www.tensorflow.org/lite/performance/quantization_spec).
 *
 * The file is untrusted: every offset is bounds-checked, vectors must fit the file, tensor shapes
 * must be non-negative and their bytes must match the element type, quantization arrays must fit
 * the quantized dimension; anything else is `E_IO_FORMAT` naming the file and the table at fault.
 * Tensors over the `maxTensorElements` input limit are `E_LIMIT`. Browser-safe (bytes in, no I/O).
 */
import { TransferKitError } from '../errors.js';
import { checkLimit } from '../utils/limits.js';
import { halfToFloat } from './_float16.js';

/** TFLite `TensorType` values transferkit decodes (the schema's numbering). */
const TENSOR_TYPES: Readonly<Record<number, { name: TfliteDtype; bytes: number }>> = {
  0: { name: 'float32', bytes: 4 },
  1: { name: 'float16', bytes: 2 },
  2: { name: 'int32', bytes: 4 },
  3: { name: 'uint8', bytes: 1 },
  4: { name: 'int64', bytes: 8 },
  6: { name: 'bool', bytes: 1 },
  7: { name: 'int16', bytes: 2 },
  9: { name: 'int8', bytes: 1 },
  10: { name: 'float64', bytes: 8 },
};

/** Element types of a TFLite tensor that transferkit reads. */
export type TfliteDtype = 'float32' | 'float16' | 'int32' | 'uint8' | 'int64' | 'bool' | 'int16' | 'int8' | 'float64';

/**
 * `BuiltinOperator` names by code (the schema's enum, the ops image and text models are made of).
 * Codes not listed here read as `BUILTIN_<code>`; the weight mapper decides which it accepts.
 */
const BUILTIN_OPS: Readonly<Record<number, string>> = {
  0: 'ADD', 1: 'AVERAGE_POOL_2D', 2: 'CONCATENATION', 3: 'CONV_2D', 4: 'DEPTHWISE_CONV_2D', 5: 'DEPTH_TO_SPACE',
  6: 'DEQUANTIZE', 7: 'EMBEDDING_LOOKUP', 8: 'FLOOR', 9: 'FULLY_CONNECTED', 10: 'HASHTABLE_LOOKUP',
  11: 'L2_NORMALIZATION', 12: 'L2_POOL_2D', 13: 'LOCAL_RESPONSE_NORMALIZATION', 14: 'LOGISTIC', 15: 'LSH_PROJECTION',
  16: 'LSTM', 17: 'MAX_POOL_2D', 18: 'MUL', 19: 'RELU', 20: 'RELU_N1_TO_1', 21: 'RELU6', 22: 'RESHAPE',
  23: 'RESIZE_BILINEAR', 24: 'RNN', 25: 'SOFTMAX', 26: 'SPACE_TO_DEPTH', 27: 'SVDF', 28: 'TANH',
  32: 'CUSTOM', 34: 'PAD', 36: 'GATHER', 39: 'TRANSPOSE', 40: 'MEAN', 41: 'SUB', 42: 'DIV', 43: 'SQUEEZE',
  45: 'STRIDED_SLICE', 47: 'EXP', 49: 'SPLIT', 53: 'CAST', 54: 'PRELU', 55: 'MAXIMUM', 57: 'MINIMUM',
  60: 'PADV2', 67: 'TRANSPOSE_CONV', 74: 'SUM', 75: 'SQRT', 76: 'RSQRT', 77: 'SHAPE', 78: 'POW',
  82: 'REDUCE_MAX', 83: 'PACK', 88: 'UNPACK', 92: 'SQUARE', 97: 'RESIZE_NEAREST_NEIGHBOR', 98: 'LEAKY_RELU',
  99: 'SQUARED_DIFFERENCE', 102: 'SPLIT_V', 114: 'QUANTIZE', 117: 'HARD_SWISH', 126: 'BATCH_MATMUL', 150: 'GELU',
};

/** Quantization of one tensor: `real = scale[i] * (q - zeroPoint[i])`, `i` the index along `axis`. */
export interface TfliteQuantization {
  scale: Float32Array;
  zeroPoint: number[];
  /** The quantized dimension (per-channel when `scale.length > 1`). */
  axis: number;
}

/** One tensor of a TFLite graph. */
export interface TfliteTensor {
  index: number;
  name: string;
  shape: number[];
  dtype: TfliteDtype;
  quantization: TfliteQuantization | null;
  /** The constant's raw little-endian bytes; null for activations. */
  bytes: Uint8Array | null;
}

/** One operator of a TFLite graph: its builtin name (or custom code) and its tensor indices (-1 = absent). */
export interface TfliteOperator {
  op: string;
  inputs: number[];
  outputs: number[];
}

/** The first subgraph of a TFLite file. */
export interface TfliteGraph {
  source: string;
  version: number;
  tensors: TfliteTensor[];
  operators: TfliteOperator[];
  inputs: number[];
  outputs: number[];
}

/** Bounds-checked flatbuffer reads over one file; every failure names the file and the table. */
class Reader {
  readonly view: DataView;
  /**
   * Bytes of decoded strings and arrays still allowed. Flatbuffer vectors may point many entries
   * at one table, so a small file could otherwise decode to gigabytes; a genuine file decodes
   * each table once, to less than its own size.
   */
  private budget: number;
  constructor(readonly bytes: Uint8Array, readonly source: string) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.budget = 2 * bytes.length + 65_536;
  }

  /** Charges `n` decoded bytes to the budget. */
  spend(n: number, what: string): void {
    this.budget -= n;
    if (this.budget < 0) this.fail(`${what} decodes to more data than the file holds (tables shared between entries)`);
  }

  fail(what: string): never {
    throw new TransferKitError('E_IO_FORMAT', `${this.source}: not a valid TFLite flatbuffer (${what}). Re-export the model with the TFLite converter, or check that the download completed.`);
  }

  need(at: number, size: number, what: string): void {
    if (!Number.isSafeInteger(at) || at < 0 || at + size > this.bytes.length) this.fail(`${what} at byte ${at} lies outside the ${this.bytes.length}-byte file`);
  }

  u8(at: number, what: string): number { this.need(at, 1, what); return this.view.getUint8(at); }
  i8(at: number, what: string): number { this.need(at, 1, what); return this.view.getInt8(at); }
  u16(at: number, what: string): number { this.need(at, 2, what); return this.view.getUint16(at, true); }
  i32(at: number, what: string): number { this.need(at, 4, what); return this.view.getInt32(at, true); }
  u32(at: number, what: string): number { this.need(at, 4, what); return this.view.getUint32(at, true); }
  i64(at: number, what: string): number {
    this.need(at, 8, what);
    const v = this.view.getBigInt64(at, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) this.fail(`${what}: ${v} is not a safe integer`);
    return Number(v);
  }

  /** The table at `at` (a uoffset already followed): its field offsets by vtable slot. */
  table(at: number, what: string): Table {
    const vtable = at - this.i32(at, `${what} vtable offset`);
    const vsize = this.u16(vtable, `${what} vtable`);
    if (vsize < 4 || vsize % 2 !== 0) this.fail(`${what} has a vtable of ${vsize} bytes`);
    this.need(vtable, vsize, `${what} vtable`);
    return new Table(this, at, vtable, vsize, what);
  }

  /** Follows the uoffset stored at `at`. */
  deref(at: number, what: string): number {
    return at + this.u32(at, what);
  }
}

class Table {
  constructor(readonly r: Reader, readonly at: number, readonly vtable: number, readonly vsize: number, readonly what: string) {}

  /** Absolute position of field `slot` (0-based), or null when the field is absent (default). */
  field(slot: number): number | null {
    const o = 4 + 2 * slot;
    if (o >= this.vsize) return null;
    const rel = this.r.u16(this.vtable + o, `${this.what} field ${slot}`);
    return rel === 0 ? null : this.at + rel;
  }

  int(slot: number, fallback: number, size: 1 | 4 | 8 = 4, signed = true): number {
    const p = this.field(slot);
    if (p === null) return fallback;
    const name = `${this.what} field ${slot}`;
    if (size === 1) return signed ? this.r.i8(p, name) : this.r.u8(p, name);
    if (size === 8) return this.r.i64(p, name);
    return signed ? this.r.i32(p, name) : this.r.u32(p, name);
  }

  /** Start and length of a vector field (elements of `elem` bytes), or null when absent. */
  vector(slot: number, elem: number): { start: number; length: number } | null {
    const p = this.field(slot);
    if (p === null) return null;
    const v = this.r.deref(p, `${this.what} field ${slot}`);
    const length = this.r.u32(v, `${this.what} field ${slot} length`);
    this.r.need(v + 4, length * elem, `${this.what} field ${slot} (${length} elements)`);
    return { start: v + 4, length };
  }

  ints(slot: number): number[] {
    const v = this.vector(slot, 4);
    if (v !== null) this.r.spend(8 * v.length, `${this.what} field ${slot}`);
    return v === null ? [] : Array.from({ length: v.length }, (_, i) => this.r.i32(v.start + 4 * i, this.what));
  }

  tables(slot: number, what: string): Table[] {
    const v = this.vector(slot, 4);
    if (v === null) return [];
    this.r.spend(32 * v.length, `${this.what} field ${slot}`);
    return Array.from({ length: v.length }, (_, i) => this.r.table(this.r.deref(v.start + 4 * i, `${what} ${i}`), `${what} ${i}`));
  }

  table(slot: number, what: string): Table | null {
    const p = this.field(slot);
    return p === null ? null : this.r.table(this.r.deref(p, what), what);
  }

  string(slot: number): string {
    const v = this.vector(slot, 1);
    if (v !== null) this.r.spend(2 * v.length, `${this.what} field ${slot}`);
    return v === null ? '' : new TextDecoder().decode(this.r.bytes.subarray(v.start, v.start + v.length));
  }
}

/** Whether `bytes` start like a TFLite flatbuffer (file identifier `TFL3` at bytes 4–7). */
export function isTflite(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && bytes[4] === 0x54 && bytes[5] === 0x46 && bytes[6] === 0x4c && bytes[7] === 0x33;
}

/**
 * Parses a TFLite file's first subgraph. `source` names the file in errors.
 * Schema fields read (0-based slots): Model {0 version, 1 operator_codes, 2 subgraphs, 4 buffers};
 * OperatorCode {0 deprecated_builtin_code (int8), 1 custom_code, 3 builtin_code}; SubGraph
 * {0 tensors, 1 inputs, 2 outputs, 3 operators}; Tensor {0 shape, 1 type, 2 buffer, 3 name,
 * 4 quantization}; QuantizationParameters {2 scale, 3 zero_point (int64), 6 quantized_dimension};
 * Operator {0 opcode_index, 1 inputs, 2 outputs}; Buffer {0 data, 1 offset (uint64), 2 size (uint64)}.
 */
export function parseTflite(bytes: Uint8Array, source: string): TfliteGraph {
  const r = new Reader(bytes, source);
  if (!isTflite(bytes)) r.fail(`no 'TFL3' file identifier at bytes 4-7`);
  const model = r.table(r.deref(0, 'root offset'), 'Model');
  const version = model.int(0, 0);
  const codes = model.tables(1, 'OperatorCode').map((c) => {
    const custom = c.string(1);
    // Since schema v3a the code is `builtin_code` (int32); older files only have the int8 one.
    const code = Math.max(c.int(0, 0, 1), c.int(3, 0));
    return code === 32 && custom !== '' ? `CUSTOM:${custom}` : (BUILTIN_OPS[code] ?? `BUILTIN_${code}`);
  });
  const buffers = model.tables(4, 'Buffer');
  const subgraphs = model.tables(2, 'SubGraph');
  if (subgraphs.length === 0) r.fail('the model has no subgraph');
  const g = subgraphs[0];
  const tensors = g.tables(0, 'Tensor').map((t, index) => readTensor(r, t, index, buffers));
  const inRange = (list: number[], what: string, allowAbsent: boolean) => {
    for (const i of list) if (!(Number.isInteger(i) && i < tensors.length && (i >= 0 || (allowAbsent && i === -1)))) r.fail(`${what} names tensor ${i} of ${tensors.length}`);
    return list;
  };
  const operators = g.tables(3, 'Operator').map((o, i) => {
    const code = o.int(0, 0, 4, false);
    if (code >= codes.length) r.fail(`operator ${i} names operator code ${code} of ${codes.length}`);
    return { op: codes[code], inputs: inRange(o.ints(1), `operator ${i}`, true), outputs: inRange(o.ints(2), `operator ${i}`, false) };
  });
  return { source, version, tensors, operators, inputs: inRange(g.ints(1), 'the subgraph inputs', false), outputs: inRange(g.ints(2), 'the subgraph outputs', false) };
}

function readTensor(r: Reader, t: Table, index: number, buffers: Table[]): TfliteTensor {
  const name = t.string(3);
  const what = `tensor ${index} '${name}'`;
  const shape = t.ints(0);
  if (shape.some((d) => d < 0)) r.fail(`${what} has shape [${shape.join(', ')}]`);
  const typeCode = t.int(1, 0, 1);
  const type = TENSOR_TYPES[typeCode];
  const buffer = t.int(2, 0, 4, false);
  if (buffer >= Math.max(buffers.length, 1)) r.fail(`${what} names buffer ${buffer} of ${buffers.length}`);
  let bytes: Uint8Array | null = null;
  if (buffer > 0 && buffers.length > 0) {
    const b = buffers[buffer];
    const data = b.vector(0, 1);
    if (data !== null && data.length > 0) bytes = r.bytes.subarray(data.start, data.start + data.length);
    else {
      // Files over 2 GB keep the tensor bytes after the flatbuffer, at an offset from the file start.
      const offset = b.int(1, 0, 8);
      const size = b.int(2, 0, 8);
      if (offset > 1 && size > 0) {
        r.need(offset, size, `${what} data`);
        bytes = r.bytes.subarray(offset, offset + size);
      }
    }
  }
  const elements = shape.reduce((a, d) => a * d, 1);
  if (bytes !== null) {
    if (type === undefined) r.fail(`${what} has element type ${typeCode}, which transferkit does not read (float32, float16, int8, uint8, int16, int32, int64, float64, bool)`);
    checkLimit('maxTensorElements', elements, `${r.source}: ${what} [${shape.join(', ')}]`);
    if (bytes.length !== elements * type.bytes) r.fail(`${what} [${shape.join(', ')}] of ${type.name} needs ${elements * type.bytes} bytes, its buffer holds ${bytes.length}`);
  }
  return { index, name, shape, dtype: type?.name ?? 'float32', quantization: readQuantization(r, t, what, shape), bytes };
}

function readQuantization(r: Reader, t: Table, what: string, shape: number[]): TfliteQuantization | null {
  const q = t.table(4, `${what} quantization`);
  if (q === null) return null;
  const sv = q.vector(2, 4);
  if (sv === null || sv.length === 0) return null;
  r.spend(12 * sv.length, `${what} quantization`);
  const scale = Float32Array.from({ length: sv.length }, (_, i) => r.view.getFloat32(sv.start + 4 * i, true));
  const zv = q.vector(3, 8);
  const zeroPoint = zv === null ? new Array<number>(sv.length).fill(0) : Array.from({ length: zv.length }, (_, i) => r.i64(zv.start + 8 * i, `${what} zero point`));
  const axis = q.int(6, 0);
  if (zeroPoint.length !== scale.length && zeroPoint.length !== 1) r.fail(`${what} has ${scale.length} scales and ${zeroPoint.length} zero points`);
  if (scale.length > 1 && (axis < 0 || axis >= shape.length || shape[axis] !== scale.length)) {
    r.fail(`${what} [${shape.join(', ')}] has ${scale.length} per-channel scales along dimension ${axis}`);
  }
  if (scale.some((s) => !Number.isFinite(s))) r.fail(`${what} has a non-finite quantization scale`);
  return { scale, zeroPoint, axis };
}

/**
 * A constant tensor as float32: float32 as is, float16 widened, integer types dequantized with
 * their (per-tensor or per-channel) scale and zero point — or, without quantization, taken as
 * plain numbers (int32 shapes, for example).
 */
export function dequantizeTensor(t: TfliteTensor, source: string): Float32Array {
  if (t.bytes === null) throw new TransferKitError('E_IO_FORMAT', `${source}: tensor ${t.index} '${t.name}' holds no constant data.`);
  const view = new DataView(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength);
  const n = t.shape.reduce((a, d) => a * d, 1);
  const out = new Float32Array(n);
  const read: (i: number) => number =
    t.dtype === 'float32' ? (i) => view.getFloat32(4 * i, true)
      : t.dtype === 'float16' ? (i) => halfToFloat(view.getUint16(2 * i, true))
        : t.dtype === 'float64' ? (i) => view.getFloat64(8 * i, true)
          : t.dtype === 'int8' ? (i) => view.getInt8(i)
            : t.dtype === 'uint8' || t.dtype === 'bool' ? (i) => view.getUint8(i)
              : t.dtype === 'int16' ? (i) => view.getInt16(2 * i, true)
                : t.dtype === 'int32' ? (i) => view.getInt32(4 * i, true)
                  : (i) => Number(view.getBigInt64(8 * i, true));
  const q = t.quantization;
  const integer = t.dtype !== 'float32' && t.dtype !== 'float16' && t.dtype !== 'float64';
  if (q === null || !integer) {
    for (let i = 0; i < n; i++) out[i] = read(i);
    return out;
  }
  // Elements between consecutive channels along the quantized axis (row-major strides).
  const inner = t.shape.slice(q.axis + 1).reduce((a, d) => a * d, 1);
  const channels = q.scale.length;
  for (let i = 0; i < n; i++) {
    const c = channels === 1 ? 0 : Math.floor(i / inner) % channels;
    // float32 arithmetic as the TFLite reference kernels (scale is float32, q - zp an integer).
    out[i] = Math.fround(q.scale[c] * (read(i) - q.zeroPoint[q.zeroPoint.length === 1 ? 0 : c]));
  }
  return out;
}
