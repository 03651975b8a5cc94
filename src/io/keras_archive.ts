/**
 * Keras 3 `.keras` archives: a zip with `config.json`, `metadata.json` and `model.weights.h5`,
 * whose weights sit at `layers/<class in snake case>[_k]/vars/<i>` (nested models:
 * `layers/functional/layers/...`), located through config.json (see {@link keras3WeightPaths}), in
 * the order the layer created them (Conv2D/Dense: kernel, bias; BatchNormalization: gamma, beta,
 * moving_mean, moving_variance) — the same order tfjs-layers uses, so weights map by layer name
 * and position. Read through node:zlib and h5wasm (optional peer), in h5wasm's worker thread with
 * the `parseTimeoutMs` deadline of keras_h5.ts.
 *
 * A downloaded archive is untrusted: its central directory is read first and every member's
 * declared size is checked (`maxArchiveMemberBytes`, and `maxCompressionRatio` for members over
 * 1 MiB) before anything is inflated; only config.json and model.weights.h5 are inflated, each
 * with its declared size as a hard cap (a member that inflates past what it declares is refused
 * as soon as it does), and checked against its CRC-32. Member names are never used as paths:
 * members are read into memory and the weights go to a fresh temporary file, so no entry can
 * write outside (`../../x` or `/etc/x` in an archive touch nothing). config.json is checked by
 * `checkModelConfig` (nesting, layer count, layer sizes) before it is used.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import type * as tfl from '@tensorflow/tfjs-layers';
import { TransferKitError } from '../errors.js';
import { checkLimit } from '../utils/limits.js';
import { checkModelConfig } from './flatten_topology.js';
import { closeH5, datasetFloats, datasetShape, dropTest, h5Guard, openH5 } from './keras_h5.js';
import { loadNamedArrays, type NamedArrays, type WeightCopyReport } from './weights_by_name.js';

/** The weights of a `.keras` archive by layer name, in creation order, plus its config. */
export interface KerasArchive {
  config: Record<string, unknown> | null;
  layers: Map<string, Array<{ shape: number[]; data: Float32Array }>>;
}

/** Keras 3's `naming.to_snake_case` (how `.keras` files name a layer's weights group by its class). */
export function kerasSnakeCase(name: string): string {
  return name.replace(/\W+/g, '').replace(/(.)([A-Z][a-z]+)/g, '$1_$2').replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase();
}

type LayerConfig = { class_name?: string; name?: string; config?: { name?: string; layers?: LayerConfig[] } };
const isLayer = <T>(l: T | null | undefined): l is T => l !== null && typeof l === 'object' && !Array.isArray(l);

/**
 * Where Keras 3 saved each layer's variables, from config.json: saving_lib walks a model's
 * `layers` and names each group by the layer's class in snake case, numbered per class within its
 * container (`layers/conv2d`, `layers/conv2d_1`, ...), never by the layer's own name; a nested
 * model's layers sit under `<its group>/layers/...`. Sequential models leave out their InputLayer.
 * @returns h5 group path → layer name (nested layers keep their own names).
 */
export function keras3WeightPaths(config: Record<string, unknown>): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (cls: string | undefined, layers: LayerConfig[], prefix: string): void => {
    const used = new Map<string, number>();
    const list = (cls === 'Sequential' ? layers.filter((l) => isLayer(l) && l.class_name !== 'InputLayer') : layers).filter(isLayer);
    for (const l of list) {
      const snake = kerasSnakeCase(typeof l.class_name === 'string' ? l.class_name : 'layer');
      const k = used.get(snake);
      used.set(snake, k === undefined ? 0 : k + 1);
      const group = `${prefix}/${k === undefined ? snake : `${snake}_${k + 1}`}`;
      const inner = isLayer(l.config) ? l.config.layers : undefined;
      if (Array.isArray(inner)) walk(l.class_name, inner, `${group}/layers`);
      else out.set(group, String((isLayer(l.config) ? l.config.name : undefined) ?? l.name ?? group));
    }
  };
  const top = config as LayerConfig;
  if (isLayer(top.config) && Array.isArray(top.config.layers)) walk(top.class_name, top.config.layers, 'layers');
  return out;
}

/** One member of a zip archive, as its central directory describes it. */
export interface ZipMember {
  name: string;
  /** 0 stored, 8 deflated. */
  method: number;
  flags: number;
  crc32: number;
  compressedSize: number;
  size: number;
  /** Offset of its local header. */
  offset: number;
}

