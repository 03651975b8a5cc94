/**
 * A restricted reader of Python pickles (protocols 0–5 as far as `torch.save` writes them), for
 * PyTorch checkpoints. Like PyTorch's own `torch.load(weights_only=True)` unpickler, it never runs
 * code: every `GLOBAL` is resolved through the caller's allow-list (`findClass`) and anything not
 * on it is an error naming the class, so a malicious file cannot do more than fail to load.
 *
 * Objects come out as plain JS values: dicts → `Map` (keys may be non-strings), lists → arrays,
 * tuples → frozen arrays, ints → numbers (or bigint beyond 2^53), bytes → Uint8Array, None → null.
 * `REDUCE`/`NEWOBJ` call the allow-listed constructor; `BUILD` hands the state to the object's
 * `__setstate__` if it has one, and otherwise records it under {@link PICKLE_STATE}.
 * Opcodes: pickletools' table (CPython `Lib/pickletools.py`).
 */
import { TransferKitError } from '../errors.js';

/** A Python callable the reader may invoke (REDUCE / NEWOBJ) on the arguments it read. */
export type PickleCallable = (...args: unknown[]) => unknown;

/** Where `BUILD` puts the state of objects that have no `__setstate__`. */
export const PICKLE_STATE = Symbol('pickle.state');

/** Options of {@link unpickle}. */
export interface UnpickleOptions {
  /** Resolves `module.name` to a callable, or returns undefined to refuse it. */
  findClass: (module: string, name: string) => PickleCallable | undefined;
  /** Resolves a persistent id (`BINPERSID`), e.g. PyTorch's storage records. */
  persistentLoad?: (pid: unknown) => unknown;
  /** Names the file in errors. */
  source?: string;
}

const MARK = Symbol('mark');

/** Reads one pickled object from `bytes` (up to its STOP opcode). */
export function unpickle(bytes: Uint8Array, options: UnpickleOptions): unknown {
  return readPickle(bytes, 0, options).value;
}

/**
 * Reads the pickle that starts at byte `offset` of `bytes`; `end` is the byte after its STOP
 * (files such as PyTorch's legacy format hold several pickles and raw data back to back).
 */
