/**
 * The IDX format of MNIST (LeCun et al.): a big-endian header (magic: two zero bytes, a type
 * code, the number of dimensions; then one uint32 per dimension) followed by the raw values.
 * Gzipped files (`.gz`, as distributed) are inflated first.
 */
import { gunzipSync } from 'fflate';
import { TransferKitError } from '../../errors.js';

/** A parsed IDX array (only unsigned bytes, type 0x08, which MNIST uses). */
export interface IdxArray {
  shape: number[];
  data: Uint8Array;
}

/** Parses IDX bytes (gzipped or not). `source` names the file in errors. */
export function parseIdx(bytes: Uint8Array, source = 'idx'): IdxArray {
  const raw = bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes;
  if (raw.length < 4 || raw[0] !== 0 || raw[1] !== 0) throw new TransferKitError('E_DATA', `${source}: not an IDX file (the first two bytes must be 0).`);
  if (raw[2] !== 0x08) throw new TransferKitError('E_DATA', `${source}: IDX type 0x${raw[2].toString(16)} is not supported; only unsigned bytes (0x08), as MNIST uses.`);
  const dims = raw[3];
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const shape = Array.from({ length: dims }, (_, i) => view.getUint32(4 + 4 * i, false));
  const offset = 4 + 4 * dims;
  const size = shape.reduce((a, b) => a * b, 1);
  if (raw.length !== offset + size) throw new TransferKitError('E_DATA', `${source}: header says ${JSON.stringify(shape)} (${size} values) but ${raw.length - offset} bytes follow it. The file is truncated or corrupt.`);
  return { shape, data: raw.subarray(offset) };
}
