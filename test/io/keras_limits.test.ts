/**
 * Hostile and damaged Keras files: .keras zip bombs (refused from the central directory before
 * anything is inflated; a member that inflates past what it declares is stopped there), member
 * names that try to leave the archive, absurd config.json contents, and .h5 files truncated or
 * with flipped bytes. Every outcome is a result or a coded `TransferKitError` naming the file.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readKerasArchive, readKerasH5 } from '../../src/entries/io.js';
import { isTransferKitError } from '../../src/errors.js';
import { caught, limitsPerTest } from '../helpers/errors.js';

const dirs: string[] = [];
const tmp = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-keraslim-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});
const enc = (v: unknown) => new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v));

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(chunks: Iterable<Uint8Array>): number {
  let c = 0xffffffff;
  for (const b of chunks) for (let i = 0; i < b.length; i++) c = CRC_TABLE[(c ^ b[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

interface Member {
  name: string;
  /** Deflated (raw) bytes, or the bytes themselves when `stored`. */
  body: Uint8Array;
  size: number;
  crc: number;
  stored?: boolean;
  /** Uncompressed size written in the headers, when it should lie. */
  declared?: number;
}
const deflated = (name: string, data: Uint8Array): Member => ({ name, body: zlib.deflateRawSync(data), size: data.length, crc: crc32([data]) });

/** A zip archive (local headers, central directory, end record) of `members`, sizes as declared. */
function zip(members: Member[]): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const m of members) {
    const name = Buffer.from(m.name, 'utf8');
    const size = m.declared ?? m.size;
    const head = Buffer.alloc(30);
    head.writeUInt32LE(0x04034b50, 0);
    head.writeUInt16LE(20, 4);
    head.writeUInt16LE(0x800, 6);
    head.writeUInt16LE(m.stored ? 0 : 8, 8);
    head.writeUInt32LE(m.crc, 14);
    head.writeUInt32LE(m.body.length, 18);
    head.writeUInt32LE(size, 22);
    head.writeUInt16LE(name.length, 26);
    parts.push(head, name, Buffer.from(m.body));
    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt16LE(20, 4);
    cd.writeUInt16LE(20, 6);
    cd.writeUInt16LE(0x800, 8);
    cd.writeUInt16LE(m.stored ? 0 : 8, 10);
    cd.writeUInt32LE(m.crc, 16);
    cd.writeUInt32LE(m.body.length, 20);
    cd.writeUInt32LE(size, 24);
    cd.writeUInt16LE(name.length, 28);
    cd.writeUInt32LE(offset, 42);
    central.push(cd, name);
    offset += 30 + name.length + m.body.length;
  }
  const cdBytes = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(members.length, 8);
  end.writeUInt16LE(members.length, 10);
  end.writeUInt32LE(cdBytes.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, cdBytes, end]);
}

/** `mb` MiB of zeros, deflated as a stream (a few hundred KB; the zeros are never held at once). */
async function zeroBomb(name: string, mb: number): Promise<Member> {
  const d = zlib.createDeflateRaw({ level: 9 });
  const out: Buffer[] = [];
  d.on('data', (c: Buffer) => out.push(c));
  const zeros = Buffer.alloc(2 ** 20);
  for (let i = 0; i < mb; i++) if (!d.write(zeros)) await once(d, 'drain');
  d.end();
  await once(d, 'end');
  let crc = 0xffffffff;
  for (let i = 0; i < mb; i++) for (let j = 0; j < zeros.length; j++) crc = CRC_TABLE[crc & 0xff] ^ (crc >>> 8);
  return { name, body: Buffer.concat(out), size: mb * 2 ** 20, crc: (crc ^ 0xffffffff) >>> 0 };
}

