/**
 * A restricted reader of Python pickles (protocols 0–5 as far as `torch.save` writes them), for
 * PyTorch checkpoints. Like PyTorch's own `torch.load(weights_only=True)` unpickler, it never runs
 * code. What happens to the opcodes that name or call Python objects:
 * - `GLOBAL` / `STACK_GLOBAL` (`module.name`) is handed to the caller's `findClass`, which returns
 *   a JavaScript function of its own or undefined. A name not resolved by `findClass` is refused:
 *   the read stops with `E_IO_FORMAT` naming the file and the object (`refuses to load the Python
 *   object os.system`). No Python or JavaScript code is imported or evaluated from a name.
 * - `REDUCE` / `NEWOBJ` call only a function `findClass` returned, with the arguments read from
 *   the file; `BUILD` records the state under {@link PICKLE_STATE} (or hands it to a
 *   `__setstate__` method of an object a `findClass` function built). Which names become what is
 *   the caller's policy: `torch_pth.ts` turns every name outside its allow-list into an inert
 *   record instead of refusing it (see its module comment).
 *
 * Objects come out as plain JS values: dicts → `Map` (keys may be non-strings), lists → arrays,
 * tuples → frozen arrays, ints → numbers (or bigint beyond 2^53), bytes → Uint8Array, None → null.
 *
 * Hostile input ends in `E_IO_FORMAT` naming the file and the byte, never in a raw error, a hang
 * or a stack overflow: declared lengths are checked against the bytes left (negative ones are
 * refused), the MARK stack follows CPython's metastack, containers are filled without argument
 * spreading, and the value returned is checked to contain itself nowhere and to nest no deeper
 * than the `maxNestingDepth` input limit (a linear walk, so shared sub-objects cost once).
 * Opcodes: pickletools' table (CPython `Lib/pickletools.py`).
 */
import { isTransferKitError, TransferKitError } from '../errors.js';
import { inputLimits } from '../utils/limits.js';

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

/** Most arguments a REDUCE / NEWOBJ call may take (torch's own calls take at most 6). */
const MAX_CALL_ARGS = 1024;

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Reads one pickled object from `bytes` (up to its STOP opcode). */
export function unpickle(bytes: Uint8Array, options: UnpickleOptions): unknown {
  return readPickle(bytes, 0, options).value;
}

/** The children of a value the reader built (containers, records of the caller's callables). */
function childrenOf(v: object): Iterable<unknown> {
  if (ArrayBuffer.isView(v)) return [];
  if (Array.isArray(v)) return v;
  if (v instanceof Map) return [...v.keys(), ...v.values()];
  if (v instanceof Set) return v;
  const own: unknown[] = Object.values(v);
  const state = (v as Record<symbol, unknown>)[PICKLE_STATE];
  if (state !== undefined) own.push(state);
  return own;
}

/**
 * Checks that `root` contains itself nowhere and nests at most `maxDepth` containers deep; returns
 * a description of the problem, or null. Iterative depth-first walk with colours: every object is
 * expanded once, so a structure that shares sub-objects (2^n leaves as a tree) costs n.
 */
function structureProblem(root: unknown, maxDepth: number): string | null {
  if (root === null || typeof root !== 'object') return null;
  const depthOf = new Map<object, number>(); // finished objects: their depth
  const open = new Set<object>(); // objects on the current path
  const stack: Array<{ obj: object; it: Iterator<unknown>; depth: number }> = [];
  const enter = (obj: object): string | null => {
    open.add(obj);
    stack.push({ obj, it: childrenOf(obj)[Symbol.iterator](), depth: 1 });
    return stack.length > maxDepth ? `nested deeper than ${maxDepth} levels` : null;
  };
  let problem = enter(root);
  while (problem === null && stack.length > 0) {
    const frame = stack[stack.length - 1];
    const next = frame.it.next();
    if (next.done === true) {
      stack.pop();
      open.delete(frame.obj);
      depthOf.set(frame.obj, frame.depth);
      if (stack.length > 0) stack[stack.length - 1].depth = Math.max(stack[stack.length - 1].depth, frame.depth + 1);
      continue;
    }
    const child = next.value;
    if (child === null || typeof child !== 'object') continue;
    if (open.has(child)) return 'contains itself (a self-referencing structure; state dicts never are)';
    const known = depthOf.get(child);
    if (known !== undefined) {
      frame.depth = Math.max(frame.depth, known + 1);
      if (stack.length + known > maxDepth) return `nested deeper than ${maxDepth} levels`;
      continue;
    }
    problem = enter(child);
  }
  return problem;
}

