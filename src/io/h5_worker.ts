/**
 * Reading HDF5 files with a deadline. h5wasm (libhdf5 compiled to WASM) never returns on some
 * damaged files: it loops inside WASM, synchronously, and nothing in the same thread can
 * interrupt it. So every call into h5wasm for reading runs in one worker thread, and the main
 * thread talks to it synchronously: each call posts an op on a MessagePort, blocks in
 * `Atomics.wait` on a shared flag for at most `parseTimeoutMs` (see utils/limits.ts), then takes
 * the reply with `receiveMessageOnPort`. A call that passes the deadline terminates the worker
 * (the next read starts a fresh one) and ends in `E_IO_FORMAT` naming the file.
 *
 * The proxies returned here ({@link H5Node}) look like h5wasm's Group/Dataset to the synchronous
 * walking code of keras_h5.ts and keras_archive.ts. One worker serves every read, started on the
 * first one and unref'd once ready, so it never keeps a script alive; it serves requests in a
 * synchronous loop (its event loop is never needed again) and sends with each node what the walk
 * asks next (shape, type and values of a float dataset, attribute names of a group), so a
 * MobileNetV2 .h5 takes ~520 round trips. HDF5's diagnostics ("HDF5-DIAG: Error detected ..."),
 * which it prints for every damaged file, are dropped inside the worker: the coded error says
 * what matters.
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { TransferKitError } from '../errors.js';
import { inputLimits } from '../utils/limits.js';

/**
 * How long (ms) each side polls the shared flag before it sleeps in `Atomics.wait`: a read makes
 * hundreds of calls of tens of microseconds each, and waking a sleeping thread costs 50–150 us on
 * small VMs (3× the time of a MobileNet .h5 read without polling; about 1.3× with it).
 */
const SPIN_MS = 1;

/**
 * The worker (CommonJS, evaluated): loads h5wasm's Node build from `workerData.url`, then serves
 * ops from the main thread on `workerData.port` (flag[1] says one is waiting). After posting each
 * reply it stores its seq in flag[0], which wakes the main thread.
 */
