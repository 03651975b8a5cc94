/**
 * Hostile PyTorch checkpoints and pickles (issue 27, "Hardened input boundary"): expansion bombs
 * (stride 0 over a one-element storage), out-of-bounds strides, offsets and shapes, storages
 * larger than their zip member, deeply nested / self-referencing / exponentially shared pickle
 * structures, negative and huge declared lengths, and the pickle policy for unknown callables.
 * Every input must end in a value or a coded TransferKitError naming the file (never a raw
 * TypeError/RangeError, a stack overflow, a hang, or a multi-GB allocation).
 *
 * The files are built here, byte by byte, in the layouts torch.save writes (zip: `archive/data.pkl`
 * + stored `archive/data/<key>` members; legacy: five pickles then the storages), so the tests run
 * without Python; when Debian's python3-torch is installed, one test checks that torch.load itself
 * reads the hand-built bomb as the 30000 × 30000 expanded tensor the reader must refuse.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { zipSync } from 'fflate';
import { afterEach, describe, expect, it } from 'vitest';
import { isTransferKitError } from '../../src/errors.js';
import { readPickle, unpickle } from '../../src/io/pickle.js';
import { OpaquePythonObject, readTorchCheckpoint, torchFindClass } from '../../src/io/torch_pth.js';
import { defaultInputLimits, setInputLimits } from '../../src/utils/limits.js';
import { mulberry32 } from '../../src/utils/random.js';
import { runPythonScript, torchAvailable } from '../helpers/torch.js';
import { codedError, tallyRead } from '../helpers/errors.js';

afterEach(() => {
  setInputLimits(defaultInputLimits());
});

const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'tk-pthlim-'));
const enc = new TextEncoder();

// --- A tiny pickle assembler (opcodes from CPython's Lib/pickletools.py) ---------------------
type Ops = number[];
const u32 = (n: number): Ops => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
const P = {
  proto: (): Ops => [0x80, 0x02],
  str: (s: string): Ops => {
    const b = enc.encode(s);
    return [0x58, ...u32(b.length), ...b];
  },
  int: (n: number): Ops => {
    if (Number.isInteger(n)) return [0x4a, ...u32(n)];
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, n, false); // BINFLOAT (a float where torch writes ints)
    return [0x47, ...b];
  },
  global: (module: string, name: string): Ops => [0x63, ...enc.encode(`${module}\n${name}\n`)],
  tuple: (...items: Ops[]): Ops => [0x28, ...items.flat(), 0x74],
  mark: [0x28],
  emptyDict: [0x7d],
  emptyList: [0x5d],
  emptyTuple: [0x29],
  setitem: [0x73],
  append: [0x61],
  reduce: [0x52],
  build: [0x62],
  persid: [0x51],
  none: [0x4e],
  false: [0x89],
  stop: [0x2e],
  binput: (i: number): Ops => [0x71, i],
  binget: (i: number): Ops => [0x68, i],
};

interface TensorSpec {
  key: string;
  storageKey?: string;
  storageType?: string;
  /** Elements the persistent id declares for the storage. */
  storageNumel: number;
  offset?: number;
  shape: number[];
  stride: number[];
  /** Legacy layout: (view_key, offset, size) view metadata. */
  view?: [string, number, number];
}

/** `_rebuild_tensor_v2(persistent_load(('storage', torch.FloatStorage, key, 'cpu', numel)), offset, shape, stride, False, OrderedDict())`. */
function tensorOps(t: TensorSpec): Ops {
  const pid = P.tuple(
    P.str('storage'),
    P.global('torch', t.storageType ?? 'FloatStorage'),
    P.str(t.storageKey ?? '0'),
    P.str('cpu'),
    P.int(t.storageNumel),
    ...(t.view !== undefined ? [P.tuple(P.str(t.view[0]), P.int(t.view[1]), P.int(t.view[2]))] : []),
  );
  return [
    ...P.global('torch._utils', '_rebuild_tensor_v2'),
    ...P.tuple(pid, P.persid, P.int(t.offset ?? 0), P.tuple(...t.shape.map(P.int)), P.tuple(...t.stride.map(P.int)), P.false, P.global('collections', 'OrderedDict'), P.emptyTuple, P.reduce),
    ...P.reduce,
  ];
}

