/**
 * Keras 3 `.keras` archives: a zip with `config.json`, `metadata.json` and `model.weights.h5`,
 * whose weights sit at `layers/<layer name>/vars/<i>` in the order the layer created them
 * (Conv2D/Dense: kernel, bias; BatchNormalization: gamma, beta, moving_mean, moving_variance) —
 * the same order tfjs-layers uses, so weights map by layer name and position. Read through fflate
 * (unzip) and h5wasm (optional peer).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import { unzipSync } from 'fflate';
import { TransferKitError } from '../errors.js';
import { datasetFloats, h5, type H5Node } from './keras_h5.js';
import { loadNamedArrays, type NamedArrays, type WeightCopyReport } from './weights_by_name.js';

/** The weights of a `.keras` archive by layer name, in creation order, plus its config. */
export interface KerasArchive {
  config: Record<string, unknown> | null;
  layers: Map<string, Array<{ shape: number[]; data: Float32Array }>>;
}

/** Reads a Keras 3 `.keras` archive. */
export async function readKerasArchive(file: string): Promise<KerasArchive> {
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(new Uint8Array(fs.readFileSync(file)));
  } catch (err) {
    throw new TransferKitError('E_IO_BAD_MANIFEST', `${file} is not a zip archive (${(err as Error).message}); a Keras 3 .keras file is a zip with config.json and model.weights.h5.`, { cause: err });
  }
  const weights = entries['model.weights.h5'];
  if (weights === undefined) throw new TransferKitError('E_IO_BAD_MANIFEST', `${file}: no model.weights.h5 inside (entries: ${Object.keys(entries).join(', ')}).`);
  const config = entries['config.json'] ? (JSON.parse(new TextDecoder().decode(entries['config.json'])) as Record<string, unknown>) : null;
  const tmp = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'transferkit-keras-')), 'model.weights.h5');
  fs.writeFileSync(tmp, weights);
  const m = await h5();
  const f = new m.File(tmp, 'r');
  try {
    const root = f.get('layers');
    if (root === null) throw new TransferKitError('E_IO_BAD_MANIFEST', `${file}: model.weights.h5 has no 'layers' group (Keras 3 layout: layers/<name>/vars/<i>).`);
    const layers = new Map<string, Array<{ shape: number[]; data: Float32Array }>>();
    for (const name of root.keys?.() ?? []) {
      const vars = (root.get(name) as H5Node).get('vars');
      const keys = (vars?.keys?.() ?? []).sort((a, b) => Number(a) - Number(b));
      layers.set(name, keys.map((k) => {
        const ds = (vars as H5Node).get(k) as H5Node;
        return { shape: ds.shape ?? [], data: datasetFloats(ds, `${file}: layers/${name}/vars/${k}`) };
      }));
    }
    return { config, layers };
  } finally {
    f.close();
    fs.rmSync(path.dirname(tmp), { recursive: true, force: true });
  }
}

/** Loads a `.keras` archive's weights into `model` by layer name and position (strict by default). */
export async function loadKerasArchive(model: tfl.LayersModel, file: string, options: { strict?: boolean } = {}): Promise<WeightCopyReport> {
  const { layers } = await readKerasArchive(file);
  const arrays: NamedArrays = new Map([...layers].flatMap(([name, vars]) => vars.map((v, i) => [`${name}/vars/${i}`, v] as const)));
  return loadNamedArrays(model, arrays, { ...options, subject: `${file} does not match the model '${model.name}'.`, keyOf: (layer, _w, i) => `${layer.name}/vars/${i}` });
}