/** Members whose compression ratio is checked: smaller ones cannot exhaust memory whatever their ratio. */
const RATIO_CHECK_BYTES = 2 ** 20;

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 of `bytes` (zip's checksum); node:zlib's where it has one (Node >= 20.15). */
function crc32(bytes: Uint8Array): number {
  const native = (zlib as unknown as { crc32?: (b: Uint8Array) => number }).crc32;
  if (typeof native === 'function') return native(bytes) >>> 0;
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Reads `length` bytes at `position` of an open file; E_IO_FORMAT when the file is shorter. */
function readAt(fd: number, position: number, length: number, file: string, what: string): Buffer {
  const buf = Buffer.alloc(length);
  let got = 0;
  while (got < length) {
    const n = fs.readSync(fd, buf, got, length - got, position + got);
    if (n === 0) throw new TransferKitError('E_IO_FORMAT', `${file}: the zip archive ends inside ${what} (byte ${position + got} of ${position + length}). The archive is truncated; download or save it again.`);
    got += n;
  }
  return buf;
}

/**
 * The members of the zip archive open as `fd` (`size` bytes), from its central directory (zip64
 * included), without reading or inflating any member.
 * @throws E_IO_BAD_MANIFEST when there is no end-of-central-directory record (not a zip);
 *   E_IO_FORMAT for a directory that points outside the file or is malformed.
 */
export function readZipDirectory(fd: number, size: number, file: string): ZipMember[] {
  const corrupt = (why: string): never => {
    throw new TransferKitError('E_IO_FORMAT', `${file}: the zip archive's central directory is corrupt (${why}). Download or save the archive again.`);
  };
  const tailLength = Math.min(size, 22 + 65535);
  const tail = readAt(fd, size - tailLength, tailLength, file, 'its last bytes');
  let eocd = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) {
    throw new TransferKitError('E_IO_BAD_MANIFEST', `${file} is not a zip archive (no end-of-central-directory record); a Keras 3 .keras file is a zip with config.json and model.weights.h5.`);
  }
  let count = tail.readUInt16LE(eocd + 10);
  let dirSize = tail.readUInt32LE(eocd + 12);
  let dirOffset = tail.readUInt32LE(eocd + 16);
  if (count === 0xffff || dirSize === 0xffffffff || dirOffset === 0xffffffff) {
    // zip64: the locator sits just before the classic record and points at the zip64 record.
    const at = size - tailLength + eocd - 20;
    if (at < 0) corrupt('a zip64 archive without its zip64 locator');
    const locator = readAt(fd, at, 20, file, 'its zip64 locator');
    if (locator.readUInt32LE(0) !== 0x07064b50) corrupt('a zip64 archive without its zip64 locator');
    const recordAt = Number(locator.readBigUInt64LE(8));
    if (!(recordAt >= 0 && recordAt + 56 <= size)) corrupt(`the zip64 record at byte ${recordAt} lies outside the ${size}-byte file`);
    const record = readAt(fd, recordAt, 56, file, 'its zip64 record');
    if (record.readUInt32LE(0) !== 0x06064b50) corrupt('no zip64 record where the locator points');
    count = Number(record.readBigUInt64LE(32));
    dirSize = Number(record.readBigUInt64LE(40));
    dirOffset = Number(record.readBigUInt64LE(48));
  }
  if (!(dirOffset + dirSize <= size) || count > dirSize / 46) corrupt(`${count} entries in ${dirSize} bytes at byte ${dirOffset} of a ${size}-byte file`);
  const dir = readAt(fd, dirOffset, dirSize, file, 'its central directory');
  const members: ZipMember[] = [];
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > dir.length || dir.readUInt32LE(p) !== 0x02014b50) corrupt(`entry ${i} at byte ${dirOffset + p} has no entry signature`);
    const flags = dir.readUInt16LE(p + 8);
    const method = dir.readUInt16LE(p + 10);
    const crc = dir.readUInt32LE(p + 16);
    let compressedSize = dir.readUInt32LE(p + 20);
    let usize = dir.readUInt32LE(p + 24);
    const nameLength = dir.readUInt16LE(p + 28);
    const extraLength = dir.readUInt16LE(p + 30);
    const commentLength = dir.readUInt16LE(p + 32);
    let offset = dir.readUInt32LE(p + 42);
    const end = p + 46 + nameLength + extraLength + commentLength;
    if (end > dir.length) corrupt(`entry ${i} runs past the end of the directory`);
    const name = dir.subarray(p + 46, p + 46 + nameLength).toString(flags & 0x800 ? 'utf8' : 'latin1');
    // zip64 extra field: the 64-bit values of the fields saturated at 0xffffffff, in this order.
    for (let e = p + 46 + nameLength; e + 4 <= p + 46 + nameLength + extraLength;) {
      const id = dir.readUInt16LE(e);
      const len = dir.readUInt16LE(e + 2);
      if (id === 0x0001) {
        let q = e + 4;
        const next = (): number => {
          if (q + 8 > e + 4 + len) corrupt(`entry '${name}' has a short zip64 field`);
          const v = Number(dir.readBigUInt64LE(q));
          q += 8;
          return v;
        };
        if (usize === 0xffffffff) usize = next();
        if (compressedSize === 0xffffffff) compressedSize = next();
        if (offset === 0xffffffff) offset = next();
      }
      e += 4 + len;
    }
    members.push({ name, method, flags, crc32: crc, compressedSize, size: usize, offset });
    p = end;
  }
  return members;
}

