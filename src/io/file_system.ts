/**
 * Load and save TF.js layers models on the local filesystem without tfjs-node.
 *
 * Saves are atomic: everything is written into a temporary sibling folder which is then
 * renamed over the target, so a crash leaves either the old model or the new one, never a
 * half-written mix.
 */
import * as tf from '@tensorflow/tfjs-core';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { TransferKitError } from '../errors.js';
import { readArtifacts, type ByteSource } from './_artifacts.js';
import { settleFolder, writeDirAtomically } from './_atomic.js';

const WEIGHTS_FILE = 'weights.bin';

/** Resolves a folder or a model.json path to [folder, model.json file name]. */
async function splitModelPath(p: string): Promise<[string, string]> {
  const local = p.startsWith('file://') ? p.slice('file://'.length) : p;
  if (local.endsWith('.json')) return [path.dirname(local), path.basename(local)];
  return [local, 'model.json'];
}

function fsSource(dir: string): ByteSource {
  return {
    describe: (rel) => path.join(dir, rel),
    read: async (rel) => {
      try {
        return new Uint8Array(await fs.readFile(path.join(dir, rel)));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw new TransferKitError('E_IO_NOT_FOUND', `Cannot read ${path.join(dir, rel)}: ${(err as Error).message}`, { cause: err });
      }
    },
  };
}

/** Writes `artifacts` as model.json + weights.bin into `dir`. */
export async function writeArtifactsTo(dir: string, artifacts: tf.io.ModelArtifacts): Promise<void> {
  const weightData = artifacts.weightData === undefined ? new ArrayBuffer(0) : tf.io.CompositeArrayBuffer.join(artifacts.weightData);
  const modelJson: tf.io.ModelJSON = {
    modelTopology: artifacts.modelTopology as tf.io.ModelJSON['modelTopology'],
    format: artifacts.format ?? 'layers-model',
    generatedBy: artifacts.generatedBy ?? `TensorFlow.js tfjs-layers v${tf.version_core}`,
    convertedBy: artifacts.convertedBy ?? null,
    weightsManifest: [{ paths: [WEIGHTS_FILE], weights: artifacts.weightSpecs ?? [] }],
  };
  if (artifacts.trainingConfig !== undefined) modelJson.trainingConfig = artifacts.trainingConfig;
  if (artifacts.userDefinedMetadata !== undefined) modelJson.userDefinedMetadata = artifacts.userDefinedMetadata;
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(path.join(dir, WEIGHTS_FILE), new Uint8Array(weightData));
  await fs.writeFile(path.join(dir, 'model.json'), JSON.stringify(modelJson));
}

/** The files of a TF.js layers model folder: replaced by a save, never carried over from the old one. */
export function ownsTfjsFile(rel: string): boolean {
  return rel === 'model.json' || rel === WEIGHTS_FILE || /^group\d+-shard\d+of\d+(\.bin)?$/.test(rel);
}

/** Writes `artifacts` into `dir` atomically (temp folder + rename). */
async function writeArtifacts(dir: string, artifacts: tf.io.ModelArtifacts): Promise<void> {
  try {
    await writeDirAtomically(dir, (tmp) => writeArtifactsTo(tmp, artifacts), ownsTfjsFile);
  } catch (err) {
    throw new TransferKitError('E_IO_WRITE', `Could not save the model to ${dir}: ${(err as Error).message}. Nothing was changed at ${dir}.`, { cause: err });
  }
}

/**
 * A TF.js IOHandler for a folder (or model.json path) on the local filesystem.
 * @example
 * ```ts
 * await model.save(fileSystem('runs/ants-bees/model'));
 * const again = await tf.loadLayersModel(fileSystem('runs/ants-bees/model'));
 * ```
 */
export function fileSystem(modelPath: string): tf.io.IOHandler {
  return {
    load: async () => {
      const [dir, file] = await splitModelPath(modelPath);
      await settleFolder(dir);
      return readArtifacts(fsSource(dir), file);
    },
    save: async (artifacts) => {
      const [dir] = modelPath.endsWith('.json') ? await splitModelPath(modelPath) : [modelPath.replace(/^file:\/\//, '')];
      await writeArtifacts(dir, artifacts);
      return {
        modelArtifactsInfo: {
          dateSaved: new Date(),
          modelTopologyType: 'JSON',
          weightDataBytes: artifacts.weightData === undefined ? 0 : tf.io.CompositeArrayBuffer.join(artifacts.weightData).byteLength,
        },
      };
    },
  };
}

let routersRegistered = false;

/** Makes `model.save('file://dir')` and `tf.loadLayersModel('file://dir/model.json')` work without tfjs-node. */
export function registerFileRouters(): void {
  if (routersRegistered) return;
  routersRegistered = true;
  // TF.js routers return null for URLs they do not handle (the IORouter type omits it).
  const router = ((url: string | string[]): tf.io.IOHandler | null => {
    const u = Array.isArray(url) ? url[0] : url;
    return typeof u === 'string' && u.startsWith('file://') ? fileSystem(u) : null;
  }) as Parameters<typeof tf.io.registerSaveRouter>[0];
  tf.io.registerSaveRouter(router);
  tf.io.registerLoadRouter(router);
}
