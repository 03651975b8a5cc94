/**
 * Hostile and broken safetensors files, shard indexes and writes (issue 27, "Hardened input
 * boundary"): overlapping, negative, out-of-range, unordered or fractional data_offsets, headers
 * that are too long / not JSON / not objects, unknown dtypes, spans that disagree with the shape,
 * tensors over maxTensorElements, index entries that leave the model folder, and full-disk writes.
 * Every case must end in a coded error naming the file (and the tensor), never a raw error or a
 * silently wrong tensor; a failed write must leave the previous file untouched and no temp file.
 */
import * as fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readSafetensors, SafetensorsFile, writeSafetensors } from '../../src/io/safetensors.js';
import { defaultInputLimits, setInputLimits } from '../../src/utils/limits.js';
import { mulberry32 } from '../../src/utils/random.js';
import { codedError, tallyRead } from '../helpers/errors.js';

const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'tk-stlim-'));

afterEach(() => {
  setInputLimits(defaultInputLimits());
});

/** A safetensors file from a hand-written header (any JSON, or raw text) and payload. */
function handMade(file: string, header: unknown, payload: Uint8Array = new Uint8Array(0), headerLen?: bigint): string {
  const json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(headerLen ?? BigInt(json.length));
  fs.writeFileSync(file, Buffer.concat([len, json, Buffer.from(payload)]));
  return file;
}

const f32 = (...v: number[]): Uint8Array => new Uint8Array(Float32Array.from(v).buffer);


/** Opens and reads every tensor (what a loader does). */
const readAll = (file: string) => () => readSafetensors(file);