const WORKER_SOURCE = `
const { parentPort, receiveMessageOnPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const { port, shared, url } = workerData;
const SPIN_MS = ${SPIN_MS};
// [0]: the seq of the last reply (the main thread waits on it); [1]: 1 when a request waits.
const flag = new Int32Array(shared);
// HDF5 writes its error stack ("HDF5-DIAG: ...") straight to fd 2 (emscripten's NODERAWFS), and
// emscripten prints through console: both are dropped, in this thread only.
for (const stream of [process.stdout, process.stderr]) {
  stream.write = (chunk, encoding, cb) => {
    const done = typeof encoding === 'function' ? encoding : cb;
    if (typeof done === 'function') process.nextTick(done);
    return true;
  };
}
const writeSync = fs.writeSync;
fs.writeSync = function (fd, buffer, ...rest) {
  if (fd === 1 || fd === 2) return typeof buffer === 'string' ? Buffer.byteLength(buffer) : typeof rest[1] === 'number' ? rest[1] : buffer.byteLength - (rest[0] || 0);
  return writeSync.call(this, fd, buffer, ...rest);
};
let h5 = null;
let Module = null;
let nextId = 1;
const nodes = new Map();
const files = new Map();
function add(obj, file) {
  const id = nextId++;
  nodes.set(id, { obj, file });
  files.get(file).ids.add(id);
  return id;
}
function entry(id) {
  const n = nodes.get(id);
  if (n === undefined) throw new Error('the file was already closed');
  return n;
}
const node = (id) => entry(id).obj;
// What the walk asks of a node next, sent with it to save round trips: a group's attribute names; a
// dataset's shape and type, and its values when they are float32/float64 and the shape is within
// maxElements (the walk checks it the same way before it reads). Whatever fails to read is left
// out: asked for again, it fails then.
const FLOATS = new Set(['<f', '>f', '<d', '>d']);
// A WASM trap or abort leaves the module unusable: the main thread then starts a fresh worker.
const isFatal = (err) => err instanceof WebAssembly.RuntimeError || /Aborted/.test(String(err && err.message));
function describe(o, id, name, maxElements) {
  const info = { id, path: typeof o.path === 'string' ? o.path : name };
  try {
    if (o instanceof h5.Group) info.attrs = Object.keys(o.attrs);
    else if (o instanceof h5.Dataset) {
      const shape = o.shape;
      info.meta = { shape, dtype: o.dtype };
      const ok = Array.isArray(shape) && shape.every((d) => Number.isSafeInteger(d) && d >= 0) && shape.reduce((a, b) => a * b, 1) <= maxElements;
      if (ok && FLOATS.has(info.meta.dtype)) info.value = o.value;
    }
  } catch (err) {
    if (isFatal(err)) throw err;
    delete info.value;
  }
  return info;
}
const ops = {
  open({ file }) {
    const f = new h5.File(file, 'r');
    if (typeof f.file_id === 'bigint' && f.file_id < 0n) return { unreadable: true };
    const handle = nextId++;
    files.set(handle, { f, ids: new Set() });
    return { handle, root: describe(f, add(f, handle), '/', 0) };
  },
  get({ id, name, maxElements }) {
    const n = entry(id);
    const o = n.obj.get(name);
    return o === null || o === undefined ? null : describe(o, add(o, n.file), name, maxElements);
  },
  attrs({ id }) { return Object.keys(node(id).attrs); },
  attr({ id, name }) { return node(id).attrs[name].value; },
  keys({ id }) { const o = node(id); return typeof o.keys === 'function' ? o.keys() : []; },
  meta({ id }) { const o = node(id); return { shape: o.shape, dtype: o.dtype }; },
  value({ id }) { return node(id).value; },
  float16({ id, n }) {
    const o = node(id);
    const bytes = Math.max(2 * n, 2);
    const ptr = Module._malloc(bytes);
    if (!ptr) throw new Error('the WASM heap cannot hold ' + bytes + ' bytes');
    try {
      // HDF5 converts to the native (little-endian) half type on read.
      Module.get_dataset_data(o.file_id, o.path, null, null, null, BigInt(ptr));
      return new Uint16Array(Module.HEAPU8.slice(ptr, ptr + 2 * n).buffer);
    } finally {
      Module._free(ptr);
    }
  },
  close({ handle }) {
    const f = files.get(handle);
    if (f === undefined) return null;
    files.delete(handle);
    for (const id of f.ids) nodes.delete(id);
    f.f.close();
    return null;
  },
};
function reply(message, transfer) {
  port.postMessage(message, transfer);
  Atomics.store(flag, 0, message.seq);
  Atomics.notify(flag, 0);
}
function serve(msg) {
  try {
    const result = ops[msg.op](msg);
    // Values are copies out of the WASM heap: moved, not cloned.
    const values = result !== null && typeof result === 'object' && 'value' in result ? result.value : result;
    const transfer = ArrayBuffer.isView(values) && values.buffer instanceof ArrayBuffer && values.buffer !== Module.HEAPU8.buffer ? [values.buffer] : [];
    reply({ seq: msg.seq, ok: true, result }, transfer);
  } catch (err) {
    reply({ seq: msg.seq, ok: false, message: String((err && err.message) || err), fatal: isFatal(err) });
  }
}
import(url).then(async (m) => {
  h5 = m;
  Module = await (m.ready || m.default.ready);
  parentPort.postMessage({ ready: true });
  // Served synchronously from here on (a round trip through this thread's event loop costs more than
  // most calls); terminate() still interrupts the wait.
  for (;;) {
    // Requests come in bursts: poll a little before sleeping.
    for (const until = performance.now() + SPIN_MS; Atomics.load(flag, 1) === 0 && performance.now() < until;);
    Atomics.wait(flag, 1, 0);
    Atomics.store(flag, 1, 0);
    for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) serve(m.message);
  }
}, (err) => parentPort.postMessage({ ready: false, message: String((err && err.message) || err) }));
`;

/** The part of h5wasm's Group/Dataset API the readers use (proxies to the worker's objects). */
export interface H5Node {
  attrs: Record<string, { value: unknown }>;
  keys(): string[];
  get(name: string): H5Node | null;
  shape?: number[];
  dtype?: string;
  value?: unknown;
  /** Float16 datasets: the raw half-precision bits of `n` elements (h5wasm's `.value` rejects them). */
  float16Bits(n: number): Uint16Array;
}

/** An open HDF5 file, read-only. */
export interface H5ReadFile extends H5Node {
  close(): void;
}

interface Reply {
  seq: number;
  ok: boolean;
  result?: unknown;
  message?: string;
  fatal?: boolean;
}

const NEEDS_H5WASM = 'Reading and writing Keras .h5 files needs the optional peer h5wasm: `npm install h5wasm`.';

