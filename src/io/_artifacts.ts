/**
 * Reads a TF.js layers model (model.json + weight shards) through a byte source, so the
 * filesystem and HTTP loaders share one set of checks and one set of error messages.
 */
import * as tf from '@tensorflow/tfjs-core';
import { TransferKitError } from '../errors.js';
import { checkJsonDepth, preview } from '../utils/json.js';
import { checkLimit } from '../utils/limits.js';
import { staysInside } from './_relative_path.js';

/** Where model.json and its shards come from. Paths are relative to the model.json location. */
export interface ByteSource {
  /** Human-readable location of `relPath` (a file path or URL), used in error messages. */
  describe(relPath: string): string;
  /** The bytes of `relPath`, or null when it does not exist. */
  read(relPath: string): Promise<Uint8Array | null>;
}

const BYTES_PER_ELEMENT: Record<string, number> = {
  float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2, string: 0, complex64: 8,
};
const LOADABLE_DTYPES = new Set(['float32', 'int32', 'bool']);
const QUANTIZED_DTYPES = new Set(['uint8', 'uint16', 'float16']);

/** Bytes a weight occupies in its shard (after quantization, if any). */
function specBytes(spec: tf.io.WeightsManifestEntry, where: string): number {
  if (typeof spec !== 'object' || spec === null || typeof spec.name !== 'string' || !Array.isArray(spec.shape)) {
    throw new TransferKitError('E_IO_BAD_MANIFEST', `A weight entry in ${where} is not {name, shape, dtype}. Received: ${preview(spec)}. Re-export the model with tensorflowjs_converter.`);
  }
  if (!spec.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new TransferKitError('E_IO_BAD_MANIFEST', `Weight '${spec.name}' in ${where} has a shape that is not a list of non-negative integers. Received: shape=${preview(spec.shape)}.`);
  }
  const size = spec.shape.reduce((a, b) => a * b, 1);
  checkLimit('maxTensorElements', size, `Weight '${spec.name}' in ${where} declares shape [${spec.shape.join(', ')}]`);
  const q = spec.quantization;
  if (q !== undefined) {
    if (!QUANTIZED_DTYPES.has(q.dtype)) {
      throw new TransferKitError('E_IO_BAD_DTYPE', `Weight '${spec.name}' in ${where} has an unsupported quantization dtype. Received: quantization.dtype=${q.dtype}. Supported: uint8, uint16, float16.`);
    }
    return size * BYTES_PER_ELEMENT[q.dtype];
  }
  if (!LOADABLE_DTYPES.has(spec.dtype)) {
    throw new TransferKitError('E_IO_BAD_DTYPE', `Weight '${spec.name}' in ${where} has an unsupported dtype. Received: dtype=${spec.dtype}. Supported: float32, int32, bool (or a quantization block). Re-export the model with tensorflowjs_converter.`);
  }
  return size * BYTES_PER_ELEMENT[spec.dtype];
}

/**
 * Validates weight specs (name, shape, dtype, quantization) read from a file and returns the
 * bytes they occupy; `where` names the file in errors. Shared by model.json and checkpoints.
 */
export function weightSpecsBytes(specs: unknown, where: string): number {
  if (!Array.isArray(specs)) throw new TransferKitError('E_IO_BAD_MANIFEST', `${where} has a weight list that is not an array. Received: ${preview(specs)}.`);
  let total = 0;
  for (const spec of specs) total += specBytes(spec as tf.io.WeightsManifestEntry, where);
  return total;
}

/** Parses and validates model.json, reads every shard, and returns TF.js model artifacts. */
export async function readArtifacts(source: ByteSource, modelJsonPath = 'model.json'): Promise<tf.io.ModelArtifacts> {
  const where = source.describe(modelJsonPath);
  const raw = await source.read(modelJsonPath);
  if (raw === null) {
    throw new TransferKitError('E_IO_NOT_FOUND', `No model.json at ${where}. Point loadPretrained at a TF.js layers model folder (model.json + *.bin shards) or at its model.json.`);
  }
  let json: tf.io.ModelJSON;
  try {
    json = JSON.parse(new TextDecoder().decode(raw)) as tf.io.ModelJSON;
  } catch (err) {
    throw new TransferKitError('E_IO_BAD_MANIFEST', `${where} is not valid JSON: ${(err as Error).message}.`, { cause: err });
  }
  checkJsonDepth(json, where);
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new TransferKitError('E_IO_BAD_MANIFEST', `${where} is not a JSON object. Point loadPretrained at a TF.js layers model.json.`);
  }
  if (json.modelTopology === undefined || json.modelTopology === null) {
    throw new TransferKitError('E_IO_BAD_MANIFEST', `${where} has no 'modelTopology'. It may be a GraphModel (inference only) or a weights-only manifest; transferkit fine-tunes TF.js *layers* models.`);
  }
  const manifest = json.weightsManifest ?? [];
  if (!Array.isArray(manifest)) {
    throw new TransferKitError('E_IO_BAD_MANIFEST', `${where} has a 'weightsManifest' that is not an array.`);
  }
  const weightSpecs: tf.io.WeightsManifestEntry[] = [];
  const buffers: ArrayBuffer[] = [];
  for (const group of manifest) {
    if (typeof group !== 'object' || group === null || !Array.isArray(group.paths) || !Array.isArray(group.weights)) {
      throw new TransferKitError('E_IO_BAD_MANIFEST', `${where} has a weightsManifest group that is not {paths: [...], weights: [...]}. Re-export the model with tensorflowjs_converter.`);
    }
    for (const p of group.paths) {
      // Shard paths come from the (untrusted) model.json: never let them name a file outside its folder.
      if (typeof p !== 'string' || !staysInside(p)) {
        throw new TransferKitError('E_IO_PATH_ESCAPE', `${where} lists the weight shard ${preview(p)}, which is not a relative path inside the model's folder. Shards must sit beside model.json; the file is corrupt or hostile.`);
      }
    }
    let expected = 0;
    for (const spec of group.weights) {
      expected += specBytes(spec, where);
      weightSpecs.push(spec);
    }
    let actual = 0;
    const parts: Uint8Array[] = [];
    for (const p of group.paths) {
      const bytes = await source.read(p);
      if (bytes === null) {
        throw new TransferKitError('E_IO_SHARD_MISSING', `Weight shard ${source.describe(p)} listed in ${where} is missing. Copy every *.bin file that model.json lists next to it.`);
      }
      actual += bytes.byteLength;
      parts.push(bytes);
    }
    if (actual !== expected) {
      throw new TransferKitError(
        'E_IO_SHARD_SIZE',
        `Weight shards [${group.paths.map((p) => source.describe(p)).join(', ')}] hold ${actual} bytes but the manifest in ${where} describes ${expected} bytes ` +
          `(weights ${group.weights[0]?.name} … ${group.weights[group.weights.length - 1]?.name}). The files are truncated or belong to another model; re-download or re-export them.`,
      );
    }
    for (const part of parts) buffers.push(part.slice().buffer as ArrayBuffer);
  }
  const artifacts: tf.io.ModelArtifacts = {
    modelTopology: json.modelTopology,
    format: json.format,
    generatedBy: json.generatedBy,
    convertedBy: json.convertedBy,
    weightSpecs,
    weightData: tf.io.concatenateArrayBuffers(buffers),
    userDefinedMetadata: json.userDefinedMetadata,
    trainingConfig: json.trainingConfig,
  };
  return artifacts;
}