describe('safetensors header checks', () => {
  it('refuses overlapping, negative, out-of-range, unordered and fractional data_offsets, naming file and tensor', () => {
    const dir = tmp();
    const payload = f32(1, 2, 3, 4);
    const cases: Array<[string, Record<string, unknown>, RegExp]> = [
      ['overlap', { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, /tensors 'a' \(bytes 0–8\) and 'b' \(bytes 4–12\) overlap/],
      ['alias', { a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, /tensors 'a' .* and 'b' .* overlap/],
      ['negative', { a: { dtype: 'F32', shape: [2], data_offsets: [-4, 4] } }, /tensor 'a' has data_offsets \[-4,4\].*non-negative integers/],
      ['unordered', { a: { dtype: 'F32', shape: [0], data_offsets: [8, 4] } }, /tensor 'a' has data_offsets \[8,4\].*begin <= end/],
      ['fraction', { a: { dtype: 'F32', shape: [2], data_offsets: [0.5, 8.5] } }, /tensor 'a' has data_offsets \[0\.5,8\.5\]/],
      ['past_end', { a: { dtype: 'F32', shape: [8], data_offsets: [0, 32] } }, /tensor 'a' ends at byte \d+, past the end of the file/],
      ['huge_end', { a: { dtype: 'F32', shape: [2 ** 40], data_offsets: [0, 2 ** 42] } }, /tensor 'a' ends at byte \d+, past the end of the file/],
      ['offsets_missing', { a: { dtype: 'F32', shape: [2] } }, /tensor 'a' has data_offsets undefined/],
      ['entry_null', { a: null }, /tensor 'a' has the header entry null/],
      ['shape_string', { a: { dtype: 'F32', shape: '2', data_offsets: [0, 8] } }, /tensor 'a' has shape "2"/],
      ['shape_negative', { a: { dtype: 'F32', shape: [-1], data_offsets: [4, 0] } }, /tensor 'a' has shape \[-1\]/],
      ['dtype_unknown', { a: { dtype: 'F33', shape: [2], data_offsets: [0, 8] } }, /tensor 'a' has dtype "F33", which is not a safetensors dtype/],
      ['span_mismatch', { a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, /tensor 'a' spans 8 bytes .*shape \[3\] of F32 needs 12/],
      ['metadata_bad', { __metadata__: { format: 5 }, a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, /"__metadata__" is \{"format":5\}; it must be an object of strings/],
    ];
    for (const [name, header, msg] of cases) {
      const file = handMade(path.join(dir, `${name}.safetensors`), header, payload);
      const err = codedError(readAll(file));
      expect(err.code, name).toBe('E_IO_FORMAT');
      expect(err.message, name).toContain(`${name}.safetensors`);
      expect(err.message, name).toMatch(msg);
    }
  });

  it('refuses header lengths past the file, headers that are not JSON or not objects, and files shorter than 8 bytes', () => {
    const dir = tmp();
    const cases: Array<[string, () => string, RegExp]> = [
      ['long_header', () => handMade(path.join(dir, 'long_header.safetensors'), {}, new Uint8Array(0), 10_000n), /header length 10000 does not fit the file/],
      ['huge_header', () => handMade(path.join(dir, 'huge_header.safetensors'), {}, new Uint8Array(0), 2n ** 63n), /header length 9223372036854775808 does not fit/],
      ['not_json', () => handMade(path.join(dir, 'not_json.safetensors'), '{"a": {'), /not valid JSON/],
      ['array', () => handMade(path.join(dir, 'array.safetensors'), [1, 2]), /header is \[1,2\], not a JSON object/],
      ['null', () => handMade(path.join(dir, 'null.safetensors'), 'null'), /header is null, not a JSON object/],
      ['short', () => {
        fs.writeFileSync(path.join(dir, 'short.safetensors'), 'abc');
        return path.join(dir, 'short.safetensors');
      }, /too short to be a safetensors file \(3 bytes/],
    ];
    for (const [name, make, msg] of cases) {
      const err = codedError(readAll(make()));
      expect(err.code, name).toBe('E_IO_FORMAT');
      expect(err.message, name).toContain(`${name}.safetensors`);
      expect(err.message, name).toMatch(msg);
    }
  });

  it('checks the element count against maxTensorElements before reading (E_LIMIT), and reads it under the default', () => {
    const file = handMade(path.join(tmp(), 'big.safetensors'), { w: { dtype: 'F32', shape: [40, 50], data_offsets: [0, 8000] } }, new Uint8Array(8000));
    setInputLimits({ maxTensorElements: 1000 });
    const err = codedError(readAll(file));
    expect(err.code).toBe('E_LIMIT');
    expect(err.message).toMatch(/big\.safetensors: tensor 'w' \[40, 50\] has 2000 elements: 2000 is over the limit maxTensorElements=1000/);
    setInputLimits(defaultInputLimits());
    expect(readSafetensors(file).get('w')?.data.length).toBe(2000);
  });

  it('tensor names are data, not properties: "constructor" and "__proto__" behave as plain names', () => {
    const dir = tmp();
    const file = handMade(path.join(dir, 'names.safetensors'), '{"__proto__": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}', f32(9));
    const f = SafetensorsFile.open(file);
    expect(f.names).toEqual(['__proto__']);
    expect(Array.from(f.get('__proto__').data)).toEqual([9]);
    expect(() => f.get('constructor')).toThrow(/no tensor named 'constructor'/);
    f.close();
  });

  it('still reads genuine layouts: gaps between tensors, empty tensors anywhere, sub-byte dtypes counted in bits', () => {
    const file = handMade(
      path.join(tmp(), 'ok.safetensors'),
      { a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, e: { dtype: 'F32', shape: [0, 3], data_offsets: [2, 2] }, b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] }, q: { dtype: 'F4', shape: [4], data_offsets: [12, 14] } },
      Uint8Array.from([...f32(1), 0, 0, 0, 0, ...f32(2), 0, 0]),
    );
    const f = SafetensorsFile.open(file);
    expect(Array.from(f.get('b').data)).toEqual([2]);
    expect(f.get('e').shape).toEqual([0, 3]);
    f.close();
  });

  it('bit flips, truncations and huge values in a real file end in a result or a coded error (seeded, 2000 inputs)', () => {
    const dir = tmp();
    const seedFile = path.join(dir, 'seed.safetensors');
    writeSafetensors(seedFile, { w: { dtype: 'float32', shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) }, n: { dtype: 'int32', shape: [2], data: Int32Array.from([7, 8]) } }, { format: 'pt' });
    const seed = fs.readFileSync(seedFile);
    const text = seed.toString('latin1');
    const rand = mulberry32(27);
    const outcomes = { ok: 0, coded: 0 };
    for (let i = 0; i < 2000; i++) {
      let bytes: Buffer;
      const kind = i % 4;
      if (kind === 0) {
        bytes = Buffer.from(seed);
        for (let k = 0; k < 1 + Math.floor(rand() * 3); k++) bytes[Math.floor(rand() * bytes.length)] ^= 1 << Math.floor(rand() * 8);
      } else if (kind === 1) {
        bytes = seed.subarray(0, Math.floor(rand() * seed.length));
      } else {
        // Replace one number of the JSON header with a huge, negative or fractional one.
        const numbers = [...text.matchAll(/\d+/g)].filter((m) => (m.index ?? 0) > 8 && (m.index ?? 0) < 8 + Number(seed.readBigUInt64LE(0)));
        const m = numbers[Math.floor(rand() * numbers.length)];
        const repl = ['-8', '1e300', '0.5', '4294967296', '9007199254740993', '0'][Math.floor(rand() * 6)];
        const at = m.index ?? 0;
        const header = text.slice(8, 8 + Number(seed.readBigUInt64LE(0)));
        const newHeader = header.slice(0, at - 8) + repl + header.slice(at - 8 + m[0].length);
        const len = Buffer.alloc(8);
        len.writeBigUInt64LE(BigInt(newHeader.length));
        bytes = Buffer.concat([len, Buffer.from(newHeader, 'latin1'), seed.subarray(8 + header.length)]);
      }
      tallyRead(path.join(dir, `m${i}.safetensors`), bytes, (f) => readSafetensors(f), `input ${i} (mutation ${kind})`, outcomes);
    }
    expect(outcomes.ok + outcomes.coded).toBe(2000);
    expect(outcomes.coded).toBeGreaterThan(500);
  });
});

describe('safetensors shard index', () => {
  function sharded(): { root: string; dir: string; index: string } {
    const root = tmp();
    const dir = path.join(root, 'model');
    fs.mkdirSync(dir);
    writeSafetensors(path.join(dir, 'model-00001-of-00001.safetensors'), { a: { dtype: 'float32', shape: [1], data: Float32Array.from([1]) } });
    // A valid safetensors file outside the model folder: the old reader loaded it through '../'.
    writeSafetensors(path.join(root, 'outside.safetensors'), { b: { dtype: 'float32', shape: [1], data: Float32Array.from([666]) } });
    return { root, dir, index: path.join(dir, 'model.safetensors.index.json') };
  }

  it('refuses weight_map entries that leave the model folder (relative or absolute) with E_IO_PATH_ESCAPE, before opening anything', () => {
    const { root, index } = sharded();
    for (const shard of ['../outside.safetensors', path.join(root, 'outside.safetensors'), 'sub/../../outside.safetensors', '../../../../../../etc/passwd']) {
      fs.writeFileSync(index, JSON.stringify({ weight_map: { a: 'model-00001-of-00001.safetensors', b: shard } }));
      const err = codedError(readAll(index));
      expect(err.code, shard).toBe('E_IO_PATH_ESCAPE');
      expect(err.message, shard).toContain(index);
      // Nothing about the file outside leaks into the message (the old error reported /etc/passwd's size).
      expect(err.message, shard).not.toMatch(/bytes\)/);
    }
  });

  it('refuses an index that is not JSON, has no weight_map object, or maps a tensor to a non-string or to a shard without it', () => {
    const { index } = sharded();
    const cases: Array<[string, string, RegExp]> = [
      ['not json', '{"weight_map": ', /model\.safetensors\.index\.json: not valid JSON/],
      ['no map', '{"metadata": {}}', /no "weight_map" object/],
      ['map is a list', '{"weight_map": ["a"]}', /no "weight_map" object.*Received: weight_map=\["a"\]/],
      ['number value', '{"weight_map": {"a": 5}}', /tensor 'a' maps to 5; each weight_map entry must be a shard file name/],
      ['missing tensor', '{"weight_map": {"zzz": "model-00001-of-00001.safetensors"}}', /maps tensor 'zzz' to model-00001-of-00001\.safetensors, which has no such tensor/],
    ];
    for (const [name, json, msg] of cases) {
      fs.writeFileSync(index, json);
      const err = codedError(readAll(index));
      expect(err.code, name).toBe('E_IO_FORMAT');
      expect(err.message, name).toMatch(msg);
    }
    fs.writeFileSync(index, JSON.stringify({ weight_map: { a: 'model-00001-of-00001.safetensors' } }));
    expect(Array.from(readSafetensors(index).get('a')?.data ?? [])).toEqual([1]);
  });
});

describe('writeSafetensors: complete or nothing', () => {
  const realFs = (fs as unknown as { default: typeof fs }).default;

  /**
   * Replaces `fs.writeSync` (for the library code too: the ESM bindings of node:fs are re-synced)
   * while `fn` runs. This is the seam the tests use to make the kernel's short writes and ENOSPC
   * happen on demand; the bytes that are "written" go to the real file.
   */
  function withWriteSync(fake: (real: typeof fs.writeSync) => typeof fs.writeSync, fn: () => void): void {
    const real = realFs.writeSync;
    realFs.writeSync = fake(real);
    syncBuiltinESMExports();
    try {
      fn();
    } finally {
      realFs.writeSync = real;
      syncBuiltinESMExports();
    }
  }

  /** A writeSync that writes at most `chunk` bytes per call, and nothing past `budget` bytes in total (then ENOSPC). */
  const shortWrites = (chunk: number, budget = Infinity) => (real: typeof fs.writeSync): typeof fs.writeSync => {
    let total = 0;
    return ((fd: number, buf: NodeJS.ArrayBufferView, offset?: number | null, length?: number | null) => {
      const view = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
      const from = offset ?? 0;
      const want = Math.min(length ?? view.byteLength - from, chunk, budget - total);
      if (want <= 0) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
      const n = real(fd, view, from, want);
      total += n;
      return n;
    }) as typeof fs.writeSync;
  };

  const tensors = { w: { dtype: 'float32' as const, shape: [64], data: Float32Array.from({ length: 64 }, (_, i) => i) } };

  it('finishes short writes (a write() may write fewer bytes than asked): the file is complete', () => {
    const file = path.join(tmp(), 'short.safetensors');
    withWriteSync(shortWrites(7), () => writeSafetensors(file, tensors, { note: 'x' }));
    expect(Array.from(readSafetensors(file).get('w')?.data ?? [])).toEqual(Array.from(tensors.w.data));
    expect(fs.readdirSync(path.dirname(file))).toEqual(['short.safetensors']);
  });

  it('on a full disk (short write, then ENOSPC) throws E_IO_WRITE naming the file, keeps the old file byte for byte, leaves no temp file', () => {
    const dir = tmp();
    const file = path.join(dir, 'model.safetensors');
    writeSafetensors(file, { old: { dtype: 'float32', shape: [2], data: Float32Array.from([1, 2]) } });
    const before = fs.readFileSync(file);
    // The disk fills in the middle of the last (tensor) write: it is written partly, then ENOSPC.
    let err: unknown;
    withWriteSync(shortWrites(1 << 20, 120), () => {
      try {
        writeSafetensors(file, tensors);
      } catch (e) {
        err = e;
      }
    });
    expect(err).toMatchObject({ code: 'E_IO_WRITE', message: expect.stringMatching(/Could not write .*model\.safetensors: ENOSPC.*previous file, if any, is unchanged.*Free disk space/) });
    expect(fs.readFileSync(file).equals(before)).toBe(true);
    expect(fs.readdirSync(dir)).toEqual(['model.safetensors']);
  });

  it('with the kernel itself failing every write (the temp file is opened on /dev/full): E_IO_WRITE, old file kept, no temp file', (ctx) => {
    if (!fs.existsSync('/dev/full')) return ctx.skip();
    const dir = tmp();
    const file = path.join(dir, 'model.safetensors');
    writeSafetensors(file, { old: { dtype: 'float32', shape: [1], data: Float32Array.from([3]) } });
    const before = fs.readFileSync(file);
    const realOpen = realFs.openSync;
    // Creates the temp file as asked (so its removal is observable), but returns a descriptor of /dev/full.
    realFs.openSync = ((p: fs.PathLike, flags?: fs.OpenMode, mode?: fs.Mode) => {
      if (String(p).startsWith(`${file}.tmp-`)) {
        fs.closeSync(realOpen(p, flags ?? 'r', mode));
        return realOpen('/dev/full', 'w');
      }
      return realOpen(p, flags ?? 'r', mode);
    }) as typeof fs.openSync;
    syncBuiltinESMExports();
    let err: unknown;
    try {
      writeSafetensors(file, tensors);
    } catch (e) {
      err = e;
    } finally {
      realFs.openSync = realOpen;
      syncBuiltinESMExports();
    }
    expect(err).toMatchObject({ code: 'E_IO_WRITE', message: expect.stringMatching(/ENOSPC/) });
    expect(fs.readFileSync(file).equals(before)).toBe(true);
    expect(fs.readdirSync(dir)).toEqual(['model.safetensors']);
  });

  it('a folder that does not exist is E_IO_WRITE naming the file (not a raw ENOENT)', () => {
    const file = path.join(tmp(), 'no', 'such', 'dir', 'a.safetensors');
    expect(codedError(() => writeSafetensors(file, tensors))).toMatchObject({ code: 'E_IO_WRITE', message: expect.stringContaining(file) });
  });

  it('refuses tensors whose data does not match their shape (it would write a file no reader accepts)', () => {
    const file = path.join(tmp(), 'bad.safetensors');
    const err = codedError(() => writeSafetensors(file, { w: { dtype: 'float32', shape: [3], data: Float32Array.from([1, 2]) } }));
    expect(err.code).toBe('E_BAD_OPTION');
    expect(fs.existsSync(file)).toBe(false);
  });
});