let h5mod: typeof import('h5wasm/node').default;
/** A Keras 3 model.weights.h5 for `Dense(3)` on 4 inputs: layers/dense/vars/{0,1}. */
function weightsH5(dir: string): Uint8Array {
  const file = path.join(dir, 'w.h5');
  const f = new h5mod.File(file, 'w');
  const vars = f.create_group('layers').create_group('dense').create_group('vars');
  vars.create_dataset({ name: '0', data: Float32Array.from({ length: 12 }, (_, i) => i / 10), shape: [4, 3] });
  vars.create_dataset({ name: '1', data: new Float32Array(3).fill(0.5), shape: [3] });
  f.close();
  return new Uint8Array(fs.readFileSync(file));
}
/** A Keras 2 weights file (full-model layout) with layers fc1 and predictions. */
function keras2H5(file: string): void {
  const f = new h5mod.File(file, 'w');
  const mw = f.create_group('model_weights');
  mw.create_attribute('layer_names', ['fc1', 'predictions']);
  for (const [layer, shape] of [['fc1', [4, 3]], ['predictions', [3, 2]]] as const) {
    const g = mw.create_group(layer);
    g.create_attribute('weight_names', [`${layer}/kernel:0`, `${layer}/bias:0`]);
    const inner = g.create_group(layer);
    inner.create_dataset({ name: 'kernel:0', data: Float32Array.from({ length: shape[0] * shape[1] }, (_, i) => i / 10), shape: [...shape] });
    inner.create_dataset({ name: 'bias:0', data: new Float32Array(shape[1]).fill(0.5), shape: [shape[1]] });
  }
  f.close();
}

const dense = (name: string, units: unknown, extra: Record<string, unknown> = {}) => ({ module: 'keras.layers', class_name: 'Dense', config: { name, units, ...extra }, build_config: { input_shape: [null, 4] } });
const functional = (layers: unknown[]) => ({ module: 'keras', class_name: 'Functional', config: { name: 'net', layers } });

/** Writes a .keras archive with `config` (an object or raw text) and the Dense weights. */
function archive(dir: string, config: unknown, name = 'm.keras'): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, zip([deflated('config.json', enc(config)), deflated('metadata.json', enc({ keras_version: '3.6.0' })), deflated('model.weights.h5', weightsH5(dir))]));
  return file;
}


const lower = limitsPerTest();

beforeAll(async () => {
  h5mod = (await import('h5wasm/node')).default;
  await h5mod.ready;
});