/** Checks a member's declared sizes against the limits, before it is inflated. */
function checkMemberSizes(m: ZipMember, file: string): void {
  checkLimit('maxArchiveMemberBytes', m.size, `${file}: zip member '${m.name}' declares ${m.size} bytes uncompressed`);
  if (m.size > RATIO_CHECK_BYTES) {
    const ratio = m.size / Math.max(1, m.compressedSize);
    checkLimit('maxCompressionRatio', Math.round(ratio), `${file}: zip member '${m.name}' declares ${m.size} bytes from ${m.compressedSize} compressed (ratio ${Math.round(ratio)})`);
  }
}

/**
 * The bytes of one member, inflated with its declared size as a hard cap and checked against its
 * CRC-32.
 * @throws E_IO_FORMAT for an encrypted member, an unknown method, a member that inflates past (or
 *   short of) its declared size, or a checksum mismatch.
 */
export function readZipMember(fd: number, size: number, m: ZipMember, file: string): Uint8Array {
  const corrupt = (why: string): never => {
    throw new TransferKitError('E_IO_FORMAT', `${file}: zip member '${m.name}' ${why}. The archive is corrupt or hostile; download or save it again.`);
  };
  checkMemberSizes(m, file);
  if (m.flags & 1) corrupt('is encrypted; transferkit reads unencrypted archives (Keras writes them)');
  if (m.method !== 0 && m.method !== 8) corrupt(`is compressed with method ${m.method}; Keras archives use 0 (stored) or 8 (deflate)`);
  if (!(m.offset + 30 <= size)) corrupt(`starts at byte ${m.offset}, outside the ${size}-byte file`);
  const local = readAt(fd, m.offset, 30, file, `the header of '${m.name}'`);
  if (local.readUInt32LE(0) !== 0x04034b50) corrupt(`has no local header at byte ${m.offset}`);
  const dataAt = m.offset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
  if (!(dataAt + m.compressedSize <= size)) corrupt(`declares ${m.compressedSize} compressed bytes at byte ${dataAt}, past the end of the ${size}-byte file`);
  const raw = readAt(fd, dataAt, m.compressedSize, file, `'${m.name}'`);
  let out: Uint8Array;
  if (m.method === 0) {
    if (m.compressedSize !== m.size) corrupt(`is stored uncompressed but declares ${m.size} bytes in ${m.compressedSize}`);
    out = raw;
  } else {
    try {
      // maxOutputLength stops inflating as soon as the output passes the declared size.
      out = zlib.inflateRawSync(raw, { maxOutputLength: Math.max(1, m.size) });
    } catch (err) {
      if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
        return corrupt(`inflates to more than the ${m.size} bytes it declares (inflating stopped there)`);
      }
      return corrupt(`cannot be inflated (${(err as Error).message})`);
    }
  }
  if (out.length !== m.size) corrupt(`inflates to ${out.length} bytes but declares ${m.size}`);
  const crc = crc32(out);
  if (crc !== m.crc32) corrupt(`has CRC-32 ${crc.toString(16)} but declares ${m.crc32.toString(16)}`);
  return out;
}

/** config.json of a .keras archive, parsed and checked (`checkModelConfig`). */
function parseConfig(bytes: Uint8Array, file: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(bytes));
  } catch (err) {
    throw new TransferKitError('E_IO_FORMAT', `${file}: config.json is not valid JSON (${(err as Error).message}). The archive is corrupt; download or save it again.`, { cause: err });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new TransferKitError('E_IO_FORMAT', `${file}: config.json holds ${parsed === null ? 'null' : Array.isArray(parsed) ? 'a list' : typeof parsed}, not a model config object. The archive is corrupt; download or save it again.`);
  }
  checkModelConfig(parsed, `${file}: config.json`);
  return parsed as Record<string, unknown>;
}

/**
 * Reads a Keras 3 `.keras` archive: config.json (checked) and the weights of model.weights.h5.
 * @throws E_IO_BAD_MANIFEST not a zip / no model.weights.h5; E_LIMIT a member over the size or
 *   ratio limits, or a config over the nesting, layer or tensor limits; E_IO_FORMAT a corrupt
 *   archive, config.json or HDF5 file; E_MODEL_TOPOLOGY a config with impossible layer sizes.
 */
