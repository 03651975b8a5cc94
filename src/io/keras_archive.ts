/**
 * Keras 3 `.keras` archives: a zip with `config.json`, `metadata.json` and `model.weights.h5`,
 * whose weights sit at `layers/<class in snake case>[_k]/vars/<i>` (nested models:
 * `layers/functional/layers/...`), located through config.json (see {@link keras3WeightPaths}), in
 * the order the layer created them (Conv2D/Dense: kernel, bias; BatchNormalization: gamma, beta,
 * moving_mean, moving_variance) — the same order tfjs-layers uses, so weights map by layer name
 * and position. Read through fflate (unzip) and h5wasm (optional peer).
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

/** Keras 3's `naming.to_snake_case` (how `.keras` files name a layer's weights group by its class). */
export function kerasSnakeCase(name: string): string {
  return name.replace(/\W+/g, '').replace(/(.)([A-Z][a-z]+)/g, '$1_$2').replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase();
}

type LayerConfig = { class_name?: string; name?: string; config?: { name?: string; layers?: LayerConfig[] } };

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
    const list = cls === 'Sequential' ? layers.filter((l) => l.class_name !== 'InputLayer') : layers;
    for (const l of list) {
      const snake = kerasSnakeCase(l.class_name ?? 'layer');
      const k = used.get(snake);
      used.set(snake, k === undefined ? 0 : k + 1);
      const group = `${prefix}/${k === undefined ? snake : `${snake}_${k + 1}`}`;
      const inner = l.config?.layers;
      if (Array.isArray(inner)) walk(l.class_name, inner, `${group}/layers`);
      else out.set(group, l.config?.name ?? l.name ?? group);
    }
  };
  const top = config as LayerConfig;
  if (Array.isArray(top.config?.layers)) walk(top.class_name, top.config.layers, 'layers');
  return out;
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
    if (root === null) throw new TransferKitError('E_IO_BAD_MANIFEST', `${file}: model.weights.h5 has no 'layers' group (Keras 3 layout: layers/<class>/vars/<i>).`);
    const readVars = (group: string): Array<{ shape: number[]; data: Float32Array }> | null => {
      const vars = f.get(`${group}/vars`);
      if (vars === null) return null;
      const keys = (vars.keys?.() ?? []).sort((a, b) => Number(a) - Number(b));
      return keys.map((k) => {
        const ds = vars.get(k) as H5Node;
        return { shape: ds.shape ?? [], data: datasetFloats(ds, `${file}: ${group}/vars/${k}`) };
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