describe('.keras zip bombs', () => {
  it('the zip writer of these tests makes archives readKerasArchive reads', async () => {
    const dir = tmp();
    const { config, layers } = await readKerasArchive(archive(dir, functional([dense('dense', 3)])));
    expect(config?.class_name).toBe('Functional');
    expect(layers.get('dense')?.map((v) => v.shape)).toEqual([[4, 3], [3]]);
  });

  it('a member declaring 200 MB is refused from the central directory when over maxArchiveMemberBytes', async () => {
    const dir = tmp();
    const bomb = await zeroBomb('model.weights.h5', 200);
    expect(bomb.body.length).toBeLessThan(300_000);
    const file = path.join(dir, 'bomb.keras');
    fs.writeFileSync(file, zip([deflated('config.json', enc(functional([]))), bomb]));
    lower({ maxArchiveMemberBytes: 64 * 2 ** 20 });
    const err = await caught(() => readKerasArchive(file));
    expect(err.code).toBe('E_LIMIT');
    expect(err.message).toContain(`bomb.keras: zip member 'model.weights.h5' declares 209715200 bytes uncompressed: 209715200 is over the limit maxArchiveMemberBytes=67108864`);
  });

  it('a 200 MB member of zeros (ratio ~1000) is refused by maxCompressionRatio, also when it is not a member transferkit reads', async () => {
    const dir = tmp();
    const bomb = await zeroBomb('assets/padding.bin', 200);
    const file = path.join(dir, 'ratio.keras');
    fs.writeFileSync(file, zip([deflated('config.json', enc(functional([dense('dense', 3)]))), deflated('model.weights.h5', weightsH5(dir)), bomb]));
    lower({ maxCompressionRatio: 500 });
    const err = await caught(() => readKerasArchive(file));
    expect(err.code).toBe('E_LIMIT');
    expect(err.message).toMatch(/ratio\.keras: zip member 'assets\/padding\.bin' declares 209715200 bytes from \d+ compressed \(ratio \d+\).*maxCompressionRatio=500/);
  });

  it('a member that inflates past the size it declares is stopped there: E_IO_FORMAT', async () => {
    const dir = tmp();
    const bomb = { ...(await zeroBomb('model.weights.h5', 64)), declared: 2 ** 20 };
    const file = path.join(dir, 'liar.keras');
    fs.writeFileSync(file, zip([deflated('config.json', enc(functional([]))), bomb]));
    const err = await caught(() => readKerasArchive(file));
    expect(err.code).toBe('E_IO_FORMAT');
    expect(err.message).toContain(`liar.keras: zip member 'model.weights.h5' inflates to more than the 1048576 bytes it declares`);
  });

  it('a member whose bytes do not match its CRC-32, and a truncated archive, are E_IO_FORMAT', async () => {
    const dir = tmp();
    const m = deflated('model.weights.h5', weightsH5(dir));
    const file = path.join(dir, 'crc.keras');
    fs.writeFileSync(file, zip([deflated('config.json', enc(functional([]))), { ...m, crc: (m.crc ^ 1) >>> 0 }]));
    expect((await caught(() => readKerasArchive(file))).message).toMatch(/crc\.keras: zip member 'model\.weights\.h5' has CRC-32/);
    const whole = fs.readFileSync(archive(dir, functional([dense('dense', 3)])));
    for (const cut of [10, 100, Math.floor(whole.length / 2), whole.length - 30, whole.length - 1]) {
      fs.writeFileSync(path.join(dir, 'cut.keras'), whole.subarray(0, cut));
      const err = await caught(() => readKerasArchive(path.join(dir, 'cut.keras')));
      expect(isTransferKitError(err), err.message).toBe(true);
      expect(err.message).toContain('cut.keras');
    }
  });

  it('members named ../.. or absolute are never written anywhere; two members with one name are refused', async () => {
    const dir = tmp();
    const sub = path.join(dir, 'a', 'b');
    fs.mkdirSync(sub, { recursive: true });
    const escape = path.join(dir, 'tk_escape.txt');
    const absolute = path.join(dir, 'tk_absolute.txt');
    const file = path.join(sub, 'paths.keras');
    fs.writeFileSync(file, zip([
      deflated('../../tk_escape.txt', enc('x')), deflated(absolute, enc('x')),
      deflated('config.json', enc(functional([dense('dense', 3)]))), deflated('model.weights.h5', weightsH5(dir)),
    ]));
    const cwd = process.cwd();
    process.chdir(sub);
    try {
      expect((await readKerasArchive(file)).layers.get('dense')).toHaveLength(2);
    } finally {
      process.chdir(cwd);
    }
    expect(fs.existsSync(escape)).toBe(false);
    expect(fs.existsSync(absolute)).toBe(false);
    expect(fs.readdirSync(dir).sort()).toEqual(['a', 'w.h5']);
    fs.writeFileSync(file, zip([deflated('config.json', enc(functional([]))), deflated('model.weights.h5', weightsH5(dir)), deflated('model.weights.h5', weightsH5(dir))]));
    expect((await caught(() => readKerasArchive(file))).code).toBe('E_IO_FORMAT');
  });
});