/** A pickled `{key: tensor, ...}` (plus extra raw entries). */
function stateDictPickle(tensors: TensorSpec[], extra: Array<[string, Ops]> = []): Uint8Array {
  const ops: Ops = [...P.proto(), ...P.emptyDict];
  for (const t of tensors) ops.push(...P.str(t.key), ...tensorOps(t), ...P.setitem);
  for (const [k, v] of extra) ops.push(...P.str(k), ...v, ...P.setitem);
  ops.push(...P.stop);
  return Uint8Array.from(ops);
}

/** A zip-layout .pth (stored members, as torch.save writes them). */
function zipPth(file: string, pickle: Uint8Array, storages: Record<string, Uint8Array>): string {
  const entries: Record<string, [Uint8Array, { level: 0 }]> = {
    'archive/data.pkl': [pickle, { level: 0 }],
    'archive/byteorder': [enc.encode('little'), { level: 0 }],
    'archive/version': [enc.encode('3\n'), { level: 0 }],
  };
  for (const [k, bytes] of Object.entries(storages)) entries[`archive/data/${k}`] = [bytes, { level: 0 }];
  fs.writeFileSync(file, zipSync(entries));
  return file;
}

const f32 = (...v: number[]): Uint8Array => new Uint8Array(Float32Array.from(v).buffer);

/** A legacy-layout .pth: magic, protocol, sys info, the object, the storage keys, then each storage (int64 count + bytes). */
function legacyPth(file: string, objectPickle: Uint8Array, storages: Array<[string, bigint, Uint8Array]>): string {
  const magic = [...P.proto(), 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, ...P.stop];
  const protocol = [...P.proto(), 0x4d, 0xe9, 0x03, ...P.stop];
  const info = [...P.proto(), ...P.emptyDict, ...P.stop];
  const keys = [...P.proto(), ...P.emptyList, ...P.mark, ...storages.flatMap(([k]) => P.str(k)), 0x65, ...P.stop];
  const parts: Uint8Array[] = [Uint8Array.from(magic), Uint8Array.from(protocol), Uint8Array.from(info), objectPickle, Uint8Array.from(keys)];
  for (const [, n, bytes] of storages) {
    const count = new Uint8Array(8);
    new DataView(count.buffer).setBigInt64(0, n, true);
    parts.push(count, bytes);
  }
  fs.writeFileSync(file, Buffer.concat(parts));
  return file;
}


const bomb: TensorSpec = { key: 'w', storageNumel: 1, shape: [30000, 30000], stride: [0, 0] };