/**
 * Reads the pickle that starts at byte `offset` of `bytes`; `end` is the byte after its STOP
 * (files such as PyTorch's legacy format hold several pickles and raw data back to back).
 */
export function readPickle(bytes: Uint8Array, offset: number, options: UnpickleOptions): { value: unknown; end: number } {
  const src = options.source ?? 'pickle';
  let pos = offset;
  try {
    return readPickleUnchecked(bytes, offset, options, (p) => (pos = p));
  } catch (err) {
    if (isTransferKitError(err)) throw err;
    // The net under the checks: whatever a callable or the runtime threw is still a format error of this file.
    throw new TransferKitError('E_IO_FORMAT', `${src}: the pickle is malformed near byte ${pos}: ${err instanceof Error ? err.message : String(err)}. The file is corrupt or not a PyTorch checkpoint; re-save it with torch.save.`, { cause: err });
  }
}

function readPickleUnchecked(bytes: Uint8Array, offset: number, options: UnpickleOptions, track: (pos: number) => void): { value: unknown; end: number } {
  const src = options.source ?? 'pickle';
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const utf8 = new TextDecoder('utf-8');
  const latin1 = new TextDecoder('latin1');
  let pos = offset;
  const stack: unknown[] = [];
  // CPython's metastack: MARK opens a frame; ops below only see the items above the last MARK.
  const marks: number[] = [];
  const memo = new Map<number, unknown>();
  const fail = (msg: string): never => {
    throw new TransferKitError('E_IO_FORMAT', `${src}: ${msg} (pickle byte ${pos}). The file is corrupt or not a PyTorch checkpoint.`);
  };
  const need = (n: number): void => {
    if (n < 0) fail(`declares a negative length ${n}`);
    if (pos + n > bytes.length) fail(`declares ${n} bytes where ${bytes.length - pos} are left: the file ends early (truncated)`);
  };
  const u8 = (): number => (need(1), bytes[pos++]);
  const u16 = (): number => (need(2), (pos += 2), view.getUint16(pos - 2, true));
  const u32 = (): number => (need(4), (pos += 4), view.getUint32(pos - 4, true));
  const i32 = (): number => (need(4), (pos += 4), view.getInt32(pos - 4, true));
  const u64 = (): number => {
    need(8);
    const v = view.getBigUint64(pos, true);
    pos += 8;
    if (v > BigInt(bytes.length)) fail(`length ${v} is too large for a file of ${bytes.length} bytes`);
    return Number(v);
  };
  const take = (n: number): Uint8Array => {
    need(n);
    pos += n;
    return bytes.subarray(pos - n, pos);
  };
  const line = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) fail('ends early inside a text line (truncated)');
    const s = latin1.decode(bytes.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const base = (): number => (marks.length === 0 ? 0 : marks[marks.length - 1]);
  const pop = (): unknown => {
    if (stack.length <= base()) fail('stack underflow');
    return stack.pop();
  };
  const popMark = (): unknown[] => {
    if (marks.length === 0) fail('MARK expected');
    return stack.splice(marks.pop() as number);
  };
  const top = (): unknown => (stack.length <= base() ? fail('stack underflow') : stack[stack.length - 1]);
  const resolve = (module: string, name: string): PickleCallable => {
    const f = options.findClass(module, name);
    if (typeof f !== 'function') {
      fail(`refuses to load the Python object ${module}.${name}: only tensors, storages and plain containers are read (as torch.load(weights_only=True)). Save the state dict alone (torch.save(model.state_dict(), path)) or convert it to safetensors`);
    }
    return f as PickleCallable;
  };
  const signedLE = (b: Uint8Array): number | bigint => {
    if (b.length === 0) return 0;
    // Through hex: linear in the length (shifting a BigInt byte by byte is quadratic).
    let hex = '0x';
    for (let i = b.length - 1; i >= 0; i--) hex += HEX[b[i]];
    let v = BigInt(hex);
    if (b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };
  const setItems = (d: unknown, kv: unknown[]): void => {
    if (!(d instanceof Map)) fail('SETITEMS on a non-dict');
    if (kv.length % 2 !== 0) fail('SETITEMS with an odd number of items');
    for (let i = 0; i + 1 < kv.length; i += 2) (d as Map<unknown, unknown>).set(kv[i], kv[i + 1]);
  };
  const list = (l: unknown, op: string): unknown[] => {
    if (!Array.isArray(l) || Object.isFrozen(l)) fail(`${op} on a non-list`);
    return l as unknown[];
  };
  const call = (op: string): void => {
    const args = pop();
    const f = pop();
    if (typeof f !== 'function' || !Array.isArray(args)) fail(`${op} expects a callable and an argument tuple`);
    if ((args as unknown[]).length > MAX_CALL_ARGS) fail(`${op} with ${(args as unknown[]).length} arguments (at most ${MAX_CALL_ARGS} are read)`);
    stack.push((f as PickleCallable)(...(args as unknown[]))); // at most MAX_CALL_ARGS: no spreading RangeError
  };
  const persistent = (pid: unknown): void => {
    if (options.persistentLoad === undefined) fail('has a persistent id but no loader for it');
    stack.push((options.persistentLoad as (p: unknown) => unknown)(pid));
  };
  const tuple = (items: unknown[]): readonly unknown[] => Object.freeze(items);

  for (;;) {
    track(pos);
    const op = u8();
    switch (op) {
      case 0x80: u8(); break; // PROTO
      case 0x95: take(8); break; // FRAME: a length hint only
      case 0x2e: { // STOP '.'
        const value = pop();
        const maxDepth = inputLimits().maxNestingDepth;
        const problem = structureProblem(value, maxDepth);
        if (problem !== null) {
          const fix = problem.startsWith('nested')
            ? `The limit is maxNestingDepth=${maxDepth}; real checkpoints nest a few levels. If the file is genuine, raise it with setInputLimits({ maxNestingDepth: ... }); otherwise the file is corrupt or hostile.`
            : 'The file is corrupt or hostile.';
          throw new TransferKitError('E_IO_FORMAT', `${src}: the unpickled object (ending at pickle byte ${pos}) ${problem}. ${fix}`);
        }
        return { value, end: pos };
      }
      case 0x28: marks.push(stack.length); break; // MARK '('
      case 0x30: // POP '0': with nothing above the MARK it drops the MARK, as CPython's load_pop
        if (stack.length > base()) stack.pop();
        else if (marks.length > 0) popMark();
        else fail('stack underflow');
        break;
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
        list(top(), 'APPEND').push(v);
        break;
      }
      case 0x65: { // APPENDS 'e'
        const items = popMark();
        const l = list(top(), 'APPENDS');
        for (const item of items) l.push(item);
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
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL expects two strings (module and name)');
        stack.push(resolve(module as string, name as string));
        break;
      }
      case 0x52: call('REDUCE'); break; // REDUCE 'R'
      case 0x81: call('NEWOBJ'); break; // NEWOBJ
      case 0x62: { // BUILD 'b'
        const state = pop();
        const obj = top() as Record<string | symbol, unknown> | null;
        if (obj === null || typeof obj !== 'object') fail('BUILD on a non-object');
        if (Object.isFrozen(obj)) fail('BUILD on a tuple or other immutable value');
        const setState = (obj as { __setstate__?: (s: unknown) => void }).__setstate__;
        if (typeof setState === 'function') setState.call(obj, state);
        else (obj as Record<symbol, unknown>)[PICKLE_STATE] = state;
        break;
      }
      case 0x51: persistent(pop()); break; // BINPERSID 'Q'
      case 0x50: persistent(line()); break; // PERSID 'P'
      default:
        fail(`unsupported opcode 0x${op.toString(16).padStart(2, '0')}`);
    }
  }
}