describe('.keras config.json', () => {
  it('invalid JSON, or JSON that is not an object: E_IO_FORMAT naming the file', async () => {
    const dir = tmp();
    for (const [name, text] of [['syntax.keras', '{"class_name": "Functional", '], ['null.keras', 'null'], ['list.keras', '[1, 2]']]) {
      const err = await caught(() => readKerasArchive(archive(dir, text, name)));
      expect(err.code, name).toBe('E_IO_FORMAT');
      expect(err.message).toContain(`${name}: config.json`);
    }
  });

  it('100,000 layers: E_LIMIT before anything is built', async () => {
    const dir = tmp();
    const layers = Array.from({ length: 100_000 }, (_, i) => ({ class_name: 'Dense', config: { name: `d${i}`, units: 2 } }));
    const err = await caught(() => readKerasArchive(archive(dir, functional(layers))));
    expect(err.code).toBe('E_LIMIT');
    expect(err.message).toMatch(/m\.keras: config\.json has more than 10000 layers/);
  });

  it('nesting 5000 models (or any JSON) deep: E_LIMIT from maxNestingDepth, not a stack overflow', async () => {
    const dir = tmp();
    // Written as text: JSON.stringify itself overflows the stack on 15,000 levels.
    const nested = `${'{"class_name": "Functional", "config": {"name": "m", "layers": ['.repeat(5000)}${JSON.stringify(dense('dense', 3))}${']}}'.repeat(5000)}`;
    const err = await caught(() => readKerasArchive(archive(dir, nested)));
    expect(err.code).toBe('E_LIMIT');
    expect(err.message).toMatch(/config\.json nests arrays and objects more than 1000 levels deep.*maxNestingDepth=1000/);
    const deepText = `{"class_name": "Functional", "config": {"name": "net", "layers": [], "x": ${'['.repeat(200_000)}${']'.repeat(200_000)}}}`;
    expect((await caught(() => readKerasArchive(archive(dir, deepText)))).code).toBe('E_LIMIT');
  });

  it('negative, fractional or non-numeric sizes: E_MODEL_TOPOLOGY naming the layer and the value', async () => {
    const dir = tmp();
    const cases: Array<[unknown, RegExp]> = [
      [dense('dense', -3), /layer 'dense' \(Dense\) has units=-3\. units must be a positive integer\. Received: units=-3\./],
      [dense('dense', 2.5), /units=2\.5/],
      [dense('dense', 'many'), /units="many"/],
      [{ class_name: 'Conv2D', config: { name: 'c', filters: 4, kernel_size: [0, 3] } }, /layer 'c' \(Conv2D\) has kernel_size=\[0,3\]/],
    ];
    for (const [layer, message] of cases) {
      const err = await caught(() => readKerasArchive(archive(dir, functional([layer]))));
      expect(err.code).toBe('E_MODEL_TOPOLOGY');
      expect(err.message).toMatch(message);
      expect(err.message).toContain('m.keras: config.json');
    }
  });

  it('a kernel over maxTensorElements: units 1e9, or 70000 filters after 70000 filters', async () => {
    const dir = tmp();
    const big = await caught(() => readKerasArchive(archive(dir, functional([dense('dense', 1e9)]))));
    expect(big.code).toBe('E_LIMIT');
    expect(big.message).toMatch(/layer 'dense' \(Dense\) would create a weight of shape \[4, 1000000000\]: 4000000000 is over the limit maxTensorElements=268435456/);
    const conv = (name: string, inC: number) => ({ class_name: 'Conv2D', config: { name, filters: 70_000, kernel_size: [3, 3] }, build_config: { input_shape: [null, 32, 32, inC] } });
    const err = await caught(() => readKerasArchive(archive(dir, functional([conv('c1', 3), conv('c2', 70_000)]))));
    expect(err.code).toBe('E_LIMIT');
    expect(err.message).toContain(`layer 'c2' (Conv2D) would create a weight of shape [3, 3, 70000, 70000]`);
  });
});