export function readPickle(bytes: Uint8Array, offset: number, options: UnpickleOptions): { value: unknown; end: number } {
  const src = options.source ?? 'pickle';
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const utf8 = new TextDecoder('utf-8');
  const latin1 = new TextDecoder('latin1');
  let pos = offset;
  const stack: unknown[] = [];
  const memo = new Map<number, unknown>();
  const fail = (msg: string): never => {
    throw new TransferKitError('E_IO_FORMAT', `${src}: ${msg} (pickle byte ${pos}).`);
  };
  const need = (n: number): void => {
    if (pos + n > bytes.length) fail('ends early: the file is truncated');
  };
  const u8 = (): number => (need(1), bytes[pos++]);
  const u16 = (): number => (need(2), (pos += 2), view.getUint16(pos - 2, true));
  const u32 = (): number => (need(4), (pos += 4), view.getUint32(pos - 4, true));
  const i32 = (): number => (need(4), (pos += 4), view.getInt32(pos - 4, true));
  const u64 = (): number => {
    need(8);
    const v = view.getBigUint64(pos, true);
    pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(`length ${v} is too large`);
    return Number(v);
  };
  const take = (n: number): Uint8Array => {
    need(n);
    pos += n;
    return bytes.subarray(pos - n, pos);
  };
  const line = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) fail('ends early inside a text line');
    const s = latin1.decode(bytes.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const pop = (): unknown => {
    if (stack.length === 0) fail('stack underflow');
    return stack.pop();
  };
  const popMark = (): unknown[] => {
    const k = stack.lastIndexOf(MARK);
    if (k < 0) fail('MARK expected');
    const items = stack.splice(k);
    items.shift();
    return items;
  };
  const top = (): unknown => (stack.length === 0 ? fail('stack underflow') : stack[stack.length - 1]);
  const resolve = (module: string, name: string): PickleCallable => {
    const f = options.findClass(module, name);
    if (f === undefined) {
      fail(`refuses to load the Python object ${module}.${name}: only tensors, storages and plain containers are read (as torch.load(weights_only=True)). Save the state dict alone (torch.save(model.state_dict(), path)) or convert it to safetensors`);
    }
    return f as PickleCallable;
  };
  const signedLE = (b: Uint8Array): number | bigint => {
    if (b.length === 0) return 0;
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
    if (b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };
  const setItems = (d: unknown, kv: unknown[]): void => {
    if (!(d instanceof Map)) fail('SETITEMS on a non-dict');
    for (let i = 0; i + 1 < kv.length; i += 2) (d as Map<unknown, unknown>).set(kv[i], kv[i + 1]);
  };
  const tuple = (items: unknown[]): readonly unknown[] => Object.freeze(items);

  for (;;) {
    const op = u8();
    switch (op) {
      case 0x80: u8(); break; // PROTO
      case 0x95: take(8); break; // FRAME: a length hint only
      case 0x2e: return { value: pop(), end: pos }; // STOP '.'
      case 0x28: stack.push(MARK); break; // MARK '('
      case 0x30: pop(); break; // POP '0'
      case 0x31: popMark(); break; // POP_MARK '1'
      case 0x32: stack.push(top()); break; // DUP '2'
      case 0x4e: stack.push(null); break; // NONE 'N'
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x4a: stack.push(i32()); break; // BININT 'J'
      case 0x4b: stack.push(u8()); break; // BININT1 'K'
      case 0x4d: stack.push(u16()); break; // BININT2 'M'
      case 0x8a: stack.push(signedLE(take(u8()))); break; // LONG1
      case 0x8b: stack.push(signedLE(take(i32()))); break; // LONG4
      case 0x49: { // INT 'I' (protocol 0; '01'/'00' are True/False)
        const s = line();
        stack.push(s === '01' ? true : s === '00' ? false : Number(s));
        break;
      }
      case 0x4c: stack.push(Number(line().replace(/L$/, ''))); break; // LONG 'L'
      case 0x47: { // BINFLOAT 'G' (big-endian double)
        need(8);
        stack.push(view.getFloat64(pos, false));
        pos += 8;
        break;
      }
      case 0x46: stack.push(Number(line())); break; // FLOAT 'F'
      case 0x58: stack.push(utf8.decode(take(u32()))); break; // BINUNICODE 'X'
      case 0x8c: stack.push(utf8.decode(take(u8()))); break; // SHORT_BINUNICODE
      case 0x8d: stack.push(utf8.decode(take(u64()))); break; // BINUNICODE8
      case 0x54: stack.push(latin1.decode(take(i32()))); break; // BINSTRING 'T'
      case 0x55: stack.push(latin1.decode(take(u8()))); break; // SHORT_BINSTRING 'U'
      case 0x42: stack.push(take(u32()).slice()); break; // BINBYTES 'B'
      case 0x43: stack.push(take(u8()).slice()); break; // SHORT_BINBYTES 'C'
      case 0x8e: stack.push(take(u64()).slice()); break; // BINBYTES8
      case 0x96: stack.push(take(u64()).slice()); break; // BYTEARRAY8
      case 0x7d: stack.push(new Map()); break; // EMPTY_DICT '}'
      case 0x5d: stack.push([]); break; // EMPTY_LIST ']'
      case 0x29: stack.push(tuple([])); break; // EMPTY_TUPLE ')'
      case 0x8f: stack.push(new Set()); break; // EMPTY_SET
      case 0x74: stack.push(tuple(popMark())); break; // TUPLE 't'
      case 0x85: stack.push(tuple([pop()])); break; // TUPLE1
      case 0x86: { // TUPLE2
        const b = pop();
        stack.push(tuple([pop(), b]));
        break;
      }
      case 0x87: { // TUPLE3
        const c = pop();
        const b = pop();
        stack.push(tuple([pop(), b, c]));
        break;
      }
      case 0x6c: stack.push(popMark()); break; // LIST 'l'
      case 0x64: { // DICT 'd'
        const d = new Map();
        setItems(d, popMark());
        stack.push(d);
        break;
      }
      case 0x91: stack.push(new Set(popMark())); break; // FROZENSET
      case 0x61: { // APPEND 'a'
        const v = pop();
        const l = top();
        if (!Array.isArray(l)) fail('APPEND on a non-list');
        (l as unknown[]).push(v);
        break;
      }
      case 0x65: { // APPENDS 'e'
        const items = popMark();
        const l = top();
        if (!Array.isArray(l)) fail('APPENDS on a non-list');
        (l as unknown[]).push(...items);
        break;
      }
      case 0x90: { // ADDITEMS
        const items = popMark();
        const s = top();
        if (!(s instanceof Set)) fail('ADDITEMS on a non-set');
        for (const i of items) (s as Set<unknown>).add(i);
        break;
      }
      case 0x73: { // SETITEM 's'
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: { // SETITEMS 'u'
        const kv = popMark();
        setItems(top(), kv);
        break;
      }
      case 0x71: memo.set(u8(), top()); break; // BINPUT 'q'
      case 0x72: memo.set(u32(), top()); break; // LONG_BINPUT 'r'
      case 0x70: memo.set(Number(line()), top()); break; // PUT 'p'
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x68: case 0x6a: case 0x67: { // BINGET 'h', LONG_BINGET 'j', GET 'g'
        const k = op === 0x68 ? u8() : op === 0x6a ? u32() : Number(line());
        if (!memo.has(k)) fail(`memo entry ${k} is missing`);
        stack.push(memo.get(k));
        break;
      }
      case 0x63: { // GLOBAL 'c'
        const module = line();
        stack.push(resolve(module, line()));
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        stack.push(resolve(String(module), String(name)));
        break;
      }
      case 0x52: { // REDUCE 'R'
        const args = pop();
        const f = pop();
        if (typeof f !== 'function' || !Array.isArray(args)) fail('REDUCE expects a callable and an argument tuple');
        stack.push((f as PickleCallable)(...(args as unknown[])));
        break;
      }
      case 0x81: { // NEWOBJ
        const args = pop();
        const f = pop();
        if (typeof f !== 'function' || !Array.isArray(args)) fail('NEWOBJ expects a class and an argument tuple');
        stack.push((f as PickleCallable)(...(args as unknown[])));
        break;
      }
      case 0x62: { // BUILD 'b'
        const state = pop();
        const obj = top() as Record<string | symbol, unknown> | null;
        if (obj === null || typeof obj !== 'object') fail('BUILD on a non-object');
        const setState = (obj as { __setstate__?: (s: unknown) => void }).__setstate__;
        if (typeof setState === 'function') setState.call(obj, state);
        else (obj as Record<symbol, unknown>)[PICKLE_STATE] = state;
        break;
      }
      case 0x51: { // BINPERSID 'Q'
        const pid = pop();
        if (options.persistentLoad === undefined) fail('has a persistent id but no loader for it');
        stack.push((options.persistentLoad as (p: unknown) => unknown)(pid));
        break;
      }
      case 0x50: { // PERSID 'P'
        const pid = line();
        if (options.persistentLoad === undefined) fail('has a persistent id but no loader for it');
        stack.push((options.persistentLoad as (p: unknown) => unknown)(pid));
        break;
      }
      default:
        fail(`unsupported opcode 0x${op.toString(16).padStart(2, '0')}`);
    }
  }
}
