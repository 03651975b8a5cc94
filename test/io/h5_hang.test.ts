/**
 * .h5 files on which the HDF5 library (h5wasm) never returns: 15 zero bytes at offset 2424 of a
 * small Keras weights file make libhdf5 loop forever inside WASM while it reads the root's
 * `layer_names` attribute. Reads run in a worker thread with a deadline (`parseTimeoutMs`), so
 * such a file ends in a coded `E_IO_FORMAT` instead of hanging the process, the next read gets a
 * fresh worker, and HDF5's diagnostics never reach the user's terminal.
 */
import { runAsync } from '../helpers/run.js';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/index.js';
import { loadKerasH5, readKerasArchive, readKerasH5, saveKerasH5 } from '../../src/entries/io.js';
import { caught, limitsPerTest } from '../helpers/errors.js';
import { tinyConvNet } from '../helpers/tiny_model.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-h5hang-'));
const good = path.join(dir, 'good.h5');
const hang = path.join(dir, 'hang.h5');
const cut = path.join(dir, 'cut.h5');


const lower = limitsPerTest();

beforeAll(async () => {
  await useBackend('cpu');
  const model = tinyConvNet({ seed: 1 });
  await saveKerasH5(model, good);
  model.dispose();
  const bytes = fs.readFileSync(good);
  fs.writeFileSync(hang, Buffer.from(bytes).fill(0, 2424, 2424 + 15));
  // Truncated: HDF5 refuses it at once, printing its error stack ("HDF5-DIAG: ...") to fd 2.
  fs.writeFileSync(cut, bytes.subarray(0, 3000));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('an .h5 file the HDF5 library never finishes', () => {
  it('ends in E_IO_FORMAT naming the file within parseTimeoutMs, and the next read works (fresh worker)', async () => {
    const model = tinyConvNet({ seed: 2 });
    const ref = tinyConvNet({ seed: 1 });
    expect((await loadKerasH5(model, good)).copied).toHaveLength(model.weights.length); // the worker is running
    lower({ parseTimeoutMs: 2000 });
    const err = await caught(() => loadKerasH5(model, hang));
    expect(err.code).toBe('E_IO_FORMAT');
    expect(err.message).toContain(`${hang} is not a readable HDF5 file: the HDF5 library did not finish reading the attribute 'layer_names' of '/' within 2000 ms (parseTimeoutMs)`);
    expect(err.message).toContain('The file is corrupt');
    // The stuck worker was terminated; a fresh one reads the good file, exactly.
    const report = await loadKerasH5(model, good);
    expect(report.copied).toHaveLength(model.weights.length);
    ref.weights.forEach((w, i) => expect(Array.from(model.weights[i].read().dataSync())).toEqual(Array.from(w.read().dataSync())));
    // Twice in a row, and the deadline is read at call time.
    lower({ parseTimeoutMs: 1000 });
    expect((await caught(() => readKerasH5(hang))).message).toContain('within 1000 ms (parseTimeoutMs)');
    expect([...(await readKerasH5(good)).keys()]).toHaveLength(ref.weights.length);
    model.dispose();
    ref.dispose();
  });

  it('the deadline also bounds the weights of a .keras archive, whose error names the archive', async () => {
    const { zipSync } = await import('fflate');
    const h5 = (await import('h5wasm/node')).default;
    await h5.ready;
    const weights = path.join(dir, 'model.weights.h5');
    const f = new h5.File(weights, 'w');
    const vars = f.create_group('layers').create_group('dense').create_group('vars');
    vars.create_dataset({ name: '0', data: Float32Array.from({ length: 12 }, (_, i) => i / 10), shape: [4, 3] });
    vars.create_dataset({ name: '1', data: new Float32Array(3).fill(0.5), shape: [3] });
    f.close();
    const archive = path.join(dir, 'm.keras');
    fs.writeFileSync(archive, zipSync({
      'config.json': new TextEncoder().encode(JSON.stringify({ class_name: 'Functional', config: { name: 'net', layers: [{ class_name: 'Dense', config: { name: 'dense', units: 3 } }] } })),
      'model.weights.h5': new Uint8Array(fs.readFileSync(weights)),
    }));
    // No damaged Keras 3 weights file that makes libhdf5 loop is known (33,000 damaged variants of a
    // small one all end at once), so a deadline no call can meet stands in for one.
    lower({ parseTimeoutMs: 0.001 });
    const err = await caught(() => readKerasArchive(archive));
    expect(err.code).toBe('E_IO_FORMAT');
    expect(err.message).toMatch(/m\.keras: model\.weights\.h5 is not a readable HDF5 file: the HDF5 library did not finish .* within 0\.001 ms \(parseTimeoutMs\)/);
    lower({ parseTimeoutMs: 30_000 });
    expect((await readKerasArchive(archive)).layers.get('dense')?.map((v) => v.shape)).toEqual([[4, 3], [3]]);
  });

  it('in a script: no HDF5 diagnostics on stderr, and the process exits by itself after reads and a timeout', async () => {
    const src = (rel: string) => JSON.stringify(pathToFileURL(path.resolve(__dirname, '../../src', rel)).href);
    const script = path.join(dir, 'child.mts');
    fs.writeFileSync(script, `
import { readKerasH5 } from ${src('entries/io.ts')};
import { setInputLimits } from ${src('utils/limits.ts')};
setInputLimits({ parseTimeoutMs: 1500 });
const out = [];
for (const file of ${JSON.stringify([good, cut, hang, good])}) {
  try {
    out.push((await readKerasH5(file)).size);
  } catch (err) {
    out.push(err.code);
  }
}
console.log(JSON.stringify(out));
`);
    // A process kept alive by the worker would run into the timeout (and be killed: status null).
    const r = await runAsync(process.execPath, ['--import', 'tsx', script], { cwd: path.resolve(__dirname, '../..'), timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim().split('\n').at(-1) ?? 'null')).toEqual([22, 'E_IO_FORMAT', 'E_IO_FORMAT', 22]);
    expect(r.stderr).not.toContain('HDF5-DIAG');
  });
});