export async function readKerasArchive(file: string): Promise<KerasArchive> {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    const code = (err as { code?: string }).code;
    throw new TransferKitError('E_IO_NOT_FOUND', code === 'ENOENT' ? `No such file: ${file}.` : `Could not open ${file} (${code ?? (err as Error).message}). Check that it is a readable file.`, { cause: err });
  }
  let weights: Uint8Array;
  let config: Record<string, unknown> | null = null;
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) throw new TransferKitError('E_IO_NOT_FOUND', `${file} is not a file. A Keras 3 .keras model is one zip file; pass its path.`);
    const size = stat.size;
    const members = readZipDirectory(fd, size, file);
    // Every declared size first, so a hostile member is refused before anything is inflated.
    for (const m of members) checkMemberSizes(m, file);
    const pick = (name: string): ZipMember | undefined => {
      const found = members.filter((m) => m.name === name);
      if (found.length > 1) throw new TransferKitError('E_IO_FORMAT', `${file}: the zip archive holds ${found.length} members named '${name}'. A .keras archive holds one; the archive is corrupt or hostile.`);
      return found[0];
    };
    const weightsMember = pick('model.weights.h5');
    const configMember = pick('config.json');
    if (weightsMember === undefined) throw new TransferKitError('E_IO_BAD_MANIFEST', `${file}: no model.weights.h5 inside (entries: ${members.map((m) => m.name).slice(0, 20).join(', ')}).`);
    // The config is checked before the (large) weights are inflated.
    if (configMember !== undefined) config = parseConfig(readZipMember(fd, size, configMember, file), file);
    weights = readZipMember(fd, size, weightsMember, file);
  } finally {
    fs.closeSync(fd);
  }
  const tmp = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'transferkit-keras-')), 'model.weights.h5');
  try {
    fs.writeFileSync(tmp, weights);
    const shown = `${file}: model.weights.h5`;
    const f = await openH5(tmp, shown);
    try {
      return h5Guard(shown, 'reading its weights', () => {
        const root = f.get('layers');
        if (root === null) throw new TransferKitError('E_IO_BAD_MANIFEST', `${file}: model.weights.h5 has no 'layers' group (Keras 3 layout: layers/<class>/vars/<i>).`);
        const readVars = (group: string): Array<{ shape: number[]; data: Float32Array }> | null => {
          const vars = f.get(`${group}/vars`);
          if (vars === null) return null;
          const keys = (vars.keys?.() ?? []).sort((a, b) => Number(a) - Number(b));
          return keys.map((k) => {
            const ds = vars.get(k);
            const where = `${file}: ${group}/vars/${k}`;
            if (ds === null) throw new TransferKitError('E_IO_FORMAT', `${where} is listed but cannot be read. The archive is corrupt; download or save it again.`);
            return { shape: datasetShape(ds, where), data: datasetFloats(ds, where) };
          });
        };
        const layers = new Map<string, Array<{ shape: number[]; data: Float32Array }>>();
        const groups = root.keys?.() ?? [];
        const byConfig = config !== null ? keras3WeightPaths(config) : new Map<string, string>();
        // Files keyed by class-based groups (what Keras 3 writes) map through config.json; files whose
        // groups are the layer names themselves are read as they are.
        const classKeyed = [...byConfig.keys()].some((p) => groups.includes(p.split('/')[1]) && !groups.includes(byConfig.get(p) as string));
        if (classKeyed) {
          for (const [group, name] of byConfig) {
            const vars = readVars(group);
            if (vars !== null && vars.length > 0) layers.set(name, vars);
          }
        } else {
          for (const name of groups) layers.set(name, readVars(`layers/${name}`) ?? []);
        }
        return { config, layers };
      });
    } finally {
      closeH5(f);
    }
  } finally {
    fs.rmSync(path.dirname(tmp), { recursive: true, force: true });
  }
}

/**
 * Loads a `.keras` archive's weights into `model` by layer name and position (strict by default).
 * `dropLayers`: layers of the archive the model was built without (a classifier, for `includeTop: false`):
 * names, or a test of a layer name.
 */
export async function loadKerasArchive(model: tfl.LayersModel, file: string, options: { strict?: boolean; dropLayers?: readonly string[] | ((layer: string) => boolean) } = {}): Promise<WeightCopyReport> {
  const { layers } = await readKerasArchive(file);
  const drop = dropTest(options.dropLayers);
  const arrays: NamedArrays = new Map([...layers].filter(([name]) => !drop(name)).flatMap(([name, vars]) => vars.map((v, i) => [`${name}/vars/${i}`, v] as const)));
  return loadNamedArrays(model, arrays, { strict: options.strict, subject: `${file} does not match the model '${model.name}'.`, keyOf: (layer, _w, i) => `${layer.name}/vars/${i}` });
}