describe('damaged .h5 files', () => {
  it('every truncation point and 150 seeded byte mutations of a real Keras .h5 end in weights or a coded error naming the file', async () => {
    const dir = tmp();
    const seed = path.join(dir, 'seed.h5');
    keras2H5(seed);
    expect([...(await readKerasH5(seed)).keys()]).toEqual(['fc1/kernel', 'fc1/bias', 'predictions/kernel', 'predictions/bias']);
    const bytes = fs.readFileSync(seed);
    const file = path.join(dir, 'case.h5');
    const outcomes = { ok: 0, codes: new Map<string, number>(), raw: [] as string[] };
    const run = async (b: Uint8Array, what: string) => {
      fs.writeFileSync(file, b);
      try {
        await readKerasH5(file);
        outcomes.ok++;
      } catch (err) {
        if (isTransferKitError(err) && err.message.includes(file)) outcomes.codes.set(err.code, (outcomes.codes.get(err.code) ?? 0) + 1);
        else outcomes.raw.push(`${what}: ${(err as Error).message}`);
      }
    };
    for (const cut of [0, 8, 64, 200, 512, 800, 1024, 1400, 2048, 3000, 4096, bytes.length - 512, bytes.length - 1]) {
      if (cut >= bytes.length) continue;
      fs.writeFileSync(file, bytes.subarray(0, cut));
      const err = await caught(() => readKerasH5(file));
      expect(isTransferKitError(err), `cut at ${cut}: ${err.message}`).toBe(true);
      expect(err.message).toContain(file);
      if (cut >= 8) expect(err.code, `cut at ${cut}`).toBe('E_IO_FORMAT');
    }
    let rnd = 27;
    const rand = () => (rnd = (Math.imul(rnd, 1103515245) + 12345) >>> 0) / 2 ** 32;
    for (let i = 0; i < 150; i++) {
      const b = Buffer.from(bytes);
      // Half of the flips hit the superblock and the root group's header, where damage is worst.
      for (let j = 0, n = 1 + Math.floor(rand() * 4); j < n; j++) b[Math.floor(rand() * (i % 2 ? b.length : 800))] = Math.floor(rand() * 256);
      await run(b, `mutation ${i}`);
    }
    expect(outcomes.raw).toEqual([]);
    expect(outcomes.codes.get('E_IO_FORMAT')).toBeGreaterThan(0);
    expect([...(await readKerasH5(seed)).keys()]).toHaveLength(4); // h5wasm still works afterwards
  });

  it('a dataset whose declared shape is over maxTensorElements is refused before it is read', async () => {
    const dir = tmp();
    const seed = path.join(dir, 'shape.h5');
    keras2H5(seed);
    lower({ maxTensorElements: 10 });
    const err = await caught(() => readKerasH5(seed));
    expect(err.code).toBe('E_LIMIT');
    expect(err.message).toContain(`shape.h5: dataset 'fc1/fc1/kernel:0' declares the shape [4, 3]: 12 is over the limit maxTensorElements=10`);
  });

  it('a listed weight that is absent, and an h5 inside a .keras that is damaged, give coded errors naming the file', async () => {
    const dir = tmp();
    const file = path.join(dir, 'missing.h5');
    const f = new h5mod.File(file, 'w');
    f.create_attribute('layer_names', ['fc1']);
    const g = f.create_group('fc1');
    g.create_attribute('weight_names', ['fc1/kernel:0']);
    g.create_group('fc1');
    f.close();
    const err = await caught(() => readKerasH5(file));
    expect(isTransferKitError(err)).toBe(true);
    expect(err.message).toMatch(/missing\.h5: weight 'fc1\/kernel:0' of layer 'fc1' is listed but absent/);
    const weights = Buffer.from(weightsH5(dir));
    weights.fill(0x41, 0, 8);
    const bad = path.join(dir, 'badh5.keras');
    fs.writeFileSync(bad, zip([deflated('config.json', enc(functional([dense('dense', 3)]))), deflated('model.weights.h5', weights)]));
    const err2 = await caught(() => readKerasArchive(bad));
    expect(err2.code).toBe('E_IO_FORMAT');
    expect(err2.message).toContain('badh5.keras: model.weights.h5 is not a readable HDF5 file');
  });
});