/** The file URL of h5wasm's Node build (ESM only: its `./node` export has no `require` condition). */
export function resolveH5wasm(): string {
  // From this file (tsup's shim gives CommonJS builds `import.meta.url`). Not `require`: ES builds
  // have esbuild's `__require` stub there, a function without `resolve`.
  for (const dir of createRequire(import.meta.url).resolve.paths('h5wasm') ?? []) {
    const pkgFile = path.join(dir, 'h5wasm', 'package.json');
    if (!fs.existsSync(pkgFile)) continue;
    const pkg = JSON.parse(fs.readFileSync(pkgFile, 'utf8')) as { exports?: Record<string, unknown> };
    let target: unknown = pkg.exports?.['./node'];
    while (target !== null && typeof target === 'object') target = (target as Record<string, unknown>).import ?? (target as Record<string, unknown>).default;
    return pathToFileURL(path.join(dir, 'h5wasm', typeof target === 'string' ? target : 'dist/node/hdf5_hl.js')).href;
  }
  throw new Error("Cannot find package 'h5wasm'");
}

/** One worker running h5wasm, and the synchronous channel to it. */
class H5Worker {
  readonly ready: Promise<void>;
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly flag: Int32Array;
  private seq = 0;
  dead = false;

  constructor(url: string) {
    const shared = new SharedArrayBuffer(8);
    this.flag = new Int32Array(shared);
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.port.unref();
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { url, shared, port: port2 }, transferList: [port2], stdout: true, stderr: true });
    // The worker's stdout/stderr are captured, never read (nothing reaches them: the worker drops
    // its console output); reading them would keep the process alive.
    this.worker.on('exit', () => this.retire());
    this.ready = new Promise((resolve, reject) => {
      this.worker.once('message', (m: { ready: boolean; message?: string }) => {
        if (m.ready) {
          // Ready: from now on only synchronous calls use it, which need no reference.
          this.worker.unref();
          resolve();
        } else {
          this.kill();
          reject(new TransferKitError('E_BACKEND_UNAVAILABLE', NEEDS_H5WASM, { cause: new Error(m.message) }));
        }
      });
      this.worker.once('error', (err) => {
        this.kill();
        reject(new TransferKitError('E_BACKEND_UNAVAILABLE', `${NEEDS_H5WASM} (Its worker thread failed: ${err.message}.)`, { cause: err }));
      });
      // After `ready` this changes nothing (a promise settles once).
      this.worker.once('exit', (code) => reject(new TransferKitError('E_BACKEND_UNAVAILABLE', `${NEEDS_H5WASM} (Its worker thread exited with code ${code} while loading it.)`)));
    });
  }

  /**
   * Runs one op in the worker and returns its result. `file` and `what` name the file and the
   * step for the timeout error; errors of the HDF5 library are thrown as plain errors (the
   * callers' `h5Guard` turns them into `E_IO_FORMAT` naming the file).
   */
  call(op: string, args: Record<string, unknown>, file: string, what: string): unknown {
    if (this.dead) throw new Error('the HDF5 reader stopped (an earlier call on this file failed)');
    const seq = (this.seq = (this.seq % 0x7fffffff) + 1);
    const ms = inputLimits().parseTimeoutMs;
    const deadline = performance.now() + ms;
    Atomics.store(this.flag, 0, 0);
    this.port.postMessage({ ...args, op, seq });
    Atomics.store(this.flag, 1, 1);
    Atomics.notify(this.flag, 1);
    // Most calls take tens of microseconds: poll a little before sleeping.
    for (const until = performance.now() + Math.min(SPIN_MS, ms); Atomics.load(this.flag, 0) === 0 && performance.now() < until;);
    while (Atomics.load(this.flag, 0) === 0) {
      const left = deadline - performance.now();
      if (left <= 0) {
        this.kill();
        throw new TransferKitError('E_IO_FORMAT', `${file} is not a readable HDF5 file: the HDF5 library did not finish ${what} within ${ms} ms (parseTimeoutMs). The file is corrupt (damaged files can make the library loop forever); download or save it again. If it is a genuine, very large file on a slow machine, raise the limit with setInputLimits({ parseTimeoutMs: ... }).`);
      }
      Atomics.wait(this.flag, 0, 0, left);
    }
    const reply = receiveMessageOnPort(this.port)?.message as Reply | undefined;
    if (reply === undefined || reply.seq !== seq) {
      this.kill();
      throw new Error('the HDF5 reader thread answered out of turn');
    }
    if (!reply.ok) {
      if (reply.fatal === true) this.kill();
      throw new Error(reply.message);
    }
    return reply.result;
  }

  /** Stops the worker (a WASM loop included); the next read starts a fresh one. */
  kill(): void {
    this.retire();
    this.worker.terminate().catch(() => undefined);
  }

  private retire(): void {
    this.dead = true;
    this.port.close();
    if (current === this) current = null;
  }
}