describe('.pth expansion bombs and tensor bounds', () => {
  it('refuses the few-hundred-byte stride-0 bomb (30000 × 30000 over one element) with E_LIMIT before allocating, naming file and key', () => {
    const dir = tmp();
    const file = zipPth(path.join(dir, 'bomb.pth'), stateDictPickle([bomb]), { '0': f32(1) });
    expect(fs.statSync(file).size).toBeLessThan(1000);
    const err = codedError(() => readTorchCheckpoint(file));
    expect(err.code).toBe('E_LIMIT');
    expect(err.message).toContain(file);
    expect(err.message).toMatch(/tensor 'w' \[30000, 30000\]/);
    expect(err.message).toMatch(/900000000 is over the limit maxTensorElements=268435456.*setInputLimits/);
    // The same bomb in the legacy layout.
    const legacy = legacyPth(path.join(dir, 'bomb_legacy.pth'), stateDictPickle([bomb]), [['0', 1n, f32(1)]]);
    expect(codedError(() => readTorchCheckpoint(legacy)).code).toBe('E_LIMIT');
  });

  it('the limit is the configured one: a 100 × 100 stride-0 tensor is refused under maxTensorElements=1000 and read under the default', () => {
    const file = zipPth(path.join(tmp(), 'small_bomb.pth'), stateDictPickle([{ key: 'w', storageNumel: 1, shape: [100, 100], stride: [0, 0] }]), { '0': f32(2.5) });
    setInputLimits({ maxTensorElements: 1000 });
    const err = codedError(() => readTorchCheckpoint(file));
    expect(err.code).toBe('E_LIMIT');
    expect(err.message).toMatch(/small_bomb\.pth: tensor 'w' \[100, 100\] has 10000 elements: 10000 is over the limit maxTensorElements=1000/);
    setInputLimits(defaultInputLimits());
    // A genuine broadcast view (torch.save keeps expand()'s stride 0) stays readable under the limit.
    const t = readTorchCheckpoint(file).get('w');
    expect(t?.shape).toEqual([100, 100]);
    expect(t?.data.length).toBe(10000);
    expect(t?.data.every((v) => v === 2.5)).toBe(true);
  });

  it('refuses negative strides, negative or fractional sizes, negative offsets and reaches past the storage with E_IO_FORMAT naming the key', () => {
    const dir = tmp();
    const cases: Array<[string, Partial<TensorSpec>, RegExp]> = [
      ['neg_stride', { storageNumel: 4, shape: [3], stride: [-1] }, /tensor 'w' has stride \[-1\].*non-negative integers/],
      ['neg_size', { storageNumel: 4, shape: [-1], stride: [1] }, /tensor 'w' has shape \[-1\].*non-negative integers/],
      ['frac_size', { storageNumel: 4, shape: [2.5], stride: [1] }, /tensor 'w' has shape \[2\.5\].*non-negative integers/],
      ['rank_mismatch', { storageNumel: 4, shape: [2, 2], stride: [1] }, /tensor 'w' has shape \[2, 2\] but stride \[1\]/],
      ['neg_offset', { storageNumel: 4, offset: -1, shape: [2], stride: [1] }, /tensor 'w' has storage offset -1/],
      ['past_end', { storageNumel: 4, shape: [3, 3], stride: [3, 1] }, /tensor 'w' \[3, 3\] reaches element 8 of its storage '0', which holds 4 elements/],
      ['offset_past_end', { storageNumel: 4, offset: 4, shape: [1], stride: [1] }, /reaches element 4 of its storage '0', which holds 4/],
    ];
    for (const [name, spec, msg] of cases) {
      const file = zipPth(path.join(dir, `${name}.pth`), stateDictPickle([{ key: 'w', storageNumel: 4, shape: [1], stride: [1], ...spec } as TensorSpec]), { '0': f32(1, 2, 3, 4) });
      const err = codedError(() => readTorchCheckpoint(file));
      expect(err.code, name).toBe('E_IO_FORMAT');
      expect(err.message, name).toContain(`${name}.pth`);
      expect(err.message, name).toMatch(msg);
    }
  });

  it('refuses a storage that declares more elements than its zip member holds, and a legacy storage with a negative count', () => {
    const dir = tmp();
    // The persistent id declares 1e9 floats; the member holds 4 bytes (the tensor itself only needs one).
    const file = zipPth(path.join(dir, 'liar.pth'), stateDictPickle([{ key: 'w', storageNumel: 1e9, shape: [1], stride: [1] }]), { '0': f32(1) });
    const err = codedError(() => readTorchCheckpoint(file));
    expect(err.code).toBe('E_IO_FORMAT');
    expect(err.message).toMatch(/liar\.pth: storage '0' of tensor 'w' declares 1000000000 elements \(4000000000 bytes\) but its archive member holds 4 bytes/);
    const neg = legacyPth(path.join(dir, 'neg_count.pth'), stateDictPickle([{ key: 'w', storageNumel: 1, shape: [1], stride: [1] }]), [['0', -5n, f32(1)]]);
    expect(codedError(() => readTorchCheckpoint(neg))).toMatchObject({ code: 'E_IO_FORMAT', message: expect.stringMatching(/neg_count\.pth: storage '0' declares -5 elements/) });
    // A legacy storage view must stay inside its root storage.
    const view = legacyPth(path.join(dir, 'view.pth'), stateDictPickle([{ key: 'w', storageNumel: 2, shape: [3], stride: [1], view: ['0', 1, 3] }]), [['0', 2n, f32(1, 2)]]);
    expect(codedError(() => readTorchCheckpoint(view))).toMatchObject({ code: 'E_IO_FORMAT', message: expect.stringMatching(/view\.pth: .*tensor 'w'/) });
  });

  it('reads in-bounds strided views from hand-built files in both layouts (the checks do not refuse real layouts)', () => {
    const dir = tmp();
    // A transposed 2 × 3 view of [0..5] and a slice with an offset, sharing storage '0'.
    const specs: TensorSpec[] = [
      { key: 't', storageNumel: 6, shape: [3, 2], stride: [1, 3] },
      { key: 's', storageNumel: 6, offset: 4, shape: [2], stride: [1] },
      { key: 'empty', storageNumel: 6, offset: 6, shape: [0, 4], stride: [4, 1] },
    ];
    const zip = zipPth(path.join(dir, 'views.pth'), stateDictPickle(specs), { '0': f32(0, 1, 2, 3, 4, 5) });
    const legacy = legacyPth(path.join(dir, 'views_legacy.pth'), stateDictPickle(specs), [['0', 6n, f32(0, 1, 2, 3, 4, 5)]]);
    for (const file of [zip, legacy]) {
      const sd = readTorchCheckpoint(file);
      expect(Array.from(sd.get('t')?.data ?? []), file).toEqual([0, 3, 1, 4, 2, 5]);
      expect(Array.from(sd.get('s')?.data ?? []), file).toEqual([4, 5]);
      expect(sd.get('empty')?.shape, file).toEqual([0, 4]);
    }
  });

  it('torch.load itself reads the hand-built bomb as a 30000 × 30000 expanded tensor (the files are real checkpoints)', async (ctx) => {
    if (!(await torchAvailable())) return ctx.skip();
    const file = zipPth(path.join(tmp(), 'bomb.pth'), stateDictPickle([bomb]), { '0': f32(7) });
    const r = await runPythonScript(['-c', `import torch; t = torch.load(${JSON.stringify(file)}, weights_only=True)['w']; print(list(t.shape), list(t.stride()), t.storage().size(), float(t[123, 456]))`]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('[30000, 30000] [0, 0] 1 7.0');
  });

  it('bit flips, truncations and field swaps of a .pth end in a result or a coded error (seeded, 600 inputs)', () => {
    setInputLimits({ maxTensorElements: 1e6 });
    const dir = tmp();
    const specs: TensorSpec[] = [
      { key: 'a', storageNumel: 6, shape: [2, 3], stride: [3, 1] },
      { key: 'b', storageKey: '1', storageType: 'LongStorage', storageNumel: 2, shape: [2], stride: [1] },
    ];
    const long = new Uint8Array(16);
    new DataView(long.buffer).setBigInt64(0, 5n, true);
    new DataView(long.buffer).setBigInt64(8, -3n, true);
    const seeds = [
      fs.readFileSync(zipPth(path.join(dir, 'seed.pth'), stateDictPickle(specs), { '0': f32(0, 1, 2, 3, 4, 5), '1': long })),
      fs.readFileSync(legacyPth(path.join(dir, 'seed_legacy.pth'), stateDictPickle(specs), [['0', 6n, f32(0, 1, 2, 3, 4, 5)], ['1', 2n, long]])),
    ];
    const rand = mulberry32(27);
    const outcomes = { ok: 0, coded: 0 };
    for (let i = 0; i < 600; i++) {
      const seed = seeds[i % 2];
      let bytes = Uint8Array.from(seed);
      const kind = i % 4;
      if (kind === 0) for (let k = 0; k < 1 + Math.floor(rand() * 4); k++) bytes[Math.floor(rand() * bytes.length)] ^= 1 << Math.floor(rand() * 8);
      else if (kind === 1) bytes = bytes.subarray(0, Math.floor(rand() * bytes.length));
      else if (kind === 2) for (let k = 0; k < 4; k++) bytes[Math.floor(rand() * bytes.length)] = [0x00, 0xff, 0x7f, 0x80][k];
      else {
        // A 4-byte field set to a huge or negative value.
        const at = Math.floor(rand() * (bytes.length - 4));
        new DataView(bytes.buffer, bytes.byteOffset).setInt32(at, rand() < 0.5 ? -7 : 0x7ffffff0, true);
      }
      tallyRead(path.join(dir, `m${i}.pth`), bytes, (f) => readTorchCheckpoint(f), `input ${i} (mutation ${kind})`, outcomes);
    }
    expect(outcomes.ok + outcomes.coded).toBe(600);
    expect(outcomes.coded).toBeGreaterThan(100);
  });
});

describe('pickle reader: structure and length attacks end in E_IO_FORMAT naming the file', () => {
  const opts = () => ({ findClass: torchFindClass('evil.pkl'), source: 'evil.pkl' });
  const read = (ops: Ops) => () => unpickle(Uint8Array.from(ops), opts());

  it('refuses nesting deeper than maxNestingDepth (the limit is configurable) and reads shallow nesting', () => {
    const nested = (depth: number): Ops => [...P.proto(), ...new Array<number>(depth).fill(0x28), ...new Array<number>(depth).fill(0x6c), ...P.stop];
    const err = codedError(read(nested(5000)));
    expect(err.code).toBe('E_IO_FORMAT');
    expect(err.message).toMatch(/evil\.pkl: .*nested deeper than 1000 levels.*maxNestingDepth/);
    setInputLimits({ maxNestingDepth: 20 });
    expect(codedError(read(nested(30))).code).toBe('E_IO_FORMAT');
    setInputLimits(defaultInputLimits());
    let v = unpickle(Uint8Array.from(nested(30)), opts());
    for (let i = 0; i < 29; i++) v = (v as unknown[])[0];
    expect(v).toEqual([]);
  });

  it('refuses self-referencing structures and exponentially shared ones cost linear time', () => {
    // l = []; l.append(l)
    const self: Ops = [...P.proto(), ...P.emptyList, ...P.binput(0), ...P.binget(0), ...P.append, ...P.stop];
    expect(codedError(read(self))).toMatchObject({ code: 'E_IO_FORMAT', message: expect.stringMatching(/evil\.pkl: .*contains itself/) });
    // x0 = []; x(i+1) = (xi, xi): 2^200 leaves when walked as a tree, 200 objects as a graph.
    const dag: Ops = [...P.proto(), ...P.emptyList];
    for (let i = 0; i < 200; i++) dag.push(...P.binput(0), ...P.binget(0), 0x86, ...P.binput(0));
    dag.push(...P.stop);
    const v = unpickle(Uint8Array.from(dag), opts()) as unknown[];
    expect(v[0]).toBe(v[1]);
  });

  it('refuses negative and huge declared lengths, missing memo entries, and ops on the wrong types', () => {
    const cases: Array<[string, Ops, RegExp]> = [
      ['BINUNICODE 4 GB', [...P.proto(), 0x58, 0xff, 0xff, 0xff, 0xff, 0x61, ...P.stop], /ends early/],
      ['BINUNICODE8 2^63', [...P.proto(), 0x8d, 0, 0, 0, 0, 0, 0, 0, 0x80, ...P.stop], /length .* too large|ends early/],
      ['LONG_BINGET missing', [...P.proto(), 0x6a, 0x10, 0x27, 0, 0, ...P.stop], /memo entry 10000 is missing/],
      ['APPEND to a tuple', [...P.proto(), ...P.emptyTuple, 0x4b, 1, ...P.append, ...P.stop], /APPEND on a non-list/],
      ['BUILD on a tuple', [...P.proto(), ...P.emptyTuple, ...P.none, ...P.build, ...P.stop], /BUILD on a tuple/],
      ['OrderedDict of non-pairs', [...P.proto(), ...P.global('collections', 'OrderedDict'), ...P.tuple(P.tuple(P.int(1), P.int(2))), ...P.reduce, ...P.stop], /OrderedDict item that is not a \(key, value\) pair/],
      ['STACK_GLOBAL of non-strings', [...P.proto(), ...P.emptyList, ...P.emptyList, 0x93, ...P.stop], /STACK_GLOBAL expects two strings/],
      ['POP on an empty stack', [...P.proto(), 0x30, ...P.stop], /stack underflow/],
      ['STOP with only a MARK', [...P.proto(), ...P.mark, ...P.stop], /stack underflow/],
      ['no STOP', [...P.proto(), 0x4b, 1], /truncated/],
    ];
    for (const [name, ops, msg] of cases) {
      const err = codedError(read(ops));
      expect(err.code, name).toBe('E_IO_FORMAT');
      expect(err.message, name).toMatch(/^\[transferkit\] evil\.pkl: /);
      expect(err.message, name).toMatch(msg);
    }
  });

  it('negative declared lengths (BINSTRING, LONG4) are refused instead of moving the reader backwards (the old reader looped forever)', () => {
    const cases: Array<[string, Ops, RegExp]> = [
      ['BINSTRING -5', [...P.proto(), 0x54, 0xfb, 0xff, 0xff, 0xff, ...P.stop], /negative length -5/],
      ['LONG4 -1', [...P.proto(), 0x8b, 0xff, 0xff, 0xff, 0xff, ...P.stop], /negative length -1/],
    ];
    for (const [name, ops, msg] of cases) expect(codedError(read(ops)), name).toMatchObject({ code: 'E_IO_FORMAT', message: expect.stringMatching(msg) });
    // POP with nothing above the MARK removes the MARK, as CPython's load_pop does.
    expect(unpickle(Uint8Array.from([...P.proto(), 0x4b, 1, ...P.mark, 0x30, ...P.stop]), opts())).toBe(1);
  });

  it('APPENDS of a million items is read (no argument-spreading RangeError)', () => {
    const ops: Ops = [...P.proto(), ...P.emptyList, ...P.mark];
    for (let i = 0; i < 1_000_000; i++) ops.push(0x4b, i & 0xff);
    ops.push(0x65, ...P.stop);
    expect((unpickle(Uint8Array.from(ops), opts()) as unknown[]).length).toBe(1_000_000);
  });

  it('a .pth whose persistent id refers to itself, or whose object nests 100000 deep, ends in E_IO_FORMAT naming the file', () => {
    const dir = tmp();
    // persistent_load(l) with l = [l]
    const selfPid = Uint8Array.from([...P.proto(), ...P.emptyDict, ...P.str('w'), ...P.emptyList, ...P.binput(0), ...P.binget(0), ...P.append, ...P.persid, ...P.setitem, ...P.stop]);
    const a = zipPth(path.join(dir, 'selfpid.pth'), selfPid, {});
    expect(codedError(() => readTorchCheckpoint(a))).toMatchObject({ code: 'E_IO_FORMAT', message: expect.stringContaining('selfpid.pth') });
    // The object of a legacy file nested 100000 deep (old reader: stack overflow in its storage walk).
    const deep = Uint8Array.from([...P.proto(), ...new Array<number>(100_000).fill(0x28), ...new Array<number>(100_000).fill(0x6c), ...P.stop]);
    const b = legacyPth(path.join(dir, 'deep.pth'), deep, []);
    expect(codedError(() => readTorchCheckpoint(b))).toMatchObject({ code: 'E_IO_FORMAT', message: expect.stringMatching(/deep\.pth: .*nested deeper than 1000 levels/) });
  });

  it('a state dict key that is an exponentially shared tuple is refused by type, never stringified (the old reader hung on it)', () => {
    const key: Ops = [...P.emptyList];
    for (let i = 0; i < 60; i++) key.push(...P.binput(0), ...P.binget(0), 0x86, ...P.binput(0));
    const pickle = Uint8Array.from([...P.proto(), ...P.emptyDict, ...key, ...tensorOps({ key: 'w', storageNumel: 1, shape: [1], stride: [1] }), ...P.setitem, ...P.stop]);
    const file = zipPth(path.join(tmp(), 'dagkey.pth'), pickle, { '0': f32(1) });
    expect(codedError(() => readTorchCheckpoint(file))).toMatchObject({ code: 'E_IO_FORMAT', message: expect.stringMatching(/dagkey\.pth: a state dict key that is a tuple of 2; state dict keys are strings/) });
  });

  it('random opcode soup (seeded, 3000 pickles) ends in a value or a coded error', () => {
    const rand = mulberry32(2701);
    const alphabet = [0x28, 0x29, 0x2e, 0x30, 0x31, 0x32, 0x4a, 0x4b, 0x4d, 0x4e, 0x52, 0x58, 0x5d, 0x61, 0x62, 0x65, 0x68, 0x6a, 0x6c, 0x71, 0x72, 0x73, 0x74, 0x75, 0x7d, 0x81, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f, 0x90, 0x91, 0x93, 0x94, 0x95, 0x42, 0x43, 0x54, 0x55, 0x51, 0x63];
    for (let i = 0; i < 3000; i++) {
      const ops: Ops = [...P.proto()];
      const n = 1 + Math.floor(rand() * 40);
      for (let k = 0; k < n; k++) {
        ops.push(alphabet[Math.floor(rand() * alphabet.length)]);
        // Random argument bytes after some ops.
        for (let j = Math.floor(rand() * 3); j > 0; j--) ops.push(Math.floor(rand() * 256));
      }
      if (rand() < 0.5) ops.push(...P.stop);
      try {
        unpickle(Uint8Array.from(ops), opts());
      } catch (err) {
        if (!isTransferKitError(err)) throw new Error(`pickle ${i} (${Buffer.from(ops).toString('hex')}) ended in a raw error: ${String(err)}`, { cause: err });
        expect(err.code).toBe('E_IO_FORMAT');
      }
    }
  });
});

describe('unknown Python callables (GLOBAL / REDUCE) never run', () => {
  it("pickle.ts refuses, by name, any GLOBAL its caller's findClass does not resolve (the module comment's first rule)", () => {
    const ops: Ops = [...P.proto(), ...P.global('os', 'system'), ...P.tuple(P.str('touch /tmp/tk-pwned')), ...P.reduce, ...P.stop];
    const err = codedError(() => unpickle(Uint8Array.from(ops), { findClass: () => undefined, source: 'x.pkl' }));
    expect(err.code).toBe('E_IO_FORMAT');
    expect(err.message).toMatch(/x\.pkl: refuses to load the Python object os\.system/);
    expect(fs.readFileSync(path.resolve(__dirname, '../../src/io/pickle.ts'), 'utf8')).toMatch(/not resolved by `findClass` is refused/);
  });

  it('torch_pth.ts keeps them inert: os.system(...) in a checkpoint becomes an OpaquePythonObject, nothing runs, the tensors load (the module comment says so)', () => {
    const marker = path.join(tmp(), 'pwned');
    const evil: Ops = [...P.global('os', 'system'), ...P.tuple(P.str(`touch ${marker}`)), ...P.reduce];
    const evilBuild: Ops = [...P.global('subprocess', 'Popen'), ...P.tuple(P.str('sh')), ...P.reduce, ...P.emptyDict, ...P.build];
    const file = zipPth(path.join(tmp(), 'evil.pth'), stateDictPickle([{ key: 'w', storageNumel: 2, shape: [2], stride: [1] }], [['evil', evil], ['evil2', evilBuild]]), { '0': f32(1, 2) });
    expect(Array.from(readTorchCheckpoint(file).get('w')?.data ?? [])).toEqual([1, 2]);
    expect(fs.existsSync(marker)).toBe(false);
    const v = unpickle(Uint8Array.from([...P.proto(), ...evil, ...P.stop]), { findClass: torchFindClass('evil.pth'), source: 'evil.pth' });
    expect(v).toBeInstanceOf(OpaquePythonObject);
    expect(v).toMatchObject({ pythonClass: 'os.system', args: [`touch ${marker}`] });
    expect(fs.existsSync(marker)).toBe(false);
    expect(fs.readFileSync(path.resolve(__dirname, '../../src/io/torch_pth.ts'), 'utf8')).toMatch(/inert `OpaquePythonObject`/);
  });

  it('readPickle stops at the first STOP (several pickles back to back)', () => {
    const two = Uint8Array.from([...P.proto(), 0x4b, 7, ...P.stop, ...P.proto(), 0x4b, 8, ...P.stop]);
    const first = readPickle(two, 0, { findClass: () => undefined });
    expect(first.value).toBe(7);
    expect(readPickle(two, first.end, { findClass: () => undefined }).value).toBe(8);
  });
});