let current: H5Worker | null = null;

/** The running worker, started (and h5wasm loaded in it) on first use. */
async function h5Worker(): Promise<H5Worker> {
  for (;;) {
    if (current === null) {
      let url: string;
      try {
        url = resolveH5wasm();
      } catch (err) {
        throw new TransferKitError('E_BACKEND_UNAVAILABLE', NEEDS_H5WASM, { cause: err });
      }
      current = new H5Worker(url);
    }
    const w = current;
    await w.ready;
    // Killed meanwhile (a read that started it timed out): start another.
    if (!w.dead) return w;
  }
}

/** A node as the worker describes it: its id and path, and what it could read of it at once. */
interface NodeInfo {
  id: number;
  path: string;
  meta?: { shape?: number[]; dtype?: string };
  attrs?: string[];
  value?: unknown;
}

/** A Group or Dataset inside the worker. */
class RemoteNode implements H5Node {
  private attrMap?: Record<string, { value: unknown }>;
  private attrNames?: string[];
  private meta?: { shape?: number[]; dtype?: string };
  private values?: { v: unknown };
  private readonly id: number;
  private readonly where: string;

  constructor(
    protected readonly w: H5Worker,
    protected readonly file: string,
    info: NodeInfo,
  ) {
    this.id = info.id;
    this.where = info.path;
    this.meta = info.meta;
    this.attrNames = info.attrs;
    if ('value' in info) this.values = { v: info.value };
  }

  protected call(op: string, what: string, args: Record<string, unknown> = {}): unknown {
    return this.w.call(op, { id: this.id, ...args }, this.file, what);
  }

  get attrs(): Record<string, { value: unknown }> {
    if (this.attrMap === undefined) {
      const out: Record<string, { value: unknown }> = {};
      for (const name of this.attrNames ?? (this.call('attrs', `listing the attributes of '${this.where}'`) as string[])) {
        let value: { v: unknown } | undefined;
        const read = (): unknown => (value ??= { v: this.call('attr', `reading the attribute '${name}' of '${this.where}'`, { name }) }).v;
        Object.defineProperty(out, name, { enumerable: true, value: Object.defineProperty({}, 'value', { enumerable: true, get: read }) });
      }
      this.attrMap = out;
    }
    return this.attrMap;
  }

  keys(): string[] {
    return this.call('keys', `listing '${this.where}'`) as string[];
  }

  get(name: string): H5Node | null {
    const r = this.call('get', `reading '${name}' in '${this.where}'`, { name, maxElements: inputLimits().maxTensorElements }) as NodeInfo | null;
    return r === null ? null : new RemoteNode(this.w, this.file, r);
  }

  private metadata(): { shape?: number[]; dtype?: string } {
    return (this.meta ??= this.call('meta', `reading the shape and type of '${this.where}'`) as { shape?: number[]; dtype?: string });
  }

  get shape(): number[] | undefined {
    return this.metadata().shape;
  }

  get dtype(): string | undefined {
    return this.metadata().dtype;
  }

  get value(): unknown {
    // Read with the node (see `describe` in the worker): handed over once, not kept.
    const sent = this.values;
    this.values = undefined;
    return sent !== undefined ? sent.v : this.call('value', `reading the values of '${this.where}'`);
  }

  float16Bits(n: number): Uint16Array {
    return this.call('float16', `reading the values of '${this.where}'`, { n }) as Uint16Array;
  }
}

class RemoteFile extends RemoteNode implements H5ReadFile {
  constructor(w: H5Worker, file: string, root: NodeInfo, private readonly handle: number) {
    super(w, file, root);
  }

  close(): void {
    if (!this.w.dead) this.w.call('close', { handle: this.handle }, this.file, 'closing it');
  }
}

/**
 * Opens `file` read-only in the HDF5 worker; `shown` names it in errors.
 * @returns null when the HDF5 library cannot open it (h5wasm then returns a negative file id).
 * @throws E_BACKEND_UNAVAILABLE without h5wasm; E_IO_FORMAT past `parseTimeoutMs`; a plain
 *   error with the library's message when opening throws.
 */
export async function openH5File(file: string, shown: string): Promise<H5ReadFile | null> {
  const w = await h5Worker();
  const r = w.call('open', { file }, shown, 'opening it') as { unreadable?: boolean; handle: number; root: NodeInfo };
  return r.unreadable === true ? null : new RemoteFile(w, shown, r.root, r.handle);
}
